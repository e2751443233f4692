"""The Dask path against one process (issue 11): item-item neighbours of a generated shop.

    PYTHONPATH=python python benches/dask_scaleout.py [--interactions 5000000] [--workers 2]

Needs dask[distributed] (``pip install '.[dask]'``); skips cleanly (exit 0) without it. The
same matrix goes to ``shoprec.kernels.pearson_neighbours`` in this process (all cores, then
one thread) and to ``shoprec.distributed.pearson_neighbours`` on a ``LocalCluster`` of
``--workers`` worker processes with one thread each; the results must be identical. Peak
memory is each process's maximum resident set (VmHWM), which includes the Python interpreter
and the libraries (about 100-150 MB).
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time

import numpy as np


def peak_mb() -> float:
    """This process's peak resident memory: VmHWM (ru_maxrss would include the high-water
    mark of the process that started a worker, which execve keeps)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--interactions", type=int, default=5_000_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--k", type=int, default=100)
    args = parser.parse_args()
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError as exc:
        print(f"skipped: dask.distributed cannot be imported ({exc}; pip install '.[dask]')")
        return 0
    import scipy.sparse as sp

    from shoprec import distributed
    from shoprec.kernels import pearson_neighbours

    rng = np.random.default_rng(7)
    n = args.interactions
    n_users, n_items = max(n // 50, 1), 20_000
    users = rng.integers(0, n_users, n)
    items = (rng.random(n) ** 3 * n_items).astype(np.int64)  # a long tail, as in a shop
    ratings = rng.integers(1, 11, n) / 2.0
    matrix = sp.csr_matrix((ratings, (users, items)), shape=(n_users, n_items))
    matrix.sum_duplicates()
    print(f"{matrix.nnz} interactions, {n_users} users, {n_items} items; k={args.k}; "
          f"load {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores", flush=True)
    kw = dict(similarity="pearson", shrinkage=25.0)

    start = time.perf_counter()
    want = pearson_neighbours(matrix, args.k, num_threads=0, **kw)
    all_cores = time.perf_counter() - start
    start = time.perf_counter()
    pearson_neighbours(matrix, args.k, num_threads=1, **kw)
    one_thread = time.perf_counter() - start
    local_peak = peak_mb()
    print(f"one process: {all_cores:.2f} s (all cores), {one_thread:.2f} s (1 thread); "
          f"peak {local_peak:.0f} MB", flush=True)

    with LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        client.run(lambda: None)
        start = time.perf_counter()
        # The default: one task per worker thread, each computing the pairs of its share once.
        got = distributed.pearson_neighbours(matrix, client, args.k, num_threads=1, **kw)
        elapsed = time.perf_counter() - start
        worker_peaks = client.run(peak_mb)
    same = (np.array_equal(got.indptr, want.indptr) and np.array_equal(got.indices, want.indices)
            and np.array_equal(got.data, want.data))
    print(f"dask, {args.workers} workers x 1 thread, one task per worker: {elapsed:.2f} s; "
          f"peak per worker {', '.join(f'{v:.0f} MB' for v in worker_peaks.values())}; identical: {same}")
    print()
    print("| run | time | vs one process, all cores | peak memory |")
    print("|---|---:|---:|---|")
    print(f"| one process, all cores | {all_cores:.2f} s | 1.00x | {local_peak:.0f} MB (the process) |")
    print(f"| one process, 1 thread | {one_thread:.2f} s | {all_cores / one_thread:.2f}x | |")
    print(f"| dask LocalCluster, {args.workers} workers x 1 thread | {elapsed:.2f} s | {all_cores / elapsed:.2f}x | "
          f"{' / '.join(f'{v:.0f} MB' for v in worker_peaks.values())} per worker |")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
