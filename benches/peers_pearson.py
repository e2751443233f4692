"""pearson_neighbours side by side with what a user would pick instead, in one run.

    python benches/peers_pearson.py [--write] [--repeat 3] [--skip-surprise] [--skip-memory]

On ml-latest-small (``$SHOPREC_DATA/ml-latest-small/ratings.csv``, default ``../shared/data``),
item-item similarities with the top 50 neighbours of every item:

- scikit-surprise ``similarities.pearson`` (the same co-rated Pearson, as a dense n x n matrix,
  without even the top-k step),
- the same computation with scipy sparse products (the six co-rated sums as products of the
  indicator and value matrices, then a vectorised per-row top-k),
- implicit ``CosineRecommender(K=50).fit`` (the simpler full-vector cosine), compared with
  shoprec's Pearson and with shoprec's cosine.

Then the memory check: 50,000 items and 2,000,000 generated ratings, run in a child process
whose peak RSS is read with ``resource.getrusage``. Prints the table and, with ``--write``,
replaces the pearson section of benches/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time

import numpy as np
import scipy.sparse as sp

HERE = os.path.dirname(os.path.abspath(__file__))
K = 50


def data_dir() -> str:
    return os.environ.get("SHOPREC_DATA", os.path.join(HERE, "..", "..", "shared", "data"))


def load_movielens() -> sp.csr_matrix:
    """ml-latest-small as users x items float64 CSR (ids renumbered densely)."""
    path = os.path.join(data_dir(), "ml-latest-small", "ratings.csv")
    table = np.loadtxt(path, delimiter=",", skiprows=1, usecols=(0, 1, 2))
    users = np.unique(table[:, 0], return_inverse=True)[1]
    items = np.unique(table[:, 1], return_inverse=True)[1]
    return sp.csr_matrix((table[:, 2], (users, items)))


def best_of(fn, repeat: int) -> float:
    """Best wall time of `repeat` runs; the CPU time (all threads) of that run is kept in
    `CPU_TIMES[fn]`, to judge runs on a loaded machine."""
    best, best_cpu = float("inf"), float("nan")
    for _ in range(repeat):
        cpu = time.process_time()
        start = time.perf_counter()
        fn()
        elapsed = time.perf_counter() - start
        if elapsed < best:
            best, best_cpu = elapsed, time.process_time() - cpu
    CPU_TIMES[fn] = best_cpu
    return best


CPU_TIMES: dict = {}


def scipy_pearson_top_k(ratings: sp.csr_matrix, k: int) -> sp.csr_matrix:
    """Item-item co-rated Pearson with scipy sparse products, then the top k of every row.

    With V the items x users values and P its indicator, the co-rated sums of items a, b are
    n = P P^T, Sx = V P^T, Sy = P V^T, Sxx = V^2 P^T, Syy = P (V^2)^T and Sxy = V V^T. All
    have the pattern of P P^T as long as every rating is positive (scipy drops exact zeros).
    """
    values = ratings.T.tocsr()
    ones = values.copy()
    ones.data[:] = 1.0
    squares = values.multiply(values).tocsr()
    products = [ones @ ones.T, values @ ones.T, ones @ values.T, squares @ ones.T, ones @ squares.T, values @ values.T]
    for m in products:
        m.sort_indices()
    first = products[0]
    for m in products[1:]:
        assert np.array_equal(m.indices, first.indices) and np.array_equal(m.indptr, first.indptr)
    n, sx, sy, sxx, syy, sxy = (m.data for m in products)
    vx = sxx - sx * sx / n
    vy = syy - sy * sy / n
    cov = sxy - sx * sy / n
    with np.errstate(divide="ignore", invalid="ignore"):
        sim = cov / np.sqrt(vx * vy)
    valid = (vx > 1e-12 * sxx) & (vy > 1e-12 * syy)
    sim = np.where(valid, np.clip(sim, -1.0, 1.0), 0.0).astype(np.float32)
    rows = np.repeat(np.arange(first.shape[0]), np.diff(first.indptr))
    cols = first.indices
    keep = (rows != cols) & (sim != 0)
    rows, cols, sim = rows[keep], cols[keep], sim[keep]
    # Per-row top k: sort by (row, -similarity, column), keep the first k of every row.
    order = np.lexsort((cols, -sim, rows))
    rows, cols, sim = rows[order], cols[order], sim[order]
    starts = np.searchsorted(rows, np.arange(first.shape[0]))
    rank = np.arange(len(rows)) - starts[rows]
    top = rank < k
    counts = np.bincount(rows[top], minlength=first.shape[0])
    indptr = np.concatenate([[0], np.cumsum(counts)])
    return sp.csr_matrix((sim[top], cols[top], indptr), shape=first.shape)


def surprise_pearson(ratings: sp.csr_matrix):
    from surprise import similarities

    coo = ratings.tocoo()
    by_user: dict = {}
    for u, i, r in zip(coo.row.tolist(), coo.col.tolist(), coo.data.tolist()):
        by_user.setdefault(u, []).append((i, r))

    # Item-item: n_x = items, yr = every user's (item, rating) list, as surprise's
    # compute_similarities() passes them for user_based=False.
    return lambda: similarities.pearson(ratings.shape[1], by_user, 1)


def generated_ratings(n_users: int, n_items: int, n_ratings: int, seed: int = 0) -> sp.csr_matrix:
    """A shop-like generated set: Zipf-like item popularity, log-normal user activity."""
    rng = np.random.default_rng(seed)
    popularity = 1.0 / np.arange(1, n_items + 1) ** 0.8
    popularity /= popularity.sum()
    activity = rng.lognormal(0.0, 1.0, n_users)
    activity /= activity.sum()
    item_ids = rng.permutation(n_items)
    keys = np.zeros(0, dtype=np.int64)
    while len(keys) < n_ratings:  # draw (user, item) pairs until there are enough distinct ones
        users = rng.choice(n_users, size=n_ratings, p=activity)
        items = item_ids[rng.choice(n_items, size=n_ratings, p=popularity)]
        keys = np.unique(np.concatenate([keys, users.astype(np.int64) * n_items + items]))
    keys = np.sort(rng.choice(keys, size=n_ratings, replace=False))
    values = rng.integers(1, 11, size=n_ratings) / 2.0
    return sp.csr_matrix((values, (keys // n_items, keys % n_items)), shape=(n_users, n_items))


def memory_child(path: str) -> None:
    """Runs in a fresh process: loads the generated set, runs the kernel, reports peak RSS."""
    from shoprec.kernels import pearson_neighbours

    m = sp.load_npz(path).tocsr()
    # VmHWM, not ru_maxrss: the latter is inherited from the (large) parent across fork.
    load_peak = _status_kib("VmHWM") or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    call = measured_call(lambda: pearson_neighbours(m, K))
    peak_kib = call["peak_mib"] * 1024
    json.dump({"items": m.shape[1], "ratings": int(m.nnz), "users": m.shape[0], "seconds": call["wall"],
               "peak_rss_mib": max(peak_kib, load_peak if not call["reset"] else 0) / 1024,
               "rss_before_mib": call["before_mib"], "load_peak_mib": load_peak / 1024,
               "call_peak_mib": call["peak_mib"], "result_nnz": int(call["result"].nnz)},
              sys.stdout)


def measured_call(fn) -> dict:
    """Calls `fn()` with this process's peak-RSS mark reset first (so that the peak is the
    call's): its result, CPU time of all threads and wall time in seconds, and the RSS before
    and the peak RSS during the call in MiB (``reset`` False where /proc/self/clear_refs is not
    writable: the peak is then the process's, ru_maxrss). Shared with peers_pearson_scale.py,
    whose children import this module: it imports shoprec only where it runs it."""
    before = _status_kib("VmRSS")
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        reset = True
    except OSError:
        reset = False
    cpu, wall = time.process_time(), time.perf_counter()
    result = fn()
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    peak = _status_kib("VmHWM") if reset else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"result": result, "cpu": cpu, "wall": wall, "before_mib": before / 1024, "peak_mib": peak / 1024,
            "reset": reset}


def _status_kib(field: str) -> int:
    """A field of /proc/self/status in KiB (0 where there is no /proc)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def child_json(script: str, *args: str) -> dict:
    """Runs `script` with `args` in a fresh Python process and returns the JSON it prints."""
    out = subprocess.run([sys.executable, os.path.abspath(script), *args], check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def memory_check(n_users: int, n_items: int, n_ratings: int) -> dict:
    """Generates the set here, runs the kernel in a child process so that its peak RSS is the
    kernel's (plus Python, numpy, scipy and the input), not the generator's."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "ratings.npz")
        sp.save_npz(path, generated_ratings(n_users, n_items, n_ratings))
        return child_json(__file__, "--memory-child", path)


def cpu_note(rows) -> str:
    """The CPU-time ratio of implicit to shoprec, as a sentence ('' if implicit did not run)."""
    cpu = {name: c for name, _, c, _ in rows}
    theirs = cpu.get("implicit CosineRecommender(K=50).fit (cosine)")
    ours = cpu.get("shoprec pearson_neighbours, Pearson, all cores")
    ours_cos = cpu.get("shoprec pearson_neighbours, cosine, all cores")
    if not theirs or not ours or not ours_cos:
        return ""
    return (f" By CPU time, implicit's cosine takes {theirs / ours:.2f}x the CPU of shoprec's Pearson "
            f"and {theirs / ours_cos:.2f}x that of shoprec's cosine.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--write", action="store_true", help="update benches/RESULTS.md")
    parser.add_argument("--skip-surprise", action="store_true", help="surprise takes ~30 s and ~5 GB")
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument("--memory-child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_child:
        memory_child(args.memory_child)
        return
    from shoprec.kernels import pearson_neighbours

    ratings = load_movielens()
    n_items = ratings.shape[1]
    print(f"ml-latest-small: {ratings.shape[0]} users x {n_items} items, {ratings.nnz} ratings", flush=True)

    # Same answer before timing it: shoprec against the scipy version.
    ours = pearson_neighbours(ratings, K)
    scipy_result = scipy_pearson_top_k(ratings, K)
    agree_rows = 0
    for a in range(n_items):
        lo, hi = ours.indptr[a], ours.indptr[a + 1]
        slo, shi = scipy_result.indptr[a], scipy_result.indptr[a + 1]
        if np.allclose(ours.data[lo:hi], scipy_result.data[slo:shi], atol=1e-5):
            agree_rows += 1
    print(f"top-{K} similarities equal to the scipy version in {agree_rows} of {n_items} rows", flush=True)

    memory = None
    if not args.skip_memory:  # first, while this process is still small
        memory = memory_check(50_000, 50_000, 2_000_000)
        print(f"memory check: {memory}", flush=True)

    rows = []  # (implementation, wall seconds, CPU seconds of all threads, note)

    def timed(name, fn, repeat, note=lambda t: ""):
        seconds = best_of(fn, repeat)
        rows.append((name, seconds, CPU_TIMES[fn], note(seconds)))
        print(f"{name}: {seconds * 1e3:.1f} ms (CPU {CPU_TIMES[fn] * 1e3:.1f} ms) {note(seconds)}", flush=True)
        return seconds

    t_ours = timed("shoprec pearson_neighbours, Pearson, all cores", lambda: pearson_neighbours(ratings, K),
                   args.repeat, lambda t: "reference")
    timed("shoprec pearson_neighbours, Pearson, 1 thread", lambda: pearson_neighbours(ratings, K, num_threads=1),
          args.repeat)
    t_cos = timed("shoprec pearson_neighbours, cosine, all cores",
                  lambda: pearson_neighbours(ratings, K, similarity="cosine"), args.repeat)
    timed("scipy sparse products + numpy top-k (same Pearson)", lambda: scipy_pearson_top_k(ratings, K),
          args.repeat, lambda t: f"{t / t_ours:.1f}x")
    try:
        import warnings

        from implicit.nearest_neighbours import CosineRecommender

        def fit_implicit():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # its "expects CSR" warning about its own COO
                CosineRecommender(K=K).fit(ratings, show_progress=False)  # users x items in implicit 0.7

        fit_implicit()
        timed("implicit CosineRecommender(K=50).fit (cosine)", fit_implicit, args.repeat,
              lambda t: f"{t / t_ours:.2f}x vs our Pearson, {t / t_cos:.2f}x vs our cosine")
    except ImportError:
        rows.append(("implicit CosineRecommender(K=50).fit", float("nan"), float("nan"), "not installed"))
    if not args.skip_surprise:
        try:
            timed("scikit-surprise similarities.pearson (dense n x n, no top-k)", surprise_pearson(ratings), 1,
                  lambda t: f"{t / t_ours:.0f}x")
        except ImportError:
            rows.append(("scikit-surprise similarities.pearson", float("nan"), float("nan"), "not installed"))

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    lines = [
        "## pearson_neighbours",
        "",
        f"`python benches/peers_pearson.py --write` (ml-latest-small, {ratings.shape[0]} users x {n_items} "
        f"items, {ratings.nnz} ratings; item-item, top {K}; best of {args.repeat}, surprise once; "
        f"{platform.machine()}, {os.cpu_count()} cores; load average {load:.1f} at the end of the run)",
        "",
        "| implementation | wall time | CPU time (all threads) | peer wall time / shoprec Pearson wall time |",
        "|---|---|---|---|",
    ]

    def shown(seconds):
        if seconds != seconds:
            return "n/a"
        return f"{seconds:.2f} s" if seconds >= 10 else f"{seconds * 1e3:.1f} ms"

    for name, seconds, cpu, note in rows:
        lines.append(f"| {name} | {shown(seconds)} | {shown(cpu)} | {note} |")
    lines += [
        "",
        f"Result check: shoprec's top-{K} values equal the scipy version's in {agree_rows} of {n_items} rows "
        "(rows can differ only by ties at the k-th place).",
        "",
        "Targets: >= 10x faster than surprise, >= 5x faster than scipy products, no slower than implicit.",
        "",
        "The machine is shared (other builds and benchmarks may run; see the load average above): the wall "
        "time of a multi-threaded run then includes waiting for a core, so the CPU column is the steadier "
        "measure of work." + cpu_note(rows),
    ]
    if memory:
        lines += [
            "",
            f"Memory: {memory['items']} items, {memory['users']} users, {memory['ratings']} generated ratings "
            f"(Zipf-like popularity, log-normal user activity), in a child process: {memory['seconds']:.2f} s; "
            f"peak RSS of the whole Python process during the call {memory['call_peak_mib']:.0f} MiB "
            f"(RSS before the call {memory['rss_before_mib']:.0f} MiB: Python, numpy, scipy and the input; "
            f"peak while loading the input {memory['load_peak_mib']:.0f} MiB). Target: < 2 GB.",
        ]
    text = "\n".join(lines)
    print()
    print(text)
    if args.write:
        sys.path.insert(0, HERE)
        from peers_topk import replace_section

        path = os.path.join(HERE, "RESULTS.md")
        replace_section(path, "pearson_neighbours", text + kept_scale_block(path))


def kept_scale_block(path: str) -> str:
    """The shop-scale block that peers_pearson_scale.py writes inside this section, so that
    rewriting the section keeps it ('' if there is none)."""
    begin, end = "<!-- BEGIN pearson_neighbours_scale -->", "<!-- END pearson_neighbours_scale -->"
    text = open(path, encoding="utf-8").read() if os.path.exists(path) else ""
    if begin not in text or end not in text:
        return ""
    return "\n\n" + begin + text.split(begin, 1)[1].split(end, 1)[0] + end


if __name__ == "__main__":
    sys.exit(main())
