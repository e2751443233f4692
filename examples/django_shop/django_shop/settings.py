"""Settings of the example shop. The database is SQLite by default; any Django database works
(set DATABASES as usual). SHOPREC_DIR is where `manage.py shoprec_build` writes the shop and
where the views load it from."""

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "example-only-not-secret")
DEBUG = os.environ.get("DJANGO_DEBUG", "") == "1"
ALLOWED_HOSTS = os.environ.get("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",")

INSTALLED_APPS = ["django.contrib.contenttypes", "store.apps.StoreConfig"]
MIDDLEWARE = ["django.middleware.common.CommonMiddleware"]
ROOT_URLCONF = "django_shop.urls"
TEMPLATES = [{"BACKEND": "django.template.backends.django.DjangoTemplates", "DIRS": [], "APP_DIRS": True,
              "OPTIONS": {}}]
WSGI_APPLICATION = "django_shop.wsgi.application"
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3",
                         "NAME": os.environ.get("SHOP_DB", str(BASE_DIR / "db.sqlite3"))}}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
TIME_ZONE = "UTC"

SHOPREC_DIR = os.environ.get("SHOP_DIR", str(BASE_DIR / "shop"))
SHOPREC_RELOAD_INTERVAL = float(os.environ.get("SHOP_RELOAD_INTERVAL", "2"))
# Posted events refresh the live shop after this many events, or when the oldest waiting one is
# this many seconds old (0 turns a trigger off); POST /refresh applies them at once.
SHOPREC_REFRESH_EVERY = int(os.environ.get("SHOP_REFRESH_EVERY", "100"))
SHOPREC_REFRESH_INTERVAL = float(os.environ.get("SHOP_REFRESH_INTERVAL", "30"))
SHOPREC_REFRESH_ENDPOINT = os.environ.get("SHOP_REFRESH_ENDPOINT", "1") == "1"
LOGGING = {"version": 1, "disable_existing_loggers": False,
           "handlers": {"console": {"class": "logging.StreamHandler"}},
           "loggers": {"shoprec": {"handlers": ["console"], "level": "INFO"}}}
