"""Segments and series cleaning, side by side with what a user would write instead, in one run.

- Segmenting shoppers: ``InterestSegments(8, features="items", n_components=32, n_init=4).fit``
  against the same pipeline in scikit-learn (the same IDF weighting, ``TruncatedSVD(32,
  n_iter=4)``, row normalisation, ``KMeans(8, n_init=4)``, ``silhouette_score`` on a 2,000-shopper
  sample), on ml-latest-small (when present) and on a generated 100,000-shopper shop.
- Cleaning 10,000 item series of 365 days: ``clean.smooth_series`` (window 7) against pandas
  ``groupby(item).rolling(7, center=True, min_periods=1).median()``, on a flat array with
  ``groups`` and on a long DataFrame (item, date, value); and ``clean.fix_outliers`` against the
  usual pandas Hampel (rolling median, then the rolling median of absolute deviations from it).

Each timing is the best of ``--repeats`` runs. Writes its section of ``benches/RESULTS.md``.

Run: ``PYTHONPATH=python python3 benches/peers_segments_clean.py`` (env ``SHOPREC_DATA`` for the
data folder; default ``../shared/data``).
"""

from __future__ import annotations

import os

# Both pipelines run with single-threaded BLAS: on this 2-core machine shared with other jobs,
# multi-threaded OpenBLAS spins on tall-skinny products (10x slower, and noisy) for both sides.
# Set SHOPREC_BENCH_BLAS_THREADS to change it. Must happen before numpy is imported.
for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, os.environ.get("SHOPREC_BENCH_BLAS_THREADS", "1"))

import argparse
import platform
import time

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.cluster import KMeans
from sklearn.decomposition import TruncatedSVD
from sklearn.metrics import silhouette_score
from sklearn.preprocessing import normalize
from threadpoolctl import threadpool_limits

import shoprec
from shoprec import clean
from shoprec.segments.profiles import smooth_idf

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.environ.get("SHOPREC_DATA", os.path.join(ROOT, "..", "shared", "data"))
MARK_BEGIN = "<!-- segments-clean:begin -->"
MARK_END = "<!-- segments-clean:end -->"


def best_of(repeats, fn):
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times), result


def both_thread_counts(repeats, ours, peer, peer_single_threaded=False):
    """Best-of timings of ``ours(num_threads)`` and ``peer()`` with every core (num_threads=0;
    scikit-learn's OpenMP default) and with one thread (num_threads=1; the peer under
    ``threadpool_limits(1)``, which caps its BLAS and OpenMP pools). A peer that is single-threaded
    anyway (pandas) is timed once. Returns (ours, peer, ours 1 thread, peer 1 thread) times and
    the results of the all-core runs."""
    ours_time, ours_result = best_of(repeats, lambda: ours(0))
    peer_time, peer_result = best_of(repeats, peer)
    ours_one, _ = best_of(repeats, lambda: ours(1))
    if peer_single_threaded:
        peer_one = peer_time
    else:
        with threadpool_limits(1):
            peer_one, _ = best_of(repeats, peer)
    return (ours_time, peer_time, ours_one, peer_one), ours_result, peer_result


def timing_cells(times, digits=2):
    ours, peer, ours_one, peer_one = times
    return (
        f"{1000 * ours:.0f} ms | {1000 * peer:.0f} ms | **{peer / ours:.{digits}f}x** | "
        f"{1000 * ours_one:.0f} ms | {1000 * peer_one:.0f} ms | **{peer_one / ours_one:.{digits}f}x**"
    )


def sklearn_segments(matrix, n_segments, n_components, seed, sample_size=2000):
    """The pipeline a scikit-learn user writes for the same segments."""
    idf = smooth_idf(np.diff(sp.csc_matrix(matrix).indptr), matrix.shape[0])
    weighted = sp.csr_matrix(matrix @ sp.diags(idf))
    embedded = TruncatedSVD(n_components, n_iter=4, random_state=seed).fit_transform(weighted)
    profiles = normalize(embedded)
    model = KMeans(n_segments, n_init=4, random_state=seed, algorithm="lloyd").fit(profiles)
    score = silhouette_score(profiles, model.labels_, sample_size=min(sample_size, len(profiles)), random_state=seed)
    return model.inertia_, score


def sklearn_choose(matrix, candidates, n_components, seed, sample_size=2000):
    """Inertia and silhouette per number of segments, as a scikit-learn user computes them."""
    idf = smooth_idf(np.diff(sp.csc_matrix(matrix).indptr), matrix.shape[0])
    weighted = sp.csr_matrix(matrix @ sp.diags(idf))
    profiles = normalize(TruncatedSVD(n_components, n_iter=4, random_state=seed).fit_transform(weighted))
    scores = []
    for k in candidates:
        model = KMeans(k, n_init=4, random_state=seed, algorithm="lloyd").fit(profiles)
        sample = min(sample_size, len(profiles))
        scores.append((model.inertia_, silhouette_score(profiles, model.labels_, sample_size=sample, random_state=seed)))
    return scores


def bench_choose(name, interactions, repeats, rows, candidates=range(2, 13)):
    matrix = sp.csr_matrix(interactions.to_csr(), dtype=np.float64)
    times, ours, peer = both_thread_counts(
        repeats,
        lambda threads: shoprec.choose_n_segments(
            interactions, candidates, n_components=32, n_init=4, seed=0, num_threads=threads
        ),
        lambda: sklearn_choose(matrix, candidates, 32, 0),
    )
    peer_best = list(candidates)[int(np.argmax([s for _, s in peer]))]
    rows.append(
        f"| choose_n_segments({candidates.start}..{candidates.stop - 1}), {name} | {timing_cells(times)} | "
        f"best by silhouette: {ours.best} vs {peer_best} |"
    )


def generated_shop(n_users, n_items, per_user, n_tastes, seed):
    rng = np.random.default_rng(seed)
    taste = rng.integers(0, n_tastes, n_users)
    block = n_items // n_tastes
    own = rng.random((n_users, per_user)) < 0.8
    items = np.where(
        own,
        taste[:, None] * block + rng.integers(0, block, (n_users, per_user)),
        rng.integers(0, n_items, (n_users, per_user)),
    )
    users = np.repeat(np.arange(n_users), per_user)
    ratings = rng.integers(1, 6, n_users * per_user).astype(float)
    return shoprec.Interactions.from_arrays(users, items.ravel(), ratings)


def bench_segments(name, interactions, repeats, rows, svd_sample=20_000):
    matrix = sp.csr_matrix(interactions.to_csr(), dtype=np.float64)
    times, ours, (peer_inertia, peer_silhouette) = both_thread_counts(
        repeats,
        lambda threads: shoprec.InterestSegments(
            8, n_components=32, n_init=4, svd_sample=svd_sample, seed=0, num_threads=threads
        ).fit(interactions),
        lambda: sklearn_segments(matrix, 8, 32, 0),
    )
    if svd_sample < matrix.shape[0]:
        name = f"{name}, svd_sample={svd_sample:,}"
    rows.append(
        f"| segments, {name} ({matrix.shape[0]:,} shoppers, {matrix.nnz:,} interactions) | {timing_cells(times)} | "
        f"inertia {ours.inertia:.1f} vs {peer_inertia:.1f}; silhouette {ours.silhouette:.3f} vs {peer_silhouette:.3f} |"
    )


def pandas_rolling_median(frame, window):
    return (
        frame.groupby("item", sort=False)["value"]
        .rolling(window, center=True, min_periods=1)
        .median()
        .reset_index(level=0, drop=True)
        .sort_index()
    )


def pandas_hampel(frame, window, n_sigmas):
    grouped = frame.groupby("item", sort=False)["value"]
    median = grouped.rolling(window, center=True, min_periods=1).median().reset_index(level=0, drop=True).sort_index()
    deviation = (frame["value"] - median).abs()
    mad = (
        deviation.groupby(frame["item"], sort=False)
        .rolling(window, center=True, min_periods=1)
        .median()
        .reset_index(level=0, drop=True)
        .sort_index()
    )
    outlier = deviation > n_sigmas * 1.4826 * mad
    return frame["value"].where(~outlier, median), outlier


def bench_series(repeats, rows, n_series=10_000, length=365, window=7):
    rng = np.random.default_rng(0)
    values = rng.poisson(40, n_series * length).astype(np.float64)
    spikes = rng.choice(len(values), n_series // 2, replace=False)
    values[spikes] *= 10
    indptr = np.arange(0, n_series * length + 1, length)
    frame = pd.DataFrame(
        {
            "item": np.repeat(np.arange(n_series), length),
            "date": np.tile(pd.date_range("2024-01-01", periods=length).to_numpy(), n_series),
            "value": values,
        }
    )
    shuffled = frame.sample(frac=1.0, random_state=1)  # a long table in no particular order
    pandas_median = lambda: pandas_rolling_median(frame, window)  # noqa: E731
    times, smoothed, peer = both_thread_counts(
        repeats, lambda threads: clean.smooth_series(values, window, groups=indptr, num_threads=threads)[0],
        pandas_median, peer_single_threaded=True,
    )
    shuffled_peer_time, _ = best_of(
        repeats, lambda: pandas_rolling_median(shuffled.sort_values(["item", "date"]), window).loc[shuffled.index]
    )
    peer_time = times[1]
    sorted_times, _, _ = both_thread_counts(
        repeats, lambda threads: clean.smooth_series(frame, window, num_threads=threads)[0], lambda: None,
        peer_single_threaded=True,
    )
    shuffled_times, _, _ = both_thread_counts(
        repeats, lambda threads: clean.smooth_series(shuffled, window, num_threads=threads)[0], lambda: None,
        peer_single_threaded=True,
    )
    sorted_times = (sorted_times[0], peer_time, sorted_times[2], peer_time)
    shuffled_times = (shuffled_times[0], shuffled_peer_time, shuffled_times[2], shuffled_peer_time)
    # Agreement away from the series ends (pandas shrinks the window there, we pad).
    inner = np.ones(len(values), bool)
    for offset in range(window // 2):
        inner[indptr[:-1] + offset] = inner[indptr[1:] - 1 - offset] = False
    agree = np.array_equal(smoothed[inner], peer.to_numpy()[inner])
    label = f"{n_series:,} series x {length} days, window {window}"
    rows.append(
        f"| smooth_series, {label}, flat array + groups | {timing_cells(times, 1)} | "
        f"pandas groupby-rolling median; equal away from series ends: {agree} |"
    )
    rows.append(
        f"| smooth_series, {label}, long DataFrame sorted by (item, date) | {timing_cells(sorted_times, 1)} | "
        "the same pandas code |"
    )
    rows.append(
        f"| smooth_series, {label}, long DataFrame in random row order | {timing_cells(shuffled_times, 1)} | pandas: "
        "sort_values(item, date) first, results back in the input order |"
    )
    hampel_times, (_, report), (_, peer_flags) = both_thread_counts(
        repeats, lambda threads: clean.fix_outliers(values, window, 3.0, groups=indptr, num_threads=threads),
        lambda: pandas_hampel(frame, window, 3.0), peer_single_threaded=True,
    )
    rows.append(
        f"| fix_outliers, {label}, flat array + groups | {timing_cells(hampel_times, 1)} | "
        "pandas: rolling median + rolling MAD around it (an approximation "
        f"of the per-window MAD); outliers {report.n_changed:,} vs {int(peer_flags.sum()):,} |"
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--no-write", action="store_true", help="print only, do not touch RESULTS.md")
    parser.add_argument("--segments-only", action="store_true", help="skip the series rows (implies --no-write)")
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    rows = []
    ratings_path = os.path.join(DATA, "ml-latest-small", "ratings.csv")
    if os.path.exists(ratings_path):
        ratings = pd.read_csv(ratings_path)
        movielens = shoprec.Interactions.from_pandas(ratings, user="userId", item="movieId", rating="rating")
        bench_segments("ml-latest-small", movielens, args.repeats, rows)
        bench_choose("ml-latest-small", movielens, args.repeats, rows)
    else:
        print(f"ml-latest-small not found under {DATA}: skipped")
    shop = generated_shop(args.users, 20_000, 30, 12, seed=0)
    bench_segments("generated shop", shop, args.repeats, rows)
    bench_segments("generated shop, SVD over every shopper", shop, args.repeats, rows, svd_sample=args.users)
    bench_choose("generated shop", shop, 1, rows)
    if args.segments_only:
        args.no_write = True
    else:
        bench_series(args.repeats, rows)

    header = (
        "| workload | shoprec | peer | speed-up | shoprec 1 thread | peer 1 thread | speed-up 1 thread | notes |\n"
        "|---|---|---|---|---|---|---|---|"
    )
    section = "\n".join(
        [
            MARK_BEGIN,
            "## Segments and series cleaning (issue #4)",
            "",
            "Command: `PYTHONPATH=python python3 benches/peers_segments_clean.py` "
            f"(best of {args.repeats}; {platform.processor() or platform.machine()}, {os.cpu_count()} cores, 1-minute load "
            f"average {load_before:.1f} at the start and {os.getloadavg()[0]:.1f} at the end (above about 1, other jobs "
            "shared the cores); ratios are what to read; BLAS single-threaded for both "
            f"sides: OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS')}). The 1-thread columns run "
            "shoprec with `num_threads=1` and scikit-learn under `threadpoolctl.threadpool_limits(1)` (its "
            "OpenMP k-means threads too); pandas is single-threaded either way (timed once).",
            "Segments peer: IDF weighting + scikit-learn `TruncatedSVD(32, n_iter=4)` + `normalize` + "
            "`KMeans(8, n_init=4, algorithm=\"lloyd\")` + `silhouette_score(sample_size=2000)`; "
            "shoprec: `InterestSegments(8, n_components=32, n_init=4).fit` (Rust randomized SVD with 4 power "
            "iterations, as the peer's `n_iter=4`, and Rust k-means; it also computes the "
            "per-segment item and attribute statistics; by default it learns the SVD's item components from "
            "a seeded sample of 20,000 shoppers, so a row with `svd_sample` = every shopper shows the same "
            "work as the peer). Inertia and silhouette are each measured in its own profile space. "
            "Series peer: pandas groupby-rolling.",
            "",
            header,
            *rows,
            MARK_END,
        ]
    )
    print(section)
    if not args.no_write:
        path = os.path.join(ROOT, "benches", "RESULTS.md")
        text = open(path).read() if os.path.exists(path) else "# Benchmark results\n"
        if MARK_BEGIN in text:
            before, rest = text.split(MARK_BEGIN, 1)
            text = before + section + rest.split(MARK_END, 1)[1]
        else:
            text = text.rstrip("\n") + "\n\n" + section + "\n"
        with open(path, "w") as handle:
            handle.write(text)


if __name__ == "__main__":
    main()
