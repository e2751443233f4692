"""shoprec's kmeans and median_filter side by side with what a user would pick instead, in one
process, on generated data; prints the ratios and writes them to benches/RESULTS.md.
Besides wall time (shoprec with every core), each row gives the 1-thread CPU-time ratio
(shoprec with num_threads=1 against the peer limited to one thread), which a loaded machine
distorts less.

    python benches/peers_kmeans_median.py            # full sizes (the issue's targets)
    python benches/peers_kmeans_median.py --quick    # small sizes, a few seconds
    python benches/peers_kmeans_median.py --only kmeans   # rerun kmeans, keep the other rows

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


def cpu_of(fn, repeat):
    """Best process CPU time of a few runs: with one thread on each side, a measure of the work
    done that survives a loaded machine better than wall time."""
    best = float("inf")
    for _ in range(repeat):
        start = time.process_time()
        fn()
        best = min(best, time.process_time() - start)
    return best


def bench_kmeans(quick, lines):
    from sklearn.cluster import KMeans, kmeans_plusplus
    from threadpoolctl import threadpool_limits

    n, d, k = (20_000, 32, 20) if quick else (100_000, 64, 20)
    lines.append("| workload | shoprec | peer | peer time | ratio (peer / shoprec) | 1-thread CPU ratio | check |")
    lines.append("|---|---|---|---|---|---|---|")
    # Centre spread vs unit noise: at 0.5 the clusters overlap heavily, at 0.8 they touch.
    for overlap, scale in (("heavily overlapping", 0.5), ("overlapping", 0.8)):
        rng = np.random.default_rng(0)
        centres = rng.normal(scale=scale, size=(k, d))
        x = (centres[rng.integers(0, k, n)] + rng.normal(size=(n, d))).astype(np.float32)
        init, _ = kmeans_plusplus(x, k, random_state=0)
        repeat = 3
        t_ours, ours = best_of(lambda: kmeans(x, k, init=init), repeat)
        t_sk, sk = best_of(lambda: KMeans(k, init=init, n_init=1, algorithm="lloyd").fit(x), repeat)
        cpu_ours = cpu_of(lambda: kmeans(x, k, init=init, num_threads=1), 2)
        with threadpool_limits(1):
            cpu_sk = cpu_of(lambda: KMeans(k, init=init, n_init=1, algorithm="lloyd").fit(x), 2)
        gap = (ours.inertia - sk.inertia_) / sk.inertia_
        agree = float(np.mean(ours.labels == sk.labels_))
        lines.append(
            f"| kmeans k={k}, {n:,} x {d} float32, {overlap} (centre scale {scale}), same k-means++ init "
            f"| {t_ours * 1e3:.0f} ms ({ours.n_iter} it) | sklearn KMeans lloyd | {t_sk * 1e3:.0f} ms ({sk.n_iter_} it) "
            f"| **{t_sk / t_ours:.2f}x** | {cpu_sk / cpu_ours:.2f}x | inertia {100 * gap:+.4f}% vs sklearn, "
            f"labels agree {100 * agree:.1f}% |"
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
        cpu_ours = cpu_of(lambda: median_filter(x, window, mode="nearest", num_threads=1), repeat)
        cpu_peers = [cpu_of(lambda: ndimage.median_filter(x, window, mode="nearest"), repeat)]
        assert np.array_equal(ours, sp), "median_filter disagrees with scipy"
        peers = [("scipy.ndimage", t_sp)]
        if bottleneck is not None:
            t_bn, bn = best_of(lambda: bottleneck.move_median(x, window), repeat)
            # bottleneck's window is trailing: its value at i + h is our centred value at i.
            assert np.array_equal(bn[window - 1 :], ours[h : n - h]), "disagrees with bottleneck"
            peers.append(("bottleneck", t_bn))
            cpu_peers.append(cpu_of(lambda: bottleneck.move_median(x, window), repeat))
        name, t_best = min(peers, key=lambda p: p[1])
        others = ", ".join(f"{p} {t * 1e3:.0f} ms" for p, t in peers)
        lines.append(
            f"| median_filter {n:,} float64, window {window} | {t_ours * 1e3:.1f} ms | faster of "
            f"({others}) | {t_best * 1e3:.1f} ms ({name}) | **{t_best / t_ours:.2f}x** "
            f"| {min(cpu_peers) / cpu_ours:.2f}x | equal to scipy (and to bottleneck, shifted) |"
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
            f"| Python loop of scipy.ndimage | {t_loop * 1e3:.0f} ms | **{t_loop / t_ours:.2f}x** | | equal to scipy |"
        )
        print(lines[-1], flush=True)

    t_h, _ = best_of(lambda: hampel(x, 31), repeat)
    lines.append(f"| hampel {n:,} float64, window 31 | {t_h * 1e3:.1f} ms | (no peer timed) | | | | tests: naive numpy |")
    print(lines[-1], flush=True)


def kept_rows(prefixes):
    """Rows of the current RESULTS.md section whose workload starts with one of `prefixes`."""
    path = os.path.join(HERE, "RESULTS.md")
    text = open(path).read() if os.path.exists(path) else ""
    match = re.search(re.escape(BEGIN) + "(.*?)" + re.escape(END), text, flags=re.S)
    if not match:
        return []
    return [line for line in match.group(1).splitlines() if line.startswith(tuple(sep + p for p in prefixes for sep in ("| ", "|")))]


def write_results(lines, command, note=""):
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
            f"load average {load:.1f} when the run started (above about 1, other jobs shared the "
            "2 cores and the all-cores ratios are noisy; the 1-thread column is the steadier one)." + note,
            "",
            *lines,
            "",
            "What limits these numbers:",
            "",
            "- kmeans (target >= 1.5x: met at centre scale 0.8, **missed** at 0.5): the first",
            "  iterations, where Elkan's bounds prune little, measure every distance as",
            "  |x|^2 + |c|^2 - 2 x.c with a register-blocked kernel (3 rows x 24 centres of float32",
            "  FMA accumulators, AVX2+FMA chosen at run time, a portable fallback) and measure exactly",
            "  (the old way) the centres whose estimate is within its rounding bound of the best, so",
            "  the labels stay those of plain Lloyd. Once fewer than 2% of the labels change, bounded",
            "  passes (Elkan, f32 lower bounds) take over. scikit-learn measures every distance every",
            "  iteration (OpenBLAS float32 GEMM, SkylakeX kernels; OpenMP and BLAS at 2 threads each;",
            "  OPENBLAS_CORETYPE is not set on this machine). With heavy overlap (scale 0.5) 10 of 13",
            "  passes are full ones and we are about as fast as scikit-learn per core (1-thread",
            "  column ~1.0-1.2x): in a full pass the kernel is only about 40% of the time (estimates,",
            "  candidate masks, bound writes and the float64 centre sums take the rest), and a bounded",
            "  pass that still measures about one distance per row costs as much as a full one.",
            "  Earlier runs with other jobs on the machine gave 1.18x-1.38x (scale 0.5) and",
            "  1.78x-1.95x (scale 0.8).",
            "- median_filter: sorting networks for windows up to 9, a sorted array up to 63,",
            "  Suomela's sorted blocks beyond (O(n log w)). Per core we beat the faster peer at every",
            "  window (1-thread column); the 2x target at mid windows needs the second core (long",
            "  series are cut into chunks overlapping by window - 1), so it is met only when that",
            "  core is free.",
            "- groups: one task per series (or chunk), no per-series Python call; the loop of scipy",
            "  pays about 40 us of call overhead per series.",
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
    parser.add_argument("--only", choices=["kmeans", "median"], help="run one part; keep the other's rows")
    args = parser.parse_args()
    lines, note = [], ""
    if args.only != "median":
        bench_kmeans(args.quick, lines)
    else:
        lines += kept_rows(["workload", "---", "kmeans"])
    if args.only != "kmeans":
        bench_median(args.quick, lines)
    else:
        lines += kept_rows(["median_filter", "hampel"])
    if args.only:
        other = "median_filter / hampel" if args.only == "kmeans" else "kmeans"
        note = f" Only the {args.only} rows were rerun; the {other} rows are from the previous run."
    if not args.no_write:
        write_results(lines, "python " + " ".join(["benches/peers_kmeans_median.py", *sys.argv[1:]]), note)


if __name__ == "__main__":
    main()
