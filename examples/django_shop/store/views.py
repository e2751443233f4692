"""The same endpoints and page as the Flask example, as Django views over
:mod:`shoprec.shop.web` (parameters, JSON shaping, error statuses, posted events). Every error
is a JSON body with its status. POST /events stores events in the database for the next build
and records them in the live Shop, refreshed after SHOPREC_REFRESH_EVERY events or
SHOPREC_REFRESH_INTERVAL seconds (see store/shop.py); POST /refresh applies them now."""

import functools
import logging
from datetime import datetime, timezone
from typing import Any, Callable, Optional

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from shoprec.errors import ShoprecError
from shoprec.shop.metrics import metrics_text
from shoprec.shop.page import NO_SEARCH, page_html
from shoprec.shop.web import error_body, error_status, parse_events, recommend_body, search_body, similar_body

from .models import Event
from .shop import get_shop, live_updates

logger = logging.getLogger("shoprec.django")


def error(status: int, message: str) -> JsonResponse:
    return JsonResponse(error_body(status, message), status=status, json_dumps_params={"ensure_ascii": False})


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
        except ShoprecError as exc:
            status = error_status(exc) or 500
            if status == 500:
                logger.exception("shoprec error")
            return error(status, str(exc))
        if isinstance(result, HttpResponse):
            return result
        return JsonResponse(result, json_dumps_params={"ensure_ascii": False})

    return wrapped


@api("GET")
def recommend(request: HttpRequest, user: str) -> Any:
    return recommend_body(get_shop(), user, request.GET)


@api("GET")
def similar(request: HttpRequest, item: str) -> Any:
    return similar_body(get_shop(), item, request.GET)


@api("GET")
def search(request: HttpRequest) -> Any:
    return search_body(get_shop(), request.GET)


@csrf_exempt
@api("POST")
def events(request: HttpRequest) -> HttpResponse:
    rows = parse_events(request.body)
    shop = get_shop()
    stored, refreshing = live_updates().record(shop, rows)  # checked by the shop: all or none
    with transaction.atomic():
        Event.objects.bulk_create([Event(user=r["user"], item=r["item"], event=r["event"],
                                         timestamp=datetime.fromtimestamp(r["timestamp"], timezone.utc))
                                   for r in rows])
    return JsonResponse({"stored": stored, "pending": shop.pending_events, "refreshing": refreshing}, status=201)


@csrf_exempt
@api("POST")
def refresh(request: HttpRequest) -> Any:
    if not settings.SHOPREC_REFRESH_ENDPOINT:
        return error(404, "POST /refresh is turned off (SHOPREC_REFRESH_ENDPOINT)")
    return live_updates().refresh(get_shop())


@api("GET")
def metrics(request: HttpRequest) -> HttpResponse:
    shop = get_shop()
    return HttpResponse(metrics_text(lambda: shop), content_type="text/plain; version=0.0.4")


@api("GET")
def page(request: HttpRequest) -> HttpResponse:
    shop = get_shop(required=False)
    notice = None if shop is not None and shop.has_search else NO_SEARCH
    return HttpResponse(page_html(request.GET.get("user", ""), notice), content_type="text/html; charset=utf-8")


def not_found(request: HttpRequest, exception: Optional[Exception] = None) -> JsonResponse:
    return error(404, f"no such page: {request.path}")


def server_error(request: HttpRequest) -> JsonResponse:
    return error(500, "internal error")
