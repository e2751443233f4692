"""The process's Shop: loaded once from settings.SHOPREC_DIR and switched to new builds by
shoprec's ShopWatcher (a request looks at the manifest every SHOPREC_RELOAD_INTERVAL seconds);
posted events are applied to it by shoprec's LiveUpdates (a refresh after
SHOPREC_REFRESH_EVERY events or when the oldest waiting event is SHOPREC_REFRESH_INTERVAL
seconds old, in a background thread)."""

import threading
from typing import Any, Optional

from django.conf import settings

from shoprec.errors import UnavailableError
from shoprec.shop import ShopWatcher
from shoprec.shop.web import LiveUpdates

_watcher: Optional[ShopWatcher] = None
_live: Optional[LiveUpdates] = None
_lock = threading.Lock()


def live_updates() -> LiveUpdates:
    """The process's refresh policy for posted events."""
    global _live
    with _lock:
        if _live is None:
            _live = LiveUpdates(every=settings.SHOPREC_REFRESH_EVERY, interval=settings.SHOPREC_REFRESH_INTERVAL)
        return _live


def get_shop(required: bool = True) -> Any:
    """The current Shop; None (or UnavailableError when ``required``) before the first build."""
    global _watcher
    watcher = _watcher
    if watcher is None:
        with _lock:
            if _watcher is None:
                try:
                    _watcher = ShopWatcher(settings.SHOPREC_DIR, interval=settings.SHOPREC_RELOAD_INTERVAL)
                except FileNotFoundError:
                    if required:
                        raise UnavailableError("no shop built yet: run `python manage.py shoprec_build`") from None
                    return None
            watcher = _watcher
    shop = watcher.shop
    live_updates().poke(shop)
    return shop


def watcher() -> Optional[ShopWatcher]:
    return _watcher
