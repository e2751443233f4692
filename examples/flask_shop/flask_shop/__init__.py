"""A Flask shop on shoprec: JSON endpoints and one HTML page, one Shop per process.

    create_app({"SHOP_DIR": "my-shop"})

* ``GET /recommend/<user>?k=10[&coupons=1]``: recommendations, marked with the part that
  answered (``itemknn``, ``popular-in-segment``, ``popular``...), ``source`` (``model`` or
  ``fallback``) and the ``reason`` of a fallback.
* ``GET /similar/<item>?k=10``: similar products (404 for an unknown product).
* ``GET /search?q=&user=&category=&brand=&max_price=&k=20``: search with facets; an empty
  query gets popular products (``source: "fallback"``, ``reason: "empty-query"``).
* ``POST /events``: a JSON event (or a list) ``{"user", "item", "event", "timestamp"?}``,
  recorded in the live Shop (``Shop.record_events``) and appended to ``EVENTS_FILE`` (CSV:
  user, item, event, timestamp) for the next ``shoprec build --events EVENTS_FILE``. The
  Shop is refreshed with them (models updated, new parts swapped in atomically) after ``REFRESH_EVERY`` events or ``REFRESH_INTERVAL`` seconds,
  in a background thread (:class:`shoprec.shop.web.LiveUpdates`).
* ``POST /refresh``: apply the waiting events now; answers the refresh report (turn it off
  with ``REFRESH_ENDPOINT=False``, or guard it, in production).
* ``GET /metrics``: Prometheus text (calls, latency, fallbacks, empty answers per method).
* ``GET /``: the page (:func:`shoprec.shop.page.page_html`): a search box, results with
  facets, "recommended for you".

Parameters, JSON shaping and error statuses come from :mod:`shoprec.shop.web`, shared with the
Django example.

Every error is a JSON body ``{"error": ..., "status": ...}`` with its status code (400 bad
input, 404 unknown product, 503 a part the shop lacks); the app never answers 500 for a
request it can read. The Shop is loaded once per process (before the fork under gunicorn
``--preload``: its model files are memory-mapped, so workers share the pages) and
:class:`shoprec.shop.ShopWatcher` switches to a new build of ``SHOP_DIR`` without dropping a
request.
"""

from __future__ import annotations

import csv
import logging
import os
import threading
from typing import Any, Mapping, Optional

from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException

from shoprec.errors import ShoprecError
from shoprec.shop import ShopWatcher
from shoprec.shop.metrics import metrics_text
from shoprec.shop.page import NO_SEARCH, page_html
from shoprec.shop.web import (LiveUpdates, error_body, error_status, parse_events, recommend_body, search_body,
                              similar_body)

__all__ = ["create_app", "EVENT_COLUMNS"]

#: The columns of ``EVENTS_FILE`` (those ``shoprec build --events`` reads).
EVENT_COLUMNS = ["user", "item", "event", "timestamp"]


def create_app(config: Optional[Mapping[str, Any]] = None) -> Flask:
    """The application factory.

    Config keys: ``SHOP_DIR`` (required; default the ``SHOP_DIR`` environment variable),
    ``EVENTS_FILE`` (default ``<SHOP_DIR>.events.csv`` next to the shop; a CSV that
    ``shoprec build --events`` reads), ``RELOAD_INTERVAL``
    (seconds between looks for a new build; default 2), ``REFRESH_EVERY`` (refresh after this
    many posted events; default 100; 0: never on count), ``REFRESH_INTERVAL`` (refresh when
    the oldest waiting event is this many seconds old; default 30; 0: never on age),
    ``REFRESH_ENDPOINT`` (serve ``POST /refresh``; default True), ``DEFAULT_USER`` (the page's
    shopper when the URL names none).
    """
    app = Flask(__name__)
    app.config.update(SHOP_DIR=os.environ.get("SHOP_DIR"), EVENTS_FILE=None, RELOAD_INTERVAL=2.0,
                      REFRESH_EVERY=100, REFRESH_INTERVAL=30.0, REFRESH_ENDPOINT=True,
                      DEFAULT_USER="", JSON_AS_ASCII=False)
    app.config.update(dict(config or {}))
    if not app.config["SHOP_DIR"]:
        raise RuntimeError("set SHOP_DIR (config or environment) to a directory written by `shoprec build`")
    shop_dir = os.fspath(app.config["SHOP_DIR"])
    if app.config["EVENTS_FILE"] is None:
        app.config["EVENTS_FILE"] = shop_dir.rstrip("/\\") + ".events.csv"
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    watcher = ShopWatcher(shop_dir, interval=float(app.config["RELOAD_INTERVAL"]))
    live = LiveUpdates(every=int(app.config["REFRESH_EVERY"]), interval=float(app.config["REFRESH_INTERVAL"]))
    app.extensions["shoprec"] = watcher
    app.extensions["shoprec_live"] = live
    events_lock = threading.Lock()

    def shop() -> Any:
        current = watcher.shop
        live.poke(current)
        return current

    # ---------------------------------------------------------------- errors, all JSON
    def error(status: int, message: str) -> Response:
        response = jsonify(error_body(status, message))
        response.status_code = status
        return response

    @app.errorhandler(ShoprecError)
    def shoprec_error(exc: ShoprecError) -> Response:
        status = error_status(exc) or 500
        if status == 500:
            app.logger.exception("shoprec error")
        return error(status, str(exc))

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Response:
        return error(exc.code or 500, exc.description or exc.name)

    @app.errorhandler(Exception)
    def crash(exc: Exception) -> Response:  # a bug: still JSON, and logged
        app.logger.exception("unexpected error")
        return error(500, "internal error")

    # ---------------------------------------------------------------- endpoints
    @app.get("/recommend/<user>")
    def recommend(user: str) -> Response:
        return jsonify(recommend_body(shop(), user, request.args))

    @app.get("/similar/<item>")
    def similar(item: str) -> Response:
        return jsonify(similar_body(shop(), item, request.args))

    @app.get("/search")
    def search() -> Response:
        return jsonify(search_body(shop(), request.args))

    @app.post("/events")
    def events() -> Response:
        rows = parse_events(request.get_data())
        current = watcher.shop
        stored, refreshing = live.record(current, rows)  # checked by the shop: all or none
        with events_lock, open(app.config["EVENTS_FILE"], "a", encoding="utf-8", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=EVENT_COLUMNS)
            if f.tell() == 0:
                writer.writeheader()
            writer.writerows(rows)
        response = jsonify({"stored": stored, "pending": current.pending_events, "refreshing": refreshing})
        response.status_code = 201
        return response

    @app.post("/refresh")
    def refresh() -> Response:
        if not app.config["REFRESH_ENDPOINT"]:
            return error(404, "POST /refresh is turned off (REFRESH_ENDPOINT)")
        return jsonify(live.refresh(watcher.shop))

    @app.get("/metrics")
    def metrics() -> Response:
        return Response(metrics_text(shop), mimetype="text/plain; version=0.0.4")

    @app.get("/")
    def page() -> Response:
        html = page_html(request.args.get("user", app.config["DEFAULT_USER"]),
                         None if shop().has_search else NO_SEARCH)
        return Response(html, mimetype="text/html")

    logging.getLogger("shoprec").setLevel(logging.INFO)
    return app
