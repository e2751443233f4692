"""Switch a serving process to a newly built shop without dropping a request.

:class:`ShopWatcher` holds one :class:`Shop` loaded from a directory. Whenever a request asks
for it (:attr:`ShopWatcher.shop`) and ``interval`` seconds have passed since the last look, it
stats the directory's manifest; when the manifest changed (``shoprec build`` or
``Shop.save`` replaced the directory atomically), one thread loads the new build and swaps it
in (:meth:`Shop.reload`) while the other threads keep answering from the old one. A build that
cannot be loaded is logged and the old one kept. There is no background thread, so it works
the same after ``fork`` (gunicorn ``--preload``, celery prefork).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path
from typing import Any, Optional, Tuple

from ..io import PathLike
from ..io.directory import MANIFEST

__all__ = ["ShopWatcher"]

logger = logging.getLogger("shoprec.shop")


def _signature(directory: Path) -> Optional[Tuple[int, int, int]]:
    try:
        st = os.stat(directory / MANIFEST)
    except OSError:
        return None
    return (st.st_ino, st.st_mtime_ns, st.st_size)


class ShopWatcher:
    """One Shop per process, switched to a new build of its directory when one appears.

    Parameters
    ----------
    directory : str or PathLike
        A directory written by :meth:`Shop.save` (or ``shoprec build``).
    interval : float
        Seconds between looks at the manifest (0: at every access).
    """

    def __init__(self, directory: PathLike, *, interval: float = 2.0, verify: bool = True) -> None:
        from .serve import Shop

        self.directory = Path(os.fspath(directory))
        self.interval = float(interval)
        self.verify = verify
        self._signature = _signature(self.directory)
        self._shop = Shop.load(self.directory, verify=verify)
        self._checked = time.monotonic()
        self._reloading = threading.Lock()
        self.reloads = 0
        self.failed_reloads = 0

    @property
    def shop(self) -> Any:
        """The current Shop (checking for a new build at most every ``interval`` seconds)."""
        now = time.monotonic()
        if now - self._checked >= self.interval:
            self._checked = now
            self.check()
        return self._shop

    def check(self) -> bool:
        """Look at the manifest now; reload if it changed. Returns whether a new build was loaded.
        Only one thread reloads; others return at once and keep the current shop."""
        signature = _signature(self.directory)
        if signature is None or signature == self._signature:
            return False
        if not self._reloading.acquire(blocking=False):
            return False
        try:
            if _signature(self.directory) == self._signature:
                return False
            try:
                self._shop.reload(self.directory)
            except Exception:  # keep serving the old build
                self.failed_reloads += 1
                logger.exception("could not load the new shop at %s; keeping the current one", self.directory)
                return False
            self._signature = signature
            self.reloads += 1
            logger.info("switched to the new shop build at %s", self.directory)
            return True
        finally:
            self._reloading.release()
