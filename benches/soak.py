"""Long run: threads of mixed recommend, search, expand, update and reload on one shop for a
set time; reports calls made, errors (must be 0) and resident memory at start (after warm-up)
and end (growth must stay under 5%), both measured with no call in flight (after the threads
stop and a garbage collection), and the peak sampled while the threads ran.

    python benches/soak.py                 # 2 threads, 60 s (results in benches/RESULTS.md)
    python benches/soak.py --seconds 600 --threads 2

A short version runs in the test suite (tests/test_soak.py).
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import tempfile
import threading
import time
from typing import Dict

import numpy as np

import shoprec
from shoprec import Interactions, Shop
from shoprec.datasets import demo_shop

QUERIES = ["笔记本电脑", "laptop", "连衣裙 夏季", "running shoes", "无线 耳机", "", "😀", "咖啡", "phone case"]


def resident_bytes() -> int:
    """This process's resident set (Linux /proc; elsewhere the peak from resource)."""
    try:
        with open("/proc/self/statm", encoding="ascii") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def release_free_memory() -> None:
    """glibc's malloc_trim(0): what malloc holds free goes back to the OS (no-op elsewhere)."""
    import ctypes

    try:
        ctypes.CDLL(None).malloc_trim(0)
    except (OSError, AttributeError):
        pass


def malloc_in_use() -> float:
    """Bytes malloc has handed out and not got back (glibc's mallinfo2; NaN elsewhere): flat
    when nothing leaks, whatever the arenas keep."""
    import ctypes

    class _Info(ctypes.Structure):
        _fields_ = [(n, ctypes.c_size_t) for n in ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks",
                                                     "fsmblks", "uordblks", "fordblks", "keepcost")]

    try:
        mallinfo2 = ctypes.CDLL(None).mallinfo2
    except (OSError, AttributeError):
        return float("nan")
    mallinfo2.restype = _Info
    info = mallinfo2()
    return float(info.uordblks + info.hblkhd)


def soak(seconds: float = 60.0, threads: int = 2, *, n_users: int = 400, n_products: int = 800,
         warmup: float = 3.0, seed: int = 0) -> Dict[str, float]:
    data = demo_shop(n_users=n_users, n_products=n_products, seed=seed)
    directory = tempfile.mkdtemp(prefix="shoprec-soak-")
    Shop.build(data.products, data.events, progress=False).save(os.path.join(directory, "shop"))
    live = {"shop": Shop.load(os.path.join(directory, "shop"))}
    users = live["shop"].parts.interactions.user_ids.tolist()
    items = live["shop"].parts.interactions.item_ids.tolist()
    lock = threading.Lock()
    counts = {"recommend": 0, "search": 0, "expand": 0, "update": 0, "reload": 0}
    errors = []
    stop = threading.Event()
    phase = {"measuring": False}

    def one_call(rng: random.Random) -> str:
        shop = live["shop"]
        roll = rng.random()
        if roll < 0.45:
            shop.recommend(rng.choice(users + ["stranger"]), 10)
            return "recommend"
        if roll < 0.8:
            shop.search(rng.choice(QUERIES), user=rng.choice(users), k=10)
            return "search"
        if roll < 0.95:
            if shop.parts.keywords is not None:
                shop.parts.keywords.expand(rng.choice(QUERIES), 5)
            return "expand"
        if roll < 0.99:
            old = shop.parts.interactions
            new = Interactions.from_arrays(
                [rng.choice(users) for _ in range(5)], [rng.choice(items) for _ in range(5)],
                timestamps=None if old.timestamps is None else np.full(5, old.timestamps.max() + 1))
            model = shop.parts.recommender.update(new)
            model.recommend(users[0], 5)
            return "update"
        fresh = Shop.load(os.path.join(directory, "shop"))
        live["shop"] = fresh  # the swap a web process does when a new build arrives
        return "reload"

    def worker(slot: int) -> None:
        rng = random.Random(seed * 1000 + slot)
        while not stop.is_set():  # (a deadline read by the workers raced with the warm-up under load)
            try:
                kind = one_call(rng)
            except Exception as exc:  # the soak counts every error; there must be none
                with lock:
                    errors.append(f"{type(exc).__name__}: {exc}")
                continue
            if phase["measuring"]:
                with lock:
                    counts[kind] += 1

    def run(duration: float) -> float:
        """The workers for ``duration`` seconds; returns the peak resident size seen (sampled)."""
        stop.clear()
        pool = [threading.Thread(target=worker, args=(slot,)) for slot in range(threads)]
        for thread in pool:
            thread.start()
        peak, until = 0, time.perf_counter() + duration
        while time.perf_counter() < until:
            peak = max(peak, resident_bytes())
            time.sleep(min(0.25, max(0.0, until - time.perf_counter())))
        stop.set()
        for thread in pool:
            thread.join()
        return peak

    def quiet_rss() -> int:
        # Measured with no call in flight: a reload in progress holds two shops for a moment,
        # which says nothing about what stays (it is in the peak instead).
        gc.collect()
        return resident_bytes()

    run(warmup)  # caches, thread pools and lazy sessions settle first
    start_rss = quiet_rss()
    start_malloc = malloc_in_use()
    phase["measuring"] = True
    started = time.perf_counter()
    peak = run(seconds)
    elapsed = time.perf_counter() - started
    end_rss = quiet_rss()
    end_malloc = malloc_in_use()
    release_free_memory()  # what of the growth is memory malloc holds free (glibc), not objects
    trimmed_rss = resident_bytes()
    return {
        "seconds": elapsed, "threads": threads, "calls": sum(counts.values()), **counts,
        "errors": len(errors), "first_error": errors[0] if errors else "",
        "rss_start_mb": start_rss / 2**20, "rss_end_mb": end_rss / 2**20, "rss_peak_mb": peak / 2**20,
        "rss_end_trimmed_mb": trimmed_rss / 2**20,
        "malloc_in_use_start_mb": start_malloc / 2**20, "malloc_in_use_end_mb": end_malloc / 2**20,
        "rss_growth": end_rss / start_rss - 1.0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    result = soak(args.seconds, args.threads)
    print(f"shoprec {shoprec.__version__}, load average {os.getloadavg()[0]:.2f} at the end")
    for key, value in result.items():
        print(f"{key:>14}: {value:.4g}" if isinstance(value, float) else f"{key:>14}: {value}")
    assert result["errors"] == 0, result["first_error"]
    assert result["rss_growth"] < 0.05, f"resident memory grew {100 * result['rss_growth']:.1f}%"
    np.testing.assert_(result["calls"] > 0)


if __name__ == "__main__":
    main()
