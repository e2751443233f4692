"""WSGI entry: ``gunicorn --preload -w 2 --threads 4 django_shop.wsgi`` (the shop is loaded once,
before the fork, and its memory-mapped files are shared by the workers)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "django_shop.settings")
application = get_wsgi_application()
