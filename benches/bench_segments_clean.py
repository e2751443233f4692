"""pytest-benchmark workloads for segments and cleaning (smoke-tested in a normal run; time them
with ``PYTHONPATH=python python -m pytest benches/bench_segments_clean.py --benchmark-enable``).
The side-by-side comparison with scikit-learn and pandas is ``benches/peers_segments_clean.py``."""

import numpy as np
import pytest

import shoprec
from shoprec import clean


@pytest.fixture(scope="module")
def shop():
    rng = np.random.default_rng(0)
    n_users, per_user, n_tastes, block = 5000, 20, 6, 200
    taste = rng.integers(0, n_tastes, n_users)
    items = taste[:, None] * block + rng.integers(0, block, (n_users, per_user))
    return shoprec.Interactions.from_arrays(np.repeat(np.arange(n_users), per_user), items.ravel())


def test_fit_segments(benchmark, shop):
    model = benchmark(lambda: shoprec.InterestSegments(6, n_components=16, seed=0).fit(shop))
    assert model.sizes.sum() == shop.n_users


def test_assign_one_history(benchmark, shop):
    model = shoprec.InterestSegments(6, n_components=16, seed=0).fit(shop)
    segment = benchmark(model.assign, [0, 1, 2, 3, 4])
    assert 0 <= segment < 6


def test_fix_outliers_many_series(benchmark):
    rng = np.random.default_rng(1)
    values = rng.poisson(30, 1000 * 365).astype(float)
    groups = np.arange(0, len(values) + 1, 365)
    cleaned, report = benchmark(clean.fix_outliers, values, 7, 3.0, groups=groups)
    assert report.n_in == len(cleaned) == len(values)
