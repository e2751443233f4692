"""Monitoring of a serving Shop (seed §3.3): calls and latency per method, fallbacks taken,
empty answers, errors.

Each thread counts its own calls, without a lock: a lock around every call made two serving
threads queue on it (a thread that finds it held sleeps, hands over the GIL, and both wait
for each other), which cost more than the call itself for a ~10 us ``similar``. A snapshot
adds the threads' counters up; the counters of finished threads are folded into one total
when a new thread first records (so a server starting a thread per request does not
accumulate them)."""

from __future__ import annotations

import threading
import time
from bisect import bisect_left
from contextlib import contextmanager
from typing import Any, Dict, Iterator, List, Optional, Tuple

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
        self._lock = threading.Lock()  # guards the registry of threads, not the counters
        self._local = threading.local()
        self._threads: List[Tuple[threading.Thread, Dict[str, _Method]]] = []
        self._finished: Dict[str, _Method] = {}  # counters of threads that have ended
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

    def _own(self) -> Dict[str, _Method]:
        """This thread's counters (registered at its first call)."""
        own = self._local.__dict__.get("methods")
        if own is None:
            own = self._local.methods = {}
            with self._lock:
                alive = []
                for thread, methods in self._threads:
                    if thread.is_alive():
                        alive.append((thread, methods))
                    else:
                        _add(self._finished, methods)
                alive.append((threading.current_thread(), own))
                self._threads = alive
        return own

    def record(self, method: str, seconds: float, *, error: bool = False, empty: bool = False,
               fallback: Optional[str] = None) -> None:
        bucket = bisect_left(LATENCY_BUCKETS, seconds)  # the first bound >= seconds (len: above all)
        own = self._own()
        entry = own.get(method)
        if entry is None:
            entry = own[method] = _Method()
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
            summed: Dict[str, _Method] = {}
            _add(summed, self._finished)
            for _, counts in self._threads:
                _add(summed, dict(counts))  # a copy: its thread may add a method meanwhile
            methods: Dict[str, Any] = {}
            for name, m in sorted(summed.items()):
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


def _add(into: Dict[str, _Method], counts: Dict[str, _Method]) -> None:
    """Adds ``counts`` to ``into`` (new _Method entries in ``into``; ``counts`` is unchanged)."""
    for name, m in counts.items():
        entry = into.get(name)
        if entry is None:
            entry = into[name] = _Method()
        entry.calls += m.calls
        entry.errors += m.errors
        entry.empty += m.empty
        entry.seconds += m.seconds
        entry.buckets = [a + b for a, b in zip(entry.buckets, list(m.buckets))]
        for reason, n in list(m.fallbacks.items()):
            entry.fallbacks[reason] = entry.fallbacks.get(reason, 0) + n


class _Call:
    __slots__ = ("error", "empty", "fallback")

    def __init__(self) -> None:
        self.error = False
        self.empty = False
        self.fallback: Optional[str] = None
