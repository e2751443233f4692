"""Run the example: ``SHOP_DIR=my-shop flask --app app run`` or
``gunicorn --preload -w 2 --threads 4 'app:app'`` (from this folder)."""

from flask_shop import create_app

app = create_app()
