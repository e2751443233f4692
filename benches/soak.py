"""Long run: threads of mixed recommend, search, expand, update and reload on one shop for a
set time; reports calls made, errors (must be 0) and resident memory at start (after warm-up)
and end (growth must stay under 5%), both measured with no call in flight (after the threads
stop and a garbage collection), and the peak sampled while the threads ran.

Warm-up: the same mix runs until at least ``warmup`` seconds have passed AND at least
``warmup_reloads`` reloads have finished (default 3 s and 3 reloads; at most 120 s). Growth is
measured from there, not from a cold start: the first calls open lazy sessions and thread
pools, and the first reloads bring the allocators to the size that two shops side by side
need (a reload holds the old and the new shop for a moment); what a server reloading every
few minutes must not do is keep growing after that.

    python benches/soak.py                 # 2 threads, 60 s (results in benches/RESULTS.md)
    python benches/soak.py --seconds 600 --threads 2
    python benches/soak.py --trace         # also: what grew (tracemalloc, live objects, mappings)
    python benches/soak.py --mallopt       # glibc mmap threshold fixed at 128 KB, set in this script

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
from typing import Any, Dict

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


def os_threads() -> int:
    """This process's OS threads (Linux /proc; 0 elsewhere): flat unless threads leak."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            return next(int(line.split()[1]) for line in status if line.startswith("Threads:"))
    except (OSError, StopIteration):
        return 0


def release_free_memory() -> None:
    """glibc's malloc_trim(0): what malloc holds free goes back to the OS (no-op elsewhere)."""
    import ctypes

    try:
        ctypes.CDLL(None).malloc_trim(0)
    except (OSError, AttributeError):
        pass


def _mallinfo2():
    import ctypes

    class _Info(ctypes.Structure):
        _fields_ = [(n, ctypes.c_size_t) for n in ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks",
                                                     "fsmblks", "uordblks", "fordblks", "keepcost")]

    try:
        mallinfo2 = ctypes.CDLL(None).mallinfo2
    except (OSError, AttributeError):
        return None
    mallinfo2.restype = _Info
    return mallinfo2()


def malloc_in_use() -> float:
    """Bytes malloc has handed out and not got back (glibc's mallinfo2; NaN elsewhere): flat
    when nothing leaks, whatever the arenas keep."""
    info = _mallinfo2()
    return float("nan") if info is None else float(info.uordblks + info.hblkhd)


def malloc_free() -> float:
    """Bytes glibc's arenas hold free (``fordblks``): memory that was freed but stays mapped;
    where it grows while memory in use is flat, the growth is fragmentation, not objects."""
    info = _mallinfo2()
    return float("nan") if info is None else float(info.fordblks)


def fix_mmap_threshold(threshold: int = 131072) -> bool:
    """glibc's ``mallopt(M_MMAP_THRESHOLD, threshold)`` for THIS process (the soak's --mallopt):
    blocks from ``threshold`` bytes up are mmap'd and unmapped when freed, and the threshold no
    longer moves up after the first large free. The same as starting the process with
    ``MALLOC_MMAP_THRESHOLD_=131072``. shoprec itself never calls it (it is the host's
    allocator)."""
    import ctypes

    try:
        return bool(ctypes.CDLL(None).mallopt(-3, threshold))  # M_MMAP_THRESHOLD
    except (OSError, AttributeError):
        return False


def mappings() -> Dict[str, int]:
    """Resident bytes by kind of mapping (/proc/self/smaps): files, the main heap, the stack,
    and anonymous mappings by size class (glibc's thread arenas are reserved 64 MB at a time,
    so their pieces are <= 64 MB; mimalloc's and Python's arenas are other sizes)."""
    out: Dict[str, int] = {}
    try:
        with open("/proc/self/smaps", encoding="ascii", errors="replace") as smaps:
            kind = None
            for line in smaps:
                fields = line.split()
                if "-" in fields[0] and len(fields) >= 5 and not fields[0].endswith(":"):
                    start, end = (int(x, 16) for x in fields[0].split("-"))
                    name = fields[5] if len(fields) > 5 else ""
                    size = end - start
                    if name.startswith("/"):
                        kind = "file"
                    elif name:
                        kind = name
                    else:
                        kind = "anon " + next(label for bound, label in ((2**20, "<1MB"), (2**23, "1-8MB"),
                                                                         (2**26 + 1, "8-64MB"), (2**62, ">64MB"))
                                              if size < bound)
                elif fields[0] == "Rss:" and kind is not None:
                    out[kind] = out.get(kind, 0) + int(fields[1]) * 1024
    except OSError:
        pass
    return out


def soak(seconds: float = 60.0, threads: int = 2, *, n_users: int = 400, n_products: int = 800,
         warmup: float = 3.0, warmup_reloads: int = 3, seed: int = 0, trace: bool = False) -> Dict[str, Any]:
    data = demo_shop(n_users=n_users, n_products=n_products, seed=seed)
    directory = tempfile.mkdtemp(prefix="shoprec-soak-")
    Shop.build(data.products, data.events, progress=False).save(os.path.join(directory, "shop"))
    live = {"shop": Shop.load(os.path.join(directory, "shop"))}
    users = live["shop"].parts.interactions.user_ids.tolist()
    items = live["shop"].parts.interactions.item_ids.tolist()
    lock = threading.Lock()
    counts = {"recommend": 0, "search": 0, "expand": 0, "update": 0, "reload": 0}
    reloads_done = [0]  # in any phase: the warm-up waits for them
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
            with lock:
                if kind == "reload":
                    reloads_done[0] += 1
                if phase["measuring"]:
                    counts[kind] += 1

    def run(duration: float, reloads: int = 0, limit: float = 120.0) -> float:
        """The workers for ``duration`` seconds, and on until ``reloads`` reloads have finished
        (never past ``limit`` seconds); returns the peak resident size seen (sampled)."""
        stop.clear()
        pool = [threading.Thread(target=worker, args=(slot,)) for slot in range(threads)]
        for thread in pool:
            thread.start()
        begin = time.perf_counter()
        peak, until = 0, begin + duration
        while time.perf_counter() < until or (reloads_done[0] < reloads and time.perf_counter() < begin + limit):
            peak = max(peak, resident_bytes())
            remaining = until - time.perf_counter()
            time.sleep(0.25 if remaining <= 0 else min(0.25, remaining))
        stop.set()
        for thread in pool:
            thread.join()
        return peak

    def quiet_rss() -> int:
        # Measured with no call in flight: a reload in progress holds two shops for a moment,
        # which says nothing about what stays (it is in the peak instead).
        gc.collect()
        return resident_bytes()

    if trace:
        import tracemalloc

        tracemalloc.start(8)
    warm_started = time.perf_counter()
    run(warmup, warmup_reloads)  # caches, thread pools, lazy sessions and the first reloads settle first
    warm_seconds, warm_reloads = time.perf_counter() - warm_started, reloads_done[0]
    start_rss = quiet_rss()
    start_malloc, start_free = malloc_in_use(), malloc_free()
    start_threads = os_threads()
    before = _probe() if trace else None
    phase["measuring"] = True
    started = time.perf_counter()
    peak = run(seconds)
    elapsed = time.perf_counter() - started
    end_rss = quiet_rss()
    end_malloc, end_free = malloc_in_use(), malloc_free()
    end_threads = os_threads()
    grew = _what_grew(before, _probe()) if trace else None
    release_free_memory()  # what of the growth is memory malloc holds free (glibc), not objects
    trimmed_rss = resident_bytes()
    result: Dict[str, Any] = {
        "seconds": elapsed, "threads": threads, "calls": sum(counts.values()), **counts,
        "errors": len(errors), "first_error": errors[0] if errors else "",
        "warmup_seconds": warm_seconds, "warmup_reloads": warm_reloads,
        "rss_start_mb": start_rss / 2**20, "rss_end_mb": end_rss / 2**20, "rss_peak_mb": peak / 2**20,
        "rss_end_trimmed_mb": trimmed_rss / 2**20,
        "malloc_in_use_start_mb": start_malloc / 2**20, "malloc_in_use_end_mb": end_malloc / 2**20,
        "malloc_free_start_mb": start_free / 2**20, "malloc_free_end_mb": end_free / 2**20,
        "os_threads_start": start_threads, "os_threads_end": end_threads,
        "rss_growth": end_rss / start_rss - 1.0,
    }
    if grew is not None:
        result["what_grew"] = grew
    return result


def _probe() -> Dict[str, Any]:
    """What the process holds now: a tracemalloc snapshot, live objects by type, mappings."""
    import collections
    import tracemalloc

    gc.collect()
    return {"snapshot": tracemalloc.take_snapshot(), "traced": tracemalloc.get_traced_memory()[0],
            "objects": collections.Counter(type(o).__qualname__ for o in gc.get_objects()),
            "mappings": mappings()}


def _what_grew(before: Dict[str, Any], after: Dict[str, Any], top: int = 12) -> str:
    lines = [f"traced by tracemalloc (Python objects and numpy buffers): "
             f"{before['traced'] / 2**20:.1f} -> {after['traced'] / 2**20:.1f} MB"]
    stats = after["snapshot"].compare_to(before["snapshot"], "traceback")
    for stat in stats[:top]:
        frame = stat.traceback[0]
        lines.append(f"  {stat.size_diff / 1024:+9.1f} KB {stat.count_diff:+7d} blocks  {frame.filename}:{frame.lineno}")
    diff = after["objects"] - before["objects"]
    lines.append(f"live objects (gc-tracked): {sum(before['objects'].values())} -> {sum(after['objects'].values())}; "
                 "most grown: " + ", ".join(f"{name} +{n}" for name, n in diff.most_common(top)))
    kinds = sorted(set(before["mappings"]) | set(after["mappings"]))
    lines.append("resident by mapping (MB): " + ", ".join(
        f"{k} {before['mappings'].get(k, 0) / 2**20:.1f}->{after['mappings'].get(k, 0) / 2**20:.1f}" for k in kinds))
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--warmup", type=float, default=3.0, help="minimum warm-up seconds")
    parser.add_argument("--warmup-reloads", type=int, default=3, help="reloads to finish before measuring")
    parser.add_argument("--trace", action="store_true", help="report what grew (slow: tracemalloc)")
    parser.add_argument("--mallopt", action="store_true",
                        help="set glibc's mmap threshold to 128 KB in this process first (an evaluation)")
    args = parser.parse_args()
    load_start = os.getloadavg()
    if args.mallopt:
        print(f"mallopt(M_MMAP_THRESHOLD, 131072): {'set' if fix_mmap_threshold() else 'not available'}")
    result = soak(args.seconds, args.threads, warmup=args.warmup, warmup_reloads=args.warmup_reloads, trace=args.trace)
    print(f"shoprec {shoprec.__version__}, load average {load_start[0]:.2f} at the start, "
          f"{os.getloadavg()[0]:.2f} at the end")
    for key, value in result.items():
        print(f"{key:>22}: {value:.4g}" if isinstance(value, float) else f"{key:>22}: {value}")
    assert result["errors"] == 0, result["first_error"]
    assert result["rss_growth"] < 0.05, f"resident memory grew {100 * result['rss_growth']:.1f}%"
    np.testing.assert_(result["calls"] > 0)


if __name__ == "__main__":
    main()
