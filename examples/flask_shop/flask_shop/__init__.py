"""A Flask shop on shoprec: JSON endpoints and one HTML page, one Shop per process.

    create_app({"SHOP_DIR": "my-shop"})

* ``GET /recommend/<user>?k=10[&coupons=1]``: recommendations, marked with the part that
  answered (``itemknn``, ``popular-in-segment``, ``popular``...), ``source`` (``model`` or
  ``fallback``) and the ``reason`` of a fallback.
* ``GET /similar/<item>?k=10``: similar products (404 for an unknown product).
* ``GET /search?q=&user=&category=&brand=&max_price=&k=20``: search with facets; an empty
  query gets popular products (``source: "fallback"``, ``reason: "empty-query"``).
* ``POST /events``: a JSON event (or a list) ``{"user", "item", "event", "timestamp"?}``,
  appended to ``EVENTS_FILE`` (JSON lines) for the next ``shoprec build``.
* ``GET /metrics``: Prometheus text (calls, latency, fallbacks, empty answers per method).
* ``GET /``: the page: a search box, results with facets, "recommended for you".

Every error is a JSON body ``{"error": ..., "status": ...}`` with its status code (400 bad
input, 404 unknown product, 503 a part the shop lacks); the app never answers 500 for a
request it can read. The Shop is loaded once per process (before the fork under gunicorn
``--preload``: its model files are memory-mapped, so workers share the pages) and
:class:`shoprec.shop.ShopWatcher` switches to a new build of ``SHOP_DIR`` without dropping a
request.
"""

from __future__ import annotations

import json
import logging
import math
import os
import threading
import time
from typing import Any, Dict, Mapping, Optional

from flask import Flask, Response, jsonify, render_template, request
from werkzeug.exceptions import HTTPException

from shoprec.errors import DTypeError, InvalidArgumentError, ShoprecError, UnavailableError, UnknownIdError
from shoprec.shop import ShopWatcher
from shoprec.shop.metrics import metrics_text

__all__ = ["create_app"]

EVENT_TYPES = ("view", "cart", "purchase", "favorite")
MAX_K = 100


class BadRequest(Exception):
    """A request parameter or body the app cannot use (400)."""


def _int_arg(name: str, default: int) -> int:
    text = request.args.get(name)
    if text is None or text == "":
        return default
    try:
        value = int(text)
    except ValueError:
        raise BadRequest(f"{name} must be an integer, got {text!r}") from None
    if not 1 <= value <= MAX_K:
        raise BadRequest(f"{name} must be between 1 and {MAX_K}, got {value}")
    return value


def _price_arg(name: str) -> Optional[float]:
    text = request.args.get(name)
    if text is None or text == "":
        return None
    try:
        value = float(text)
    except ValueError:
        raise BadRequest(f"{name} must be a number, got {text!r}") from None
    if not math.isfinite(value) or value < 0:
        raise BadRequest(f"{name} must be a finite number >= 0, got {text!r}")
    return value


def _answer(shop: Any, answer: Any) -> Dict[str, Any]:
    return shop.as_dict(answer)


def _event(body: Any, index: int) -> Dict[str, Any]:
    if not isinstance(body, Mapping):
        raise BadRequest(f"event {index} must be a JSON object")
    unknown = set(body) - {"user", "item", "event", "timestamp"}
    if unknown:
        raise BadRequest(f"event {index} has unknown fields {sorted(unknown)}")
    event: Dict[str, Any] = {}
    for field in ("user", "item"):
        value = body.get(field)
        if isinstance(value, bool) or not isinstance(value, (str, int)) or value == "":
            raise BadRequest(f"event {index}: {field} must be a non-empty string or an integer")
        event[field] = value
    kind = body.get("event", "view")
    if kind not in EVENT_TYPES:
        raise BadRequest(f"event {index}: event must be one of {list(EVENT_TYPES)}, got {kind!r}")
    event["event"] = kind
    stamp = body.get("timestamp", time.time())
    if isinstance(stamp, bool) or not isinstance(stamp, (int, float)) or not math.isfinite(stamp) or stamp < 0:
        raise BadRequest(f"event {index}: timestamp must be Unix seconds")
    event["timestamp"] = float(stamp)
    return event


def create_app(config: Optional[Mapping[str, Any]] = None) -> Flask:
    """The application factory.

    Config keys: ``SHOP_DIR`` (required; default the ``SHOP_DIR`` environment variable),
    ``EVENTS_FILE`` (default ``<SHOP_DIR>.events.jsonl`` next to the shop), ``RELOAD_INTERVAL``
    (seconds between looks for a new build; default 2), ``DEFAULT_USER`` (the page's shopper
    when the URL names none).
    """
    app = Flask(__name__)
    app.config.update(SHOP_DIR=os.environ.get("SHOP_DIR"), EVENTS_FILE=None, RELOAD_INTERVAL=2.0,
                      DEFAULT_USER="", JSON_AS_ASCII=False)
    app.config.update(dict(config or {}))
    if not app.config["SHOP_DIR"]:
        raise RuntimeError("set SHOP_DIR (config or environment) to a directory written by `shoprec build`")
    shop_dir = os.fspath(app.config["SHOP_DIR"])
    if app.config["EVENTS_FILE"] is None:
        app.config["EVENTS_FILE"] = shop_dir.rstrip("/\\") + ".events.jsonl"
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    watcher = ShopWatcher(shop_dir, interval=float(app.config["RELOAD_INTERVAL"]))
    app.extensions["shoprec"] = watcher
    events_lock = threading.Lock()

    def shop() -> Any:
        return watcher.shop

    # ---------------------------------------------------------------- errors, all JSON
    def error(status: int, message: str) -> Response:
        response = jsonify({"error": message, "status": status})
        response.status_code = status
        return response

    @app.errorhandler(BadRequest)
    def bad_request(exc: BadRequest) -> Response:
        return error(400, str(exc))

    @app.errorhandler(UnknownIdError)
    def unknown(exc: UnknownIdError) -> Response:
        return error(404, str(exc))

    @app.errorhandler(UnavailableError)
    def unavailable(exc: UnavailableError) -> Response:
        return error(503, str(exc))

    @app.errorhandler(ShoprecError)
    def shoprec_error(exc: ShoprecError) -> Response:
        status = 400 if isinstance(exc, (InvalidArgumentError, DTypeError)) else 500
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
        s = shop()
        catalogue = "coupons" if request.args.get("coupons") in ("1", "true", "yes") else "products"
        answer = s.recommend(s.user_id(user), _int_arg("k", 10), catalogue=catalogue)
        return jsonify(dict(user=user, **_answer(s, answer)))

    @app.get("/similar/<item>")
    def similar(item: str) -> Response:
        s = shop()
        item_id = s.item_id(item)
        answer = s.similar(item_id, _int_arg("k", 10))
        return jsonify(dict(item=s.product(item_id), **_answer(s, answer)))

    @app.get("/search")
    def search() -> Response:
        s = shop()
        query = request.args.get("q", "")
        filters: Dict[str, Any] = {}
        for field in ("category", "brand"):
            if request.args.get(field):
                filters[field] = request.args[field]
        max_price = _price_arg("max_price")
        if max_price is not None:
            filters["price"] = (None, max_price)
        user = request.args.get("user") or None
        results = s.search(query, user=None if user is None else s.user_id(user), k=_int_arg("k", 20), filters=filters or None,
                           facets=["category", "brand"])
        body = dict(query=query, user=user, **_answer(s, results))
        return jsonify(body)

    @app.post("/events")
    def events() -> Response:
        body = request.get_json(silent=True)
        if body is None:
            raise BadRequest("the body must be JSON: an event object or a list of them")
        items = body if isinstance(body, list) else [body]
        if not items:
            raise BadRequest("no events")
        rows = [_event(e, i) for i, e in enumerate(items)]
        lines = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
        with events_lock, open(app.config["EVENTS_FILE"], "a", encoding="utf-8") as f:
            f.write(lines)
        response = jsonify({"stored": len(rows)})
        response.status_code = 201
        return response

    @app.get("/metrics")
    def metrics() -> Response:
        return Response(metrics_text(shop), mimetype="text/plain; version=0.0.4")

    @app.get("/")
    def page() -> str:
        return render_template("index.html", user=request.args.get("user", app.config["DEFAULT_USER"]),
                               search=shop().has_search)

    logging.getLogger("shoprec").setLevel(logging.INFO)
    return app
