"""Run the example: ``SHOP_DIR=my-shop flask --app app run`` or
``SHOP_DIR=my-shop gunicorn --preload -w 2 --threads 4 app:app`` (from this folder)."""

from flask_shop import create_app

app = create_app()
# Answer once before gunicorn forks its workers (--preload): parallel Rust work before a fork
# must not hang the children.
app.extensions["shoprec"].shop.recommend("warm-up", 1)
