"""shoprec.kernels.pearson_neighbours against dense references written here (and sklearn)."""

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.metrics.pairwise import cosine_similarity

import shoprec
from shoprec.kernels import pearson_neighbours

SIMILARITIES = ["pearson", "cosine", "adjusted_cosine", "cosine_corated"]


def dense_reference(matrix, similarity, axis="items", min_support=1, shrinkage=0.0):
    """All similarities as a dense float64 array, NaN where a pair has none (self, no or too
    few co-raters). Plain loops over pairs with two-pass means: slow and obviously right."""
    csr = sp.csr_matrix(matrix, dtype=np.float64, copy=True)
    csr.sum_duplicates()
    values = csr.toarray()
    rated = sp.csr_matrix((np.ones(csr.nnz), csr.indices, csr.indptr), shape=csr.shape).toarray() > 0
    if similarity == "adjusted_cosine":
        # Centre every rating on the mean of its rater (users for items, items for users).
        rater_axis = 1 if axis == "items" else 0
        counts = rated.sum(axis=rater_axis)
        sums = np.where(rated, values, 0.0).sum(axis=rater_axis)
        means = np.divide(sums, counts, out=np.zeros_like(sums), where=counts > 0)
        means = means[:, None] if axis == "items" else means[None, :]
        values = np.where(rated, values - means, 0.0)
    if axis == "items":
        values, rated = values.T, rated.T
    n = values.shape[0]
    norms = np.sqrt((values**2).sum(axis=1))
    out = np.full((n, n), np.nan)
    for a in range(n):
        for b in range(n):
            common = rated[a] & rated[b]
            count = int(common.sum())
            if a == b or count == 0 or count < min_support:
                continue
            x, y = values[a, common], values[b, common]
            if similarity == "pearson":
                dx, dy = x - x.mean(), y - y.mean()
                denom = np.sqrt((dx @ dx) * (dy @ dy))
                s = (dx @ dy) / denom if denom > 1e-9 else 0.0
            elif similarity == "cosine_corated":
                denom = np.sqrt((x @ x) * (y @ y))
                s = (x @ y) / denom if denom > 0 else 0.0
            else:
                denom = norms[a] * norms[b]
                s = (x @ y) / denom if denom > 0 else 0.0
            out[a, b] = s * count / (count + shrinkage)
    return out


def check_neighbours(result, reference, k, tol=1e-5):
    """`result` is a valid top-k of `reference` (dense, NaN = no similarity): right values,
    documented order, and no better neighbour left out. Near-zero reference values may or may
    not be stored (rounding noise either way)."""
    assert sp.isspmatrix_csr(result) and result.dtype == np.float32
    n = reference.shape[0]
    assert result.shape == (n, n)
    assert not np.isnan(result.data).any()
    ref = np.where(np.isnan(reference), 0.0, reference)
    for a in range(n):
        lo, hi = result.indptr[a], result.indptr[a + 1]
        cols, vals = result.indices[lo:hi], result.data[lo:hi]
        assert len(cols) <= k and a not in cols and len(set(cols.tolist())) == len(cols)
        assert np.all(vals != 0)
        # Similarity descending, ties by the lower column.
        for j in range(len(cols) - 1):
            assert vals[j] > vals[j + 1] or (vals[j] == vals[j + 1] and cols[j] < cols[j + 1])
        np.testing.assert_allclose(vals, ref[a, cols], atol=tol)
        assert not np.isnan(reference[a, cols]).any()
        significant = np.flatnonzero(np.abs(ref[a]) > 1e-6)
        if len(cols) < k:
            assert set(significant.tolist()) <= set(cols.tolist())
        else:
            left_out = np.setdiff1d(significant, cols)
            assert np.all(ref[a, left_out] <= vals[-1] + tol)


def random_ratings(rng, n_users, n_items, density, half_stars=True):
    m = sp.random(n_users, n_items, density=density, random_state=rng, format="csr")
    m.data = np.ceil(m.data * 10) / 2 if half_stars else m.data * 5
    return m


@pytest.mark.parametrize("similarity", SIMILARITIES)
@pytest.mark.parametrize("axis", ["items", "users"])
def test_matches_dense_reference(rng, similarity, axis):
    m = random_ratings(rng, 40, 25, 0.3)
    for k, min_support, shrinkage in [(100, 1, 0.0), (5, 1, 0.0), (3, 3, 2.5)]:
        got = pearson_neighbours(m, k, axis=axis, similarity=similarity,
                                 min_support=min_support, shrinkage=shrinkage)
        want = dense_reference(m, similarity, axis, min_support, shrinkage)
        check_neighbours(got, want, k)


@pytest.mark.parametrize("axis", ["items", "users"])
def test_cosines_equal_sklearn(rng, axis):
    m = random_ratings(rng, 50, 30, 0.2, half_stars=False)
    entities = m.T.tocsr() if axis == "items" else m
    want = cosine_similarity(entities)
    np.fill_diagonal(want, 0.0)
    got = pearson_neighbours(m, 1000, axis=axis, similarity="cosine").toarray()
    np.testing.assert_allclose(got, want, atol=1e-6)

    # Adjusted cosine: sklearn's cosine of the matrix centred on each rater's mean.
    centred = m.tocsr(copy=True) if axis == "items" else m.T.tocsr()
    counts = np.diff(centred.indptr)
    means = np.add.reduceat(centred.data, centred.indptr[:-1]) / np.maximum(counts, 1)
    means[counts == 0] = 0.0
    centred.data -= np.repeat(means, counts)
    want = cosine_similarity(centred.T)
    np.fill_diagonal(want, 0.0)
    got = pearson_neighbours(m, 1000, axis=axis, similarity="adjusted_cosine").toarray()
    np.testing.assert_allclose(got, want, atol=1e-6)


def test_bad_arguments():
    m = sp.csr_matrix(np.eye(3))
    with pytest.raises(shoprec.InvalidArgumentError, match="k"):
        pearson_neighbours(m, 0)
    with pytest.raises(shoprec.InvalidArgumentError, match="similarity"):
        pearson_neighbours(m, similarity="jaccard")
    with pytest.raises(shoprec.InvalidArgumentError, match="axis"):
        pearson_neighbours(m, axis="rows")
    with pytest.raises(shoprec.InvalidArgumentError, match="shrinkage"):
        pearson_neighbours(m, shrinkage=-1.0)
    bad = m.copy()
    bad.data[0] = np.nan
    with pytest.raises(shoprec.InvalidArgumentError, match="matrix"):
        pearson_neighbours(bad)
