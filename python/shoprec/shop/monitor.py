"""Monitoring of a serving Shop (seed §3.3): calls and latency per method, fallbacks taken,
empty answers, errors. One lock around a few integer updates per call."""

from __future__ import annotations

import threading
import time
from bisect import bisect_left
from contextlib import contextmanager
from typing import Any, Dict, Iterator, List, Optional

__all__ = ["Monitor", "LATENCY_BUCKETS"]

#: Upper bounds (seconds) of the latency histogram, as Prometheus buckets.
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


class _Method:
    __slots__ = ("calls", "errors", "empty", "seconds", "buckets", "fallbacks")

    def __init__(self) -> None:
        self.calls = 0
        self.errors = 0
        self.empty = 0
        self.seconds = 0.0
        self.buckets = [0] * (len(LATENCY_BUCKETS) + 1)
        self.fallbacks: Dict[str, int] = {}


class Monitor:
    """Counters of one Shop, safe to update from any number of threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._methods: Dict[str, _Method] = {}
        self.started = time.time()

    @contextmanager
    def track(self, method: str) -> Iterator["_Call"]:
        """Time one call; the body reports its outcome on the yielded object."""
        call = _Call()
        start = time.perf_counter()
        try:
            yield call
        except BaseException:
            call.error = True
            raise
        finally:
            self.record(method, time.perf_counter() - start, error=call.error, empty=call.empty,
                        fallback=call.fallback)

    def record(self, method: str, seconds: float, *, error: bool = False, empty: bool = False,
               fallback: Optional[str] = None) -> None:
        bucket = bisect_left(LATENCY_BUCKETS, seconds)  # the first bound >= seconds (len: above all)
        with self._lock:
            entry = self._methods.get(method)
            if entry is None:
                entry = self._methods[method] = _Method()
            entry.calls += 1
            entry.seconds += seconds
            entry.buckets[bucket] += 1
            if error:
                entry.errors += 1
            if empty and not error:
                entry.empty += 1
            if fallback:
                entry.fallbacks[fallback] = entry.fallbacks.get(fallback, 0) + 1

    def snapshot(self) -> Dict[str, Any]:
        """``{"uptime_seconds", "methods": {name: {calls, errors, empty, fallbacks, seconds_total,
        mean_ms, latency_buckets: [(upper bound, cumulative count)...]}}}``."""
        with self._lock:
            methods: Dict[str, Any] = {}
            for name, m in sorted(self._methods.items()):
                cumulative: List[Any] = []
                total = 0
                for bound, count in zip(list(LATENCY_BUCKETS) + [float("inf")], m.buckets):
                    total += count
                    cumulative.append((bound, total))
                methods[name] = {
                    "calls": m.calls, "errors": m.errors, "empty": m.empty, "fallbacks": dict(m.fallbacks),
                    "seconds_total": m.seconds, "mean_ms": 1000.0 * m.seconds / m.calls if m.calls else 0.0,
                    "latency_buckets": cumulative,
                }
        return {"uptime_seconds": time.time() - self.started, "methods": methods}


class _Call:
    __slots__ = ("error", "empty", "fallback")

    def __init__(self) -> None:
        self.error = False
        self.empty = False
        self.fallback: Optional[str] = None
