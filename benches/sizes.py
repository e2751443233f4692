"""Workload sizes shared by the criterion benches (rust/core/benches/kernels.rs) and the
pytest-benchmark ones (benches/bench_kernels_*.py).

Timed (``pytest benches --benchmark-enable``), the Python benches run the ``FULL`` sizes, the
very ones criterion runs, so the two timings of a kernel differ only by the cost of crossing
from Python (argument checks, conversions, the GIL release). In the ordinary test run
(benchmarks disabled) they smoke-run at the ``SMOKE`` sizes. ``tests/test_bench_sizes.py``
checks that kernels.rs still uses these numbers.
"""

FULL = {
    "top_k": {"rows": 1024, "cols": 100_000, "k": 10},
    "pearson": {"users": 20_000, "items": 10_000, "ratings": 400_000, "k": 50},
    "kmeans": {"n": 100_000, "d": 64, "k": 20},
    "median": {"n": 1_000_000, "windows": (5, 31, 101, 1001)},
    "median_groups": {"series": 10_000, "length": 365, "window": 7},
    "hampel": {"n": 1_000_000, "window": 31},
}

SMOKE = {
    "top_k": {"rows": 256, "cols": 20_000, "k": 10},
    "pearson": {"users": 2000, "items": 1500, "ratings": 40_000, "k": 50},
    "kmeans": {"n": 5000, "d": 16, "k": 8},
    "median": {"n": 100_000, "windows": (5, 31, 101, 1001)},
    "median_groups": {"series": 1000, "length": 365, "window": 7},
    "hampel": {"n": 100_000, "window": 31},
}
