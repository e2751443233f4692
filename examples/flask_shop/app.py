"""Run the example: ``SHOP_DIR=my-shop flask --app app run`` or
``SHOP_DIR=my-shop gunicorn --preload -w 2 --threads 4 app:app`` (from this folder).
``SHOP_REFRESH_EVERY`` / ``SHOP_REFRESH_INTERVAL`` set the refresh policy of posted events,
``SHOP_RELOAD_INTERVAL`` how often a request looks for a new build."""

import os

from flask_shop import create_app

app = create_app({key: int(os.environ[name]) if key == "REFRESH_EVERY" else float(os.environ[name])
                  for key, name in (("REFRESH_EVERY", "SHOP_REFRESH_EVERY"),
                                    ("REFRESH_INTERVAL", "SHOP_REFRESH_INTERVAL"),
                                    ("RELOAD_INTERVAL", "SHOP_RELOAD_INTERVAL")) if os.environ.get(name)})
# Answer once before gunicorn forks its workers (--preload): parallel Rust work before a fork
# must not hang the children.
app.extensions["shoprec"].shop.recommend("warm-up", 1)
