"""pytest-benchmark: pearson_neighbours through Python, on generated ratings of the kind the
criterion bench uses (`cargo bench -p shoprec-core -- pearson`), at its size when timed
(benches/sizes.py).

    python -m pytest benches/bench_kernels_pearson.py --benchmark-enable
"""

import numpy as np
import pytest
import scipy.sparse as sp

from shoprec.kernels import pearson_neighbours


@pytest.fixture(scope="module")
def ratings(sizes):
    """Users x items half-star ratings with Zipf-like item popularity (20,000 x 10,000 and
    400,000 ratings when timed, as criterion)."""
    rng = np.random.default_rng(11)
    size = sizes["pearson"]
    n_users, n_items, n_ratings = size["users"], size["items"], size["ratings"]
    popularity = 1.0 / np.arange(1, n_items + 1) ** 0.8
    items = rng.choice(n_items, size=n_ratings, p=popularity / popularity.sum())
    users = rng.integers(0, n_users, size=n_ratings)
    m = sp.csr_matrix((rng.integers(1, 11, size=n_ratings) / 2.0, (users, items)), shape=(n_users, n_items))
    m.sum_duplicates()
    m.data = np.minimum(m.data, 5.0)
    return m


@pytest.mark.parametrize("similarity", ["pearson", "cosine"])
def test_item_item_top_50(benchmark, ratings, similarity, sizes):
    k = sizes["pearson"]["k"]
    result = benchmark(pearson_neighbours, ratings, k, similarity=similarity)
    assert result.shape == (ratings.shape[1],) * 2
    assert np.diff(result.indptr).max() <= k
    if similarity == "cosine":
        # Spot-check one row against a dense computation of that row.
        values = ratings.T.tocsr()
        norms = np.sqrt(values.multiply(values).sum(axis=1)).A.ravel()
        row = (values @ values[0].T).toarray().ravel() / (norms * norms[0])
        row[0] = 0.0
        want = np.lexsort((np.arange(len(row)), -row))[:k]
        got = result.indices[result.indptr[0]:result.indptr[1]]
        np.testing.assert_allclose(result.data[:len(got)], row[got], rtol=1e-5)
        np.testing.assert_allclose(np.sort(row[got]), np.sort(row[want][:len(got)]), rtol=1e-5)


def test_user_user_top_20(benchmark, ratings):
    result = benchmark(pearson_neighbours, ratings, 20, axis="users", min_support=3, shrinkage=10.0)
    assert result.shape == (ratings.shape[0],) * 2
