"""pytest-benchmark workloads of kmeans, median_filter and hampel through Python (the same
kernels as the criterion benches in rust/core/benches/kernels.rs, at their sizes when timed:
benches/sizes.py).

A normal test run only smoke-runs these (``--benchmark-disable``); time them with
``python -m pytest benches/bench_kernels_kmeans_median.py --benchmark-enable``.
"""

import numpy as np
import pytest

from shoprec.kernels import hampel, kmeans, median_filter

pytest.importorskip("pytest_benchmark")


@pytest.fixture(scope="module")
def rows(sizes):
    rng = np.random.default_rng(3)
    n, d, k = (sizes["kmeans"][key] for key in ("n", "d", "k"))
    centres = rng.normal(scale=1.5, size=(k, d))
    return (centres[rng.integers(0, k, n)] + rng.normal(size=(n, d))).astype(np.float32)


@pytest.fixture(scope="module")
def series(sizes):
    return np.random.default_rng(4).normal(size=sizes["median"]["n"])


def test_kmeans(benchmark, rows, sizes):
    k = sizes["kmeans"]["k"]
    init = rows[:k].copy()
    fit = benchmark(kmeans, rows, k, init=init)
    assert fit.labels.shape == (len(rows),) and fit.n_iter >= 1


def test_kmeans_predict(benchmark, rows, sizes):
    fit = kmeans(rows, sizes["kmeans"]["k"], seed=1)
    labels = benchmark(fit.predict, rows)
    np.testing.assert_array_equal(labels, fit.labels)


@pytest.mark.parametrize("window", [5, 31, 101, 1001])
def test_median_filter(benchmark, series, window, sizes):
    assert window in sizes["median"]["windows"]
    out = benchmark(median_filter, series, window)
    assert out.shape == series.shape


def test_median_filter_groups(benchmark, sizes):
    size = sizes["median_groups"]
    x = np.random.default_rng(5).normal(size=size["series"] * size["length"])
    groups = np.arange(0, size["series"] + 1) * size["length"]
    out = benchmark(median_filter, x, size["window"], groups=groups)
    assert out.shape == x.shape


def test_hampel(benchmark, series, sizes):
    cleaned, flags = benchmark(hampel, series, sizes["hampel"]["window"])
    assert cleaned.shape == series.shape and flags.dtype == np.bool_
