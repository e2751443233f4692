"""Serving a :class:`shoprec.Shop` over HTTP, for any web framework: reading request
parameters, shaping answers as JSON, mapping errors to status codes, checking posted events,
and applying them to the live shop (:class:`LiveUpdates`). The Flask and Django example shops
(``examples/``) are thin views over these functions; the page they serve is
:func:`shoprec.shop.page.page_html`.

The JSON answers (``args`` is any mapping of query parameters, e.g. Flask's ``request.args``
or Django's ``request.GET``)::

    recommend_body(shop, "u1", args)   # ?k=10&coupons=1
    similar_body(shop, "p7", args)     # ?k=10; UnknownIdError (404) for an unknown product
    search_body(shop, args)            # ?q=&user=&category=&brand=&max_price=&k=20

Errors: :func:`error_status` gives the status of an exception (400 :class:`BadRequest`,
:class:`~shoprec.errors.InvalidArgumentError` and :class:`~shoprec.errors.DTypeError`; 404
:class:`~shoprec.errors.UnknownIdError`; 503 :class:`~shoprec.errors.UnavailableError`; 500
any other shoprec error) and :func:`error_body` the JSON body ``{"error", "status"}``.
"""

from __future__ import annotations

import json
import logging
import math
import threading
import time
from typing import Any, Dict, List, Mapping, Optional, Tuple

from ..errors import DTypeError, InvalidArgumentError, ShoprecError, UnavailableError, UnknownIdError

__all__ = ["BadRequest", "MAX_K", "MAX_ID_LENGTH", "int_arg", "price_arg", "recommend_body", "similar_body",
           "search_body", "parse_events", "error_status", "error_body", "LiveUpdates", "FACETS"]

logger = logging.getLogger("shoprec.shop")

#: The largest ``k`` a request may ask for.
MAX_K = 100
#: The longest shopper or product id a posted event may carry.
MAX_ID_LENGTH = 64
#: The facets the search endpoint counts.
FACETS = ("category", "brand")
_EVENT_FIELDS = {"user", "item", "event", "timestamp"}
_LATEST = 4e9  # Unix seconds (2096): a larger timestamp is a mistake (milliseconds?)


class BadRequest(InvalidArgumentError):
    """A request parameter or body a web shop cannot use (status 400)."""


# ---------------------------------------------------------------------------- parameters
def int_arg(args: Mapping[str, Any], name: str, default: int, *, high: int = MAX_K) -> int:
    """The integer parameter ``name`` (``default`` when absent or empty), between 1 and ``high``."""
    text = args.get(name)
    if text is None or text == "":
        return default
    try:
        value = int(text)
    except ValueError:
        raise BadRequest(f"{name} must be an integer, got {text!r}") from None
    if not 1 <= value <= high:
        raise BadRequest(f"{name} must be between 1 and {high}, got {value}")
    return value


def price_arg(args: Mapping[str, Any], name: str) -> Optional[float]:
    """The price parameter ``name`` (None when absent or empty): a finite number >= 0."""
    text = args.get(name)
    if text is None or text == "":
        return None
    try:
        value = float(text)
    except ValueError:
        raise BadRequest(f"{name} must be a number, got {text!r}") from None
    if not math.isfinite(value) or value < 0:
        raise BadRequest(f"{name} must be a finite number >= 0, got {text!r}")
    return value


def _flag(args: Mapping[str, Any], name: str) -> bool:
    return args.get(name) in ("1", "true", "yes")


# ---------------------------------------------------------------------------- answers
def recommend_body(shop: Any, user: str, args: Mapping[str, Any]) -> Dict[str, Any]:
    """``GET /recommend/<user>?k=10[&coupons=1]``: ``{"user", "part", "source", "reason",
    "items"}`` (:meth:`Shop.as_dict`); ``user`` as typed in the URL."""
    catalogue = "coupons" if _flag(args, "coupons") else "products"
    answer = shop.recommend(shop.user_id(user), int_arg(args, "k", 10), catalogue=catalogue)
    return dict(user=user, **shop.as_dict(answer))


def similar_body(shop: Any, item: str, args: Mapping[str, Any]) -> Dict[str, Any]:
    """``GET /similar/<item>?k=10``: ``{"item": the product, "part", "source", "reason",
    "items"}``; :class:`~shoprec.errors.UnknownIdError` for a product not in the catalogue."""
    item_id = shop.item_id(item)
    answer = shop.similar(item_id, int_arg(args, "k", 10))
    return dict(item=shop.product(item_id), **shop.as_dict(answer))


def search_body(shop: Any, args: Mapping[str, Any]) -> Dict[str, Any]:
    """``GET /search?q=&user=&category=&brand=&max_price=&k=20``: ``{"query", "user",
    "part", "source", "reason", "items", "total", "expansions", "facets"}`` with the
    :data:`FACETS` counted; an empty query gets popular products (``reason: "empty-query"``)."""
    query = args.get("q") or ""
    filters: Dict[str, Any] = {field: args.get(field) for field in FACETS if args.get(field)}
    max_price = price_arg(args, "max_price")
    if max_price is not None:
        filters["price"] = (None, max_price)
    user = args.get("user") or None
    results = shop.search(query, user=None if user is None else shop.user_id(user), k=int_arg(args, "k", 20),
                          filters=filters or None, facets=list(FACETS))
    return dict(query=query, user=user, **shop.as_dict(results))


# ---------------------------------------------------------------------------- events
def _event_id(value: Any, field: str, index: int) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int)) or value == "" \
            or len(str(value)) > MAX_ID_LENGTH:
        raise BadRequest(f"event {index}: {field} must be a non-empty string (at most {MAX_ID_LENGTH} "
                         f"characters) or an integer, got {value!r}")
    return str(value)


def parse_events(body: Any, *, now: Optional[float] = None) -> List[Dict[str, Any]]:
    """The events of a ``POST /events`` body, checked: the raw body (bytes or str, JSON) or
    the parsed JSON, one event object or a non-empty list of them, each
    ``{"user", "item", "event"?, "timestamp"?}`` with ids as strings or integers (returned as
    strings, :meth:`Shop.user_id` turns them into the shop's ids), ``event`` a string (default
    ``"view"``; the shop checks it is one it weighs) and ``timestamp`` Unix seconds (default
    ``now``, the current time).

    Raises
    ------
    BadRequest
        Not JSON, not an event or a list of events, an unknown field, a bad id, event or
        timestamp; the message names the event's position.
    """
    if isinstance(body, (bytes, bytearray, str)):
        try:
            body = json.loads(body)
        except (UnicodeDecodeError, ValueError):
            raise BadRequest("the body must be JSON: an event object or a list of them") from None
    items = body if isinstance(body, list) else [body]
    if not items:
        raise BadRequest("no events: the body is an empty list")
    stamp_now = time.time() if now is None else float(now)
    rows = []
    for index, event in enumerate(items):
        if not isinstance(event, Mapping):
            raise BadRequest(f"event {index} must be a JSON object with user and item, got {event!r}")
        unknown = set(event) - _EVENT_FIELDS
        if unknown:
            raise BadRequest(f"event {index} has unknown fields {sorted(unknown)}; an event has "
                             f"{sorted(_EVENT_FIELDS)}")
        kind = event.get("event", "view")
        if not isinstance(kind, str) or not kind:
            raise BadRequest(f"event {index}: event must be a string such as 'view' or 'purchase', got {kind!r}")
        stamp = event.get("timestamp", stamp_now)
        if isinstance(stamp, bool) or not isinstance(stamp, (int, float)) or not math.isfinite(stamp) \
                or not 0 <= stamp < _LATEST:
            raise BadRequest(f"event {index}: timestamp must be Unix seconds, got {stamp!r}")
        rows.append({"user": _event_id(event.get("user"), "user", index),
                     "item": _event_id(event.get("item"), "item", index), "event": kind,
                     "timestamp": float(stamp)})
    return rows


# ---------------------------------------------------------------------------- errors
def error_status(exc: BaseException) -> Optional[int]:
    """The HTTP status of a shoprec exception (None for any other exception)."""
    if isinstance(exc, (InvalidArgumentError, DTypeError)):
        return 400
    if isinstance(exc, UnknownIdError):
        return 404
    if isinstance(exc, UnavailableError):
        return 503
    if isinstance(exc, ShoprecError):
        return 500
    return None


def error_body(status: int, message: str) -> Dict[str, Any]:
    """The JSON body of an error answer."""
    return {"error": message, "status": status}


# ---------------------------------------------------------------------------- live updates
class LiveUpdates:
    """Posted events applied to a serving process's Shop, under one policy.

    :meth:`record` buffers checked events in the shop (:meth:`Shop.record_events`, all or
    none). A refresh (:meth:`Shop.refresh`: the models updated as a refit would be, the new
    parts swapped in with one reference, requests in flight finishing on the old parts) starts
    when ``every`` events are waiting, or when the oldest waiting event is ``interval``
    seconds old; the age is checked whenever the app asks for the shop (:meth:`poke`: there is
    no timer thread, so it behaves the same after gunicorn's fork). The refresh runs in one
    background thread at a time (``background=False``: in the request that triggered it), so
    no request waits for it. :meth:`refresh` runs one now (an app's ``POST /refresh``).
    ``every=0`` or ``interval=0`` turns that trigger off. A failed refresh keeps the events
    waiting and the current models (logged, counted in :attr:`failed`); the next try comes
    ``interval`` seconds later (30 s when ``interval`` is 0).

    Each process refreshes its own Shop from the events it received; the other worker
    processes see them at the next build (the apps also store every event for it), which
    they switch to with :class:`shoprec.shop.ShopWatcher`. A switch replaces the refreshed
    models with the new build's; events still waiting then are applied to the new build at
    the next refresh, so one that the build already read counts twice until the build after
    (refresh before building, or build often, to keep that window small).
    """

    def __init__(self, *, every: int = 100, interval: float = 30.0, background: bool = True) -> None:
        if isinstance(every, bool) or not isinstance(every, int) or every < 0:
            raise InvalidArgumentError(f"every must be an integer >= 0, got {every!r}")
        if isinstance(interval, bool) or not isinstance(interval, (int, float)) or not interval >= 0:
            raise InvalidArgumentError(f"interval must be a number of seconds >= 0, got {interval!r}")
        self.every = every
        self.interval = float(interval)
        self.background = background
        self._lock = threading.Lock()
        self._since: Optional[float] = None  # when the oldest waiting event was recorded
        self._thread: Optional[threading.Thread] = None
        self._retry_after = 0.0  # after a failed refresh, none is started before this time
        self.refreshes = 0
        self.failed = 0
        self.last_report: Optional[Dict[str, Any]] = None

    def record(self, shop: Any, rows: List[Dict[str, Any]]) -> Tuple[int, bool]:
        """Buffer ``rows`` (from :func:`parse_events`) in ``shop``; returns how many were
        recorded and whether a refresh was started.

        Raises
        ------
        DTypeError, InvalidArgumentError
            An event the shop refuses (e.g. an event type it does not weigh); none recorded.
        """
        n = shop.record_events([(shop.user_id(r["user"]), shop.item_id(r["item"]), r["event"], r["timestamp"])
                                for r in rows])
        with self._lock:
            if self._since is None:
                self._since = time.monotonic()
        return n, self.poke(shop)

    def due(self, shop: Any) -> bool:
        """Whether the policy asks for a refresh now."""
        pending = shop.pending_events
        if pending == 0 or time.monotonic() < self._retry_after:
            return False
        if self.every and pending >= self.every:
            return True
        since = self._since
        return bool(self.interval) and since is not None and time.monotonic() - since >= self.interval

    def poke(self, shop: Any) -> bool:
        """Start a refresh if one is due and none is running; returns whether one started."""
        if not self.due(shop):
            return False
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return False
            if not self.background:
                self._thread = None
            else:
                self._thread = threading.Thread(target=self._run, args=(shop,), name="shoprec-refresh", daemon=True)
                self._thread.start()
                return True
        self._run(shop)
        return True

    def refresh(self, shop: Any) -> Dict[str, Any]:
        """Apply every waiting event now (waiting for a running background refresh first) and
        return :meth:`Shop.refresh`'s report."""
        self.wait()
        with self._lock:
            self._since = None
        report = shop.refresh()
        self.refreshes += 1
        self.last_report = report
        return report

    def wait(self, timeout: Optional[float] = None) -> bool:
        """Wait for a running background refresh; returns False if it is still running."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
            return not thread.is_alive()
        return True

    def _run(self, shop: Any) -> None:
        with self._lock:
            self._since = None
        try:
            report = shop.refresh()
        except Exception:  # the events went back to the shop's buffer; try again later
            self.failed += 1
            with self._lock:
                self._since = time.monotonic()
                self._retry_after = self._since + (self.interval or 30.0)
            logger.exception("refreshing the shop with new events failed; keeping the current models")
            return
        self.refreshes += 1
        self.last_report = report
        logger.info("refreshed the shop with %d new events in %.2f s", report["applied"], report["seconds"])
