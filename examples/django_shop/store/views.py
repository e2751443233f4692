"""The same endpoints and page as the Flask example, as Django views. Every error is a JSON
body with its status; POST /events stores events in the database for the next build."""

import functools
import json
import logging
import math
from datetime import datetime, timezone
from typing import Any, Callable, Dict, Mapping, Optional

from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt

from shoprec.errors import DTypeError, InvalidArgumentError, ShoprecError, UnavailableError, UnknownIdError
from shoprec.shop.metrics import metrics_text

from .models import Event
from .shop import get_shop

logger = logging.getLogger("shoprec.django")
EVENT_TYPES = ("view", "cart", "purchase", "favorite")
MAX_K = 100


class BadRequest(Exception):
    pass


def error(status: int, message: str) -> JsonResponse:
    return JsonResponse({"error": message, "status": status}, status=status, json_dumps_params={"ensure_ascii": False})


def api(*methods: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """JSON in and out for a view answering ``methods``; shoprec and request errors become
    JSON with their status (405 for another method)."""
    return lambda view: _api(view, methods)


def _api(view: Callable[..., Any], methods: Any) -> Callable[..., Any]:
    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.method not in methods:
            response = error(405, f"{request.method} is not allowed here; use {', '.join(methods)}")
            response["Allow"] = ", ".join(methods)
            return response
        try:
            result = view(request, *args, **kwargs)
        except BadRequest as exc:
            return error(400, str(exc))
        except UnknownIdError as exc:
            return error(404, str(exc))
        except UnavailableError as exc:
            return error(503, str(exc))
        except (InvalidArgumentError, DTypeError) as exc:
            return error(400, str(exc))
        except ShoprecError as exc:
            logger.exception("shoprec error")
            return error(500, str(exc))
        if isinstance(result, HttpResponse):
            return result
        return JsonResponse(result, json_dumps_params={"ensure_ascii": False})

    return wrapped


def _int_arg(request: HttpRequest, name: str, default: int) -> int:
    text = request.GET.get(name)
    if not text:
        return default
    try:
        value = int(text)
    except ValueError:
        raise BadRequest(f"{name} must be an integer, got {text!r}") from None
    if not 1 <= value <= MAX_K:
        raise BadRequest(f"{name} must be between 1 and {MAX_K}, got {value}")
    return value


def _price_arg(request: HttpRequest, name: str) -> Optional[float]:
    text = request.GET.get(name)
    if not text:
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


@api("GET")
def recommend(request: HttpRequest, user: str) -> Dict[str, Any]:
    shop = get_shop()
    catalogue = "coupons" if request.GET.get("coupons") in ("1", "true", "yes") else "products"
    answer = shop.recommend(shop.user_id(user), _int_arg(request, "k", 10), catalogue=catalogue)
    return dict(user=user, **_answer(shop, answer))


@api("GET")
def similar(request: HttpRequest, item: str) -> Dict[str, Any]:
    shop = get_shop()
    item_id = shop.item_id(item)
    answer = shop.similar(item_id, _int_arg(request, "k", 10))
    return dict(item=shop.product(item_id), **_answer(shop, answer))


@api("GET")
def search(request: HttpRequest) -> Dict[str, Any]:
    shop = get_shop()
    query = request.GET.get("q", "")
    filters: Dict[str, Any] = {f: request.GET[f] for f in ("category", "brand") if request.GET.get(f)}
    max_price = _price_arg(request, "max_price")
    if max_price is not None:
        filters["price"] = (None, max_price)
    user = request.GET.get("user") or None
    results = shop.search(query, user=None if user is None else shop.user_id(user), k=_int_arg(request, "k", 20), filters=filters or None,
                          facets=["category", "brand"])
    return dict(query=query, user=user, **_answer(shop, results))


def _event(body: Any, index: int) -> Event:
    if not isinstance(body, Mapping):
        raise BadRequest(f"event {index} must be a JSON object")
    unknown = set(body) - {"user", "item", "event", "timestamp"}
    if unknown:
        raise BadRequest(f"event {index} has unknown fields {sorted(unknown)}")
    values = {}
    for field in ("user", "item"):
        value = body.get(field)
        if isinstance(value, bool) or not isinstance(value, (str, int)) or value == "" or len(str(value)) > 64:
            raise BadRequest(f"event {index}: {field} must be a non-empty string (at most 64 characters) or an integer")
        values[field] = str(value)
    kind = body.get("event", "view")
    if kind not in EVENT_TYPES:
        raise BadRequest(f"event {index}: event must be one of {list(EVENT_TYPES)}, got {kind!r}")
    stamp = body.get("timestamp")
    if stamp is None:
        when = datetime.now(timezone.utc)
    elif isinstance(stamp, bool) or not isinstance(stamp, (int, float)) or not math.isfinite(stamp) or not 0 <= stamp < 4e9:
        raise BadRequest(f"event {index}: timestamp must be Unix seconds")
    else:
        when = datetime.fromtimestamp(stamp, timezone.utc)
    return Event(user=values["user"], item=values["item"], event=kind, timestamp=when)


@csrf_exempt
@api("POST")
def events(request: HttpRequest) -> HttpResponse:
    try:
        body = json.loads(request.body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise BadRequest("the body must be JSON: an event object or a list of them") from None
    items = body if isinstance(body, list) else [body]
    if not items:
        raise BadRequest("no events")
    rows = [_event(e, i) for i, e in enumerate(items)]
    with transaction.atomic():
        Event.objects.bulk_create(rows)
    return JsonResponse({"stored": len(rows)}, status=201)


@api("GET")
def metrics(request: HttpRequest) -> HttpResponse:
    shop = get_shop()
    return HttpResponse(metrics_text(lambda: shop), content_type="text/plain; version=0.0.4")


@api("GET")
def page(request: HttpRequest) -> HttpResponse:
    shop = get_shop(required=False)
    return render(request, "store/index.html", {"user": request.GET.get("user", ""),
                                                "search": shop is not None and shop.has_search})


def not_found(request: HttpRequest, exception: Optional[Exception] = None) -> JsonResponse:
    return error(404, f"no such page: {request.path}")


def server_error(request: HttpRequest) -> JsonResponse:
    return error(500, "internal error")
