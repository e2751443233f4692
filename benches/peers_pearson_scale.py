"""pearson_neighbours at shop scale against implicit's CosineRecommender, with the cost curve.

    python benches/peers_pearson_scale.py [--events 1000000,4000000,16000000] [--repeat 1]
                                          [--skip-one-thread] [--write] [--cache DIR]

The generated shop (:func:`shop_ratings`, seeded): 200,000 shoppers x 50,000 products;
``events`` (shopper, product) draws with Zipf popularity (the product of popularity rank ``r``
is drawn with probability proportional to ``r ** -0.9``; ranks are shuffled over the product
ids) and log-normal shopper activity (weights ``exp(N(0, 1))``); repeated draws of a pair
collapse into one interaction, so 1M, 4M and 16M events give about 0.98M, 3.74M and 13.8M
interactions. Every interaction gets a half-star rating in [0.5, 5]:
``round(2 * (3.5 + q_item + b_shopper + e)) / 2`` clipped, with ``q ~ N(0, 0.7)``,
``b ~ N(0, 0.5)`` and ``e ~ N(0, 1)``, so that Pearson has something to correlate.

Per size, every fit runs in its own child process that loads the set from an ``.npz`` file
(cached under ``--cache``), resets the peak-RSS mark, and reports the CPU time of the fit
(``time.process_time``: user + system time of all the process's threads) and the peak RSS of
the whole process during the fit (``VmHWM`` after ``/proc/self/clear_refs``; Python, numpy,
scipy and the loaded input included). The children run one after the other, never at once:

- shoprec ``pearson_neighbours(m, 50)`` (item-item Pearson over the co-rated set), all cores
  and one thread;
- implicit ``CosineRecommender(K=50).fit(m)`` (the full-vector cosine, a simpler measure), its
  input as float32 CSR (the dtype implicit works in), all cores and ``num_threads=1``.

With ``--write`` the table replaces the ``pearson_neighbours_scale`` block inside the
``pearson_neighbours`` section of benches/RESULTS.md (``peers_pearson.py --write`` keeps it).
implicit must be importable by this interpreter.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time

import numpy as np
import scipy.sparse as sp

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from peers_pearson import child_json, measured_call  # the child-process timing (imports no shoprec)
K = 50
N_SHOPPERS = 200_000
N_PRODUCTS = 50_000
ZIPF_EXPONENT = 0.9
ACTIVITY_SIGMA = 1.0
SECTION = "pearson_neighbours_scale"


def shop_ratings(events: int, seed: int = 0, n_shoppers: int = N_SHOPPERS, n_products: int = N_PRODUCTS) -> sp.csr_matrix:
    """The generated shop as a shoppers x products float64 CSR (see the module docstring)."""
    rng = np.random.default_rng(seed)
    popularity = np.cumsum(1.0 / np.arange(1, n_products + 1) ** ZIPF_EXPONENT)
    popularity /= popularity[-1]
    activity = np.cumsum(rng.lognormal(0.0, ACTIVITY_SIGMA, n_shoppers))
    activity /= activity[-1]
    product_of_rank = rng.permutation(n_products)
    # Inverse-CDF sampling; `min` guards against a draw landing past the last bin by rounding.
    shoppers = np.minimum(np.searchsorted(activity, rng.random(events), side="right"), n_shoppers - 1)
    ranks = np.minimum(np.searchsorted(popularity, rng.random(events), side="right"), n_products - 1)
    keys = np.unique(shoppers.astype(np.int64) * n_products + product_of_rank[ranks])
    del shoppers, ranks
    rows, cols = keys // n_products, (keys % n_products).astype(np.int32)
    quality = rng.normal(0.0, 0.7, n_products)
    bias = rng.normal(0.0, 0.5, n_shoppers)
    raw = 3.5 + quality[cols] + bias[rows] + rng.normal(0.0, 1.0, len(keys))
    values = np.clip(np.round(2.0 * raw) / 2.0, 0.5, 5.0)
    indptr = np.zeros(n_shoppers + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=n_shoppers), out=indptr[1:])
    return sp.csr_matrix((values, cols, indptr), shape=(n_shoppers, n_products))


def cached_set(events: int, cache: str) -> str:
    """The path of the set's ``.npz`` file, generated on first use."""
    os.makedirs(cache, exist_ok=True)
    path = os.path.join(cache, f"shop-{N_SHOPPERS}x{N_PRODUCTS}-zipf{ZIPF_EXPONENT}-ln{ACTIVITY_SIGMA}-{events}.npz")
    if not os.path.exists(path):
        start = time.perf_counter()
        m = shop_ratings(events)
        tmp = path + ".tmp.npz"
        sp.save_npz(tmp, m, compressed=False)
        os.replace(tmp, path)
        print(f"generated {events} events -> {m.nnz} interactions in {time.perf_counter() - start:.1f} s", flush=True)
    return path


def child(path: str, library: str, threads: int) -> None:
    """One fit in this fresh process; prints its CPU time, wall time and peak RSS as JSON."""
    m = sp.load_npz(path).tocsr()
    if library == "implicit":
        import warnings

        from implicit.nearest_neighbours import CosineRecommender

        m = m.astype(np.float32)
        model = CosineRecommender(K=K, num_threads=threads)

        def fit():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # its "expects CSR" warning about its own COO
                model.fit(m, show_progress=False)
            return model.similarity.nnz
    else:
        from shoprec.kernels import pearson_neighbours

        def fit():
            return pearson_neighbours(m, K, similarity=library, num_threads=threads).nnz

    call = measured_call(fit)
    json.dump({"cpu": call["cpu"], "wall": call["wall"], "peak_mib": call["peak_mib"], "before_mib": call["before_mib"],
               "result_nnz": int(call["result"]), "interactions": int(m.nnz)}, sys.stdout)


def best_run(path: str, library: str, threads: int, repeat: int) -> dict:
    """The run with the least CPU time of `repeat` children (peak RSS: the largest seen)."""
    runs = [child_json(__file__, "--child", path, library, str(threads)) for _ in range(repeat)]
    best = min(runs, key=lambda r: r["cpu"])
    return dict(best, peak_mib=max(r["peak_mib"] for r in runs))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", default="1000000,4000000,16000000")
    parser.add_argument("--repeat", type=int, default=1, help="children per fit and size; the least CPU time is kept")
    parser.add_argument("--skip-one-thread", action="store_true")
    parser.add_argument("--only", choices=("pearson", "cosine", "implicit"), action="append",
                        help="run only these fits (repeatable; for profiling)")
    parser.add_argument("--write", action="store_true", help="update benches/RESULTS.md")
    parser.add_argument("--cache", default=os.path.join(tempfile.gettempdir(), "shoprec-bench-shop"))
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], args.child[1], int(args.child[2]))
        return

    fits = [("pearson", "shoprec pearson_neighbours, Pearson"), ("implicit", "implicit CosineRecommender(K=50).fit")]
    if args.only:
        fits = [(lib, name) for lib, name in fits + [("cosine", "shoprec pearson_neighbours, cosine")] if lib in args.only]
    thread_counts = [0] if args.skip_one_thread else [0, 1]
    results = {}  # (events, library, threads) -> run
    loads = []
    interactions = {}
    for events in [int(e) for e in args.events.split(",")]:
        path = cached_set(events, args.cache)
        for library, name in fits:
            for threads in thread_counts:
                run = best_run(path, library, threads, args.repeat)
                results[events, library, threads] = run
                interactions[events] = run["interactions"]
                loads.append(os.getloadavg()[0])
                print(f"{events} events ({run['interactions']} interactions) {name}, "
                      f"{'all cores' if threads == 0 else '1 thread'}: CPU {run['cpu']:.2f} s, wall {run['wall']:.2f} s, "
                      f"peak RSS {run['peak_mib']:.0f} MiB (before {run['before_mib']:.0f} MiB), "
                      f"{run['result_nnz']} neighbours, load {loads[-1]:.1f}", flush=True)
    if not args.write:
        return

    lines = [
        f"<!-- BEGIN {SECTION} -->",
        "### At shop scale: generated 200,000 shoppers x 50,000 products",
        "",
        f"`python benches/peers_pearson_scale.py --write --repeat {args.repeat}"
        + (" --skip-one-thread" if args.skip_one_thread else "")
        + (f" --events {args.events}" if args.events != "1000000,4000000,16000000" else "")
        + f"` ({platform.machine()}, {os.cpu_count()} cores; load average (1 min) "
        f"{min(loads):.1f}-{max(loads):.1f} during the run; each fit in its own child process, one at a time; "
        f"least CPU time of {args.repeat}). The set: Zipf popularity (exponent {ZIPF_EXPONENT}), log-normal "
        f"activity (sigma {ACTIVITY_SIGMA}), half-star ratings; see the script's docstring. Item-item, k = {K}. "
        "CPU = user + system time of all threads of the process during the fit; peak = the process's peak RSS "
        "during the fit (Python, numpy, scipy and the loaded input included).",
        "",
        "| events | interactions | fit | threads | CPU time | wall time | peak RSS | implicit CPU / shoprec CPU "
        "| shoprec peak / implicit peak |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for (events, library, threads), run in results.items():
        name = dict(fits)[library]
        theirs = results.get((events, "implicit", threads))
        cpu_ratio = mem_ratio = ""
        if library != "implicit" and theirs:
            cpu_ratio = f"{theirs['cpu'] / run['cpu']:.2f}x"
            mem_ratio = f"{run['peak_mib'] / theirs['peak_mib']:.2f}"
        lines.append(f"| {events / 1e6:g}M | {interactions[events] / 1e6:.2f}M | {name} | "
                     f"{'all' if threads == 0 else 1} | {run['cpu']:.2f} s | {run['wall']:.2f} s | "
                     f"{run['peak_mib']:.0f} MiB | {cpu_ratio} | {mem_ratio} |")
    lines += [
        "",
        "Targets: implicit CPU / shoprec CPU >= 2 at every size and shoprec peak / implicit peak <= 1.",
        f"<!-- END {SECTION} -->",
    ]
    text = "\n".join(lines)
    print()
    print(text)
    write_block(os.path.join(HERE, "RESULTS.md"), text)


def write_block(path: str, block: str) -> None:
    """Puts `block` (with its own markers) inside the pearson_neighbours section, replacing an
    earlier one; the rest of the section is left as it is."""
    begin, end = f"<!-- BEGIN {SECTION} -->", f"<!-- END {SECTION} -->"
    outer_end = "<!-- END pearson_neighbours -->"
    text = open(path, encoding="utf-8").read()
    if begin in text and end in text:
        head, rest = text.split(begin, 1)
        text = head + block + rest.split(end, 1)[1]
    elif outer_end in text:
        head, rest = text.split(outer_end, 1)
        text = head.rstrip("\n") + "\n\n" + block + "\n" + outer_end + rest
    else:
        raise SystemExit(f"{path} has no pearson_neighbours section")
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


if __name__ == "__main__":
    sys.exit(main())
