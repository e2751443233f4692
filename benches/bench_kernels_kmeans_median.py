"""pytest-benchmark workloads of kmeans, median_filter and hampel through Python (the same
kernels as the criterion benches in rust/core/benches/kernels.rs, at smoke-test sizes).

A normal test run only smoke-runs these (``--benchmark-disable``); time them with
``python -m pytest benches/bench_kernels_kmeans_median.py --benchmark-enable``.
"""

import numpy as np
import pytest

from shoprec.kernels import hampel, kmeans, median_filter

pytest.importorskip("pytest_benchmark")


@pytest.fixture(scope="module")
def rows():
    rng = np.random.default_rng(3)
    centres = rng.normal(scale=1.5, size=(8, 16))
    return (centres[rng.integers(0, 8, 5000)] + rng.normal(size=(5000, 16))).astype(np.float32)


@pytest.fixture(scope="module")
def series():
    return np.random.default_rng(4).normal(size=100_000)


def test_kmeans_5000x16_k8(benchmark, rows):
    init = rows[:8].copy()
    fit = benchmark(kmeans, rows, 8, init=init)
    assert fit.labels.shape == (5000,) and fit.n_iter >= 1


def test_kmeans_predict(benchmark, rows):
    fit = kmeans(rows, 8, seed=1)
    labels = benchmark(fit.predict, rows)
    np.testing.assert_array_equal(labels, fit.labels)


@pytest.mark.parametrize("window", [5, 31, 101, 1001])
def test_median_filter_100000(benchmark, series, window):
    out = benchmark(median_filter, series, window)
    assert out.shape == series.shape


def test_median_filter_groups_1000x365(benchmark):
    x = np.random.default_rng(5).normal(size=1000 * 365)
    groups = np.arange(0, 1001) * 365
    out = benchmark(median_filter, x, 7, groups=groups)
    assert out.shape == x.shape


def test_hampel_100000(benchmark, series):
    cleaned, flags = benchmark(hampel, series, 31)
    assert cleaned.shape == series.shape and flags.dtype == np.bool_
