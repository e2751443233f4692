"""shoprec's kmeans and median_filter side by side with what a user would pick instead, in one
process, on generated data; prints the ratios and writes them to benches/RESULTS.md.

    python benches/peers_kmeans_median.py            # full sizes (the issue's targets)
    python benches/peers_kmeans_median.py --quick    # small sizes, a few seconds

Peers: scikit-learn KMeans(algorithm="lloyd", n_init=1) from the same initial centroids;
scipy.ndimage.median_filter and bottleneck.move_median (trailing window: compared on the same
work, and checked against ours after shifting by window // 2); a Python loop of scipy over
many short series. Each timing is the best of a few runs; ratios are peer time / shoprec time.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "python"))  # an in-place build (make dev), if any

from shoprec.kernels import hampel, kmeans, median_filter  # noqa: E402

BEGIN, END = "<!-- kmeans-median:begin -->", "<!-- kmeans-median:end -->"


def best_of(fn, repeat):
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def bench_kmeans(quick, lines):
    from sklearn.cluster import KMeans, kmeans_plusplus

    n, d, k = (20_000, 32, 20) if quick else (100_000, 64, 20)
    rng = np.random.default_rng(0)
    centres = rng.normal(scale=1.5, size=(k, d))  # overlapping: unit noise, centres ~2 apart
    x = (centres[rng.integers(0, k, n)] + rng.normal(size=(n, d))).astype(np.float32)
    init, _ = kmeans_plusplus(x, k, random_state=0)
    repeat = 3
    t_ours, ours = best_of(lambda: kmeans(x, k, init=init), repeat)
    t_sk, sk = best_of(lambda: KMeans(k, init=init, n_init=1, algorithm="lloyd").fit(x), repeat)
    gap = (ours.inertia - sk.inertia_) / sk.inertia_
    agree = float(np.mean(ours.labels == sk.labels_))
    lines.append("| workload | shoprec | peer | peer time | ratio (peer / shoprec) | check |")
    lines.append("|---|---|---|---|---|---|")
    lines.append(
        f"| kmeans k={k}, {n:,} x {d} float32, same init | {t_ours * 1e3:.0f} ms ({ours.n_iter} it) "
        f"| sklearn KMeans lloyd | {t_sk * 1e3:.0f} ms ({sk.n_iter_} it) | **{t_sk / t_ours:.2f}x** "
        f"| inertia {100 * gap:+.3f}% vs sklearn, labels agree {100 * agree:.1f}% |"
    )
    print(lines[-1], flush=True)


def bench_median(quick, lines):
    import scipy.ndimage as ndimage

    try:
        import bottleneck
    except ImportError:
        bottleneck = None
    n = 200_000 if quick else 1_000_000
    x = np.random.default_rng(1).normal(size=n)
    repeat = 3
    for window in (5, 31, 101, 1001):
        h = window // 2
        t_ours, ours = best_of(lambda: median_filter(x, window, mode="nearest"), repeat)
        t_sp, sp = best_of(lambda: ndimage.median_filter(x, window, mode="nearest"), repeat)
        assert np.array_equal(ours, sp), "median_filter disagrees with scipy"
        peers = [("scipy.ndimage", t_sp)]
        if bottleneck is not None:
            t_bn, bn = best_of(lambda: bottleneck.move_median(x, window), repeat)
            # bottleneck's window is trailing: its value at i + h is our centred value at i.
            assert np.array_equal(bn[window - 1 :], ours[h : n - h]), "disagrees with bottleneck"
            peers.append(("bottleneck", t_bn))
        name, t_best = min(peers, key=lambda p: p[1])
        others = ", ".join(f"{p} {t * 1e3:.0f} ms" for p, t in peers)
        lines.append(
            f"| median_filter {n:,} float64, window {window} | {t_ours * 1e3:.1f} ms | faster of "
            f"({others}) | {t_best * 1e3:.1f} ms ({name}) | **{t_best / t_ours:.2f}x** | equal to scipy |"
        )
        print(lines[-1], flush=True)

    n_series, length = (2_000, 365) if quick else (10_000, 365)
    xs = np.random.default_rng(2).normal(size=n_series * length)
    groups = np.arange(n_series + 1) * length
    for window in (7, 31):
        t_ours, ours = best_of(lambda: median_filter(xs, window, groups=groups), repeat)

        def loop():
            return np.concatenate(
                [ndimage.median_filter(xs[a:b], window, mode="nearest") for a, b in zip(groups[:-1], groups[1:])]
            )

        t_loop, want = best_of(loop, repeat)
        assert np.array_equal(ours, want)
        lines.append(
            f"| median_filter {n_series:,} series x {length} (groups), window {window} | {t_ours * 1e3:.1f} ms "
            f"| Python loop of scipy.ndimage | {t_loop * 1e3:.0f} ms | **{t_loop / t_ours:.2f}x** | equal to scipy |"
        )
        print(lines[-1], flush=True)

    t_h, _ = best_of(lambda: hampel(x, 31), repeat)
    lines.append(f"| hampel {n:,} float64, window 31 | {t_h * 1e3:.1f} ms | (no peer timed) | | | tests: naive numpy |")
    print(lines[-1], flush=True)


def write_results(lines, command):
    path = os.path.join(HERE, "RESULTS.md")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    section = "\n".join(
        [
            BEGIN,
            "## kmeans and median_filter / hampel",
            "",
            f"Command: `{command}`",
            "",
            f"Machine: {os.cpu_count()} cores, Python {platform.python_version()}, numpy {np.__version__}; "
            f"load average {load:.1f} when the run started. Taken **under load** (other builds shared "
            "the 2 cores), so the ratios are noisy; rerun on a quiet machine for clean numbers.",
            "",
            *lines,
            END,
        ]
    )
    text = open(path).read() if os.path.exists(path) else "# Benchmark results\n"
    if BEGIN in text:
        text = re.sub(re.escape(BEGIN) + ".*?" + re.escape(END), lambda _: section, text, flags=re.S)
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    with open(path, "w") as f:
        f.write(text)
    print(f"wrote {path}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (smoke run)")
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args()
    lines = []
    bench_kmeans(args.quick, lines)
    bench_median(args.quick, lines)
    if not args.no_write:
        write_results(lines, "python " + " ".join(["benches/peers_kmeans_median.py", *sys.argv[1:]]))


if __name__ == "__main__":
    main()
