"""shoprec.shop.monitor.Monitor: counters kept per thread without a lock must add up exactly
to the same calls counted one by one, across threads that end and threads that start later."""

import threading

from shoprec.shop.monitor import LATENCY_BUCKETS, Monitor


def call(i, seed):
    """The i-th call of the thread ``seed``: (method, seconds, error, empty, fallback)."""
    kind = (i + seed) % 4
    return ("search" if kind else "similar", 0.0001 * (1 + i % 50), kind == 1, kind == 2,
            "popular" if kind == 3 else None)


def hammer(monitor, n, seed):
    for i in range(n):
        method, seconds, error, empty, fallback = call(i, seed)
        monitor.record(method, seconds, error=error, empty=empty, fallback=fallback)


def expected(seeds, n):
    counts = {}
    for seed in seeds:
        for i in range(n):
            method, seconds, error, empty, fallback = call(i, seed)
            c = counts.setdefault(method, {"calls": 0, "errors": 0, "empty": 0, "fallbacks": {}, "seconds": 0.0})
            c["calls"] += 1
            c["errors"] += error
            c["empty"] += empty and not error
            if fallback:
                c["fallbacks"][fallback] = c["fallbacks"].get(fallback, 0) + 1
            c["seconds"] += seconds
    return counts


def check(snapshot, want):
    methods = snapshot["methods"]
    assert set(methods) == set(want)
    for name, c in want.items():
        got = methods[name]
        assert (got["calls"], got["errors"], got["empty"], got["fallbacks"]) == (
            c["calls"], c["errors"], c["empty"], c["fallbacks"])
        assert abs(got["seconds_total"] - c["seconds"]) < 1e-9
        counts = [count for _, count in got["latency_buckets"]]
        assert len(counts) == len(LATENCY_BUCKETS) + 1 and counts[-1] == c["calls"] and counts == sorted(counts)


def test_counts_from_many_threads_add_up_while_snapshots_are_taken():
    monitor = Monitor()
    threads = [threading.Thread(target=hammer, args=(monitor, 3000, seed)) for seed in range(8)]
    for t in threads:
        t.start()
    while any(t.is_alive() for t in threads):
        monitor.snapshot()  # while the threads count: must not raise
    for t in threads:
        t.join()
    check(monitor.snapshot(), expected(range(8), 3000))


def test_ended_threads_are_folded_and_still_counted():
    monitor = Monitor()
    for seed in range(20):  # a thread per request, as some servers run
        t = threading.Thread(target=hammer, args=(monitor, 10, seed))
        t.start()
        t.join()
    assert len(monitor._threads) == 1  # the ended ones were folded when the next one started
    hammer(monitor, 5, 99)  # and this thread's own
    want = expected(range(20), 10)
    for name, c in expected([99], 5).items():
        w = want.setdefault(name, {"calls": 0, "errors": 0, "empty": 0, "fallbacks": {}, "seconds": 0.0})
        for key in ("calls", "errors", "empty", "seconds"):
            w[key] += c[key]
        for reason, n in c["fallbacks"].items():
            w["fallbacks"][reason] = w["fallbacks"].get(reason, 0) + n
    check(monitor.snapshot(), want)
