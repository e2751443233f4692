"""The process's Shop: loaded once from settings.SHOPREC_DIR and switched to new builds by
shoprec's ShopWatcher (a request looks at the manifest every SHOPREC_RELOAD_INTERVAL seconds)."""

import threading
from typing import Any, Optional

from django.conf import settings

from shoprec.errors import UnavailableError
from shoprec.shop import ShopWatcher

_watcher: Optional[ShopWatcher] = None
_lock = threading.Lock()


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
    return watcher.shop


def watcher() -> Optional[ShopWatcher]:
    return _watcher
