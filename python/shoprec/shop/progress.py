"""Progress of a long build: a one-line bar on a terminal, ``logging`` otherwise."""

from __future__ import annotations

import logging
import sys
import time
from contextlib import contextmanager
from typing import Any, Iterator, List, Optional, TextIO

logger = logging.getLogger("shoprec.shop")

__all__ = ["Steps", "logger"]


class Steps:
    """Numbered steps. With ``show`` (and ``stream`` a terminal) each step draws
    ``[####......] 3/9 fitting segments`` on one line; every step is also logged at INFO with
    its duration, and the durations are kept in :attr:`timings`."""

    def __init__(self, total: int, show: bool = True, stream: Optional[TextIO] = None) -> None:
        self.total = total
        self.done = 0
        self.stream = stream if stream is not None else sys.stderr
        isatty = getattr(self.stream, "isatty", None)
        self.show = bool(show) and callable(isatty) and bool(isatty())
        self.timings: List[Any] = []

    def _draw(self, label: str) -> None:
        if not self.show:
            return
        width = 20
        filled = int(width * self.done / max(self.total, 1))
        self.stream.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total} {label:<40.40}")
        self.stream.flush()

    @contextmanager
    def step(self, label: str) -> Iterator[None]:
        self._draw(label)
        start = time.perf_counter()
        yield
        seconds = time.perf_counter() - start
        self.done += 1
        self.timings.append((label, round(seconds, 3)))
        logger.info("%s: %.2f s", label, seconds)
        self._draw(label)

    def close(self) -> None:
        if self.show:
            self.stream.write("\r" + " " * 72 + "\r")
            self.stream.flush()
