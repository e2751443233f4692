"""shoprec.kernels.pearson_neighbours against dense references written here (and sklearn)."""

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
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


def test_known_small_example():
    # Items 0 and 1 move together over users 0..2, item 2 against them; item 3 has one rating.
    m = sp.csr_matrix(np.array([[1.0, 2.0, 5.0, 0.0], [2.0, 3.0, 4.0, 1.0], [3.0, 4.0, 1.0, 0.0]]))
    m.eliminate_zeros()
    got = pearson_neighbours(m, 5)
    assert got[0].indices.tolist() == [1, 2]
    np.testing.assert_allclose(got[0].data, [1.0, -0.9607689], rtol=1e-6)
    assert got[3].nnz == 0  # one co-rater: zero variance, no similarity stored
    assert pearson_neighbours(m, 5, min_support=4).nnz == 0
    np.testing.assert_allclose(pearson_neighbours(m, 5, shrinkage=3.0)[0].data, [0.5, -0.48038447], rtol=1e-6)


def test_explicit_zeros_are_ratings():
    # The explicit zero makes user 1 a co-rater of items 0 and 1 (cosine_corated and Pearson
    # then see three co-ratings instead of two).
    dense = np.array([[1.0, 2.0], [0.0, 5.0], [3.0, 1.0]])
    stored = sp.csr_matrix(dense)
    assert stored.nnz == 5
    stored = sp.csr_matrix((np.array([1.0, 2.0, 0.0, 5.0, 3.0, 1.0]),
                            np.array([0, 1, 0, 1, 0, 1]), np.array([0, 2, 4, 6])), shape=(3, 2))
    for similarity in ("pearson", "cosine_corated"):
        with_zero = pearson_neighbours(stored, 1, similarity=similarity)
        without = pearson_neighbours(sp.csr_matrix(dense), 1, similarity=similarity)
        check_neighbours(with_zero, dense_reference(stored, similarity), 1)
        check_neighbours(without, dense_reference(sp.csr_matrix(dense), similarity), 1)
        assert with_zero[0, 1] != without[0, 1]


def test_output_order_and_scipy_acceptance(rng):
    m = random_ratings(rng, 60, 40, 0.25)
    got = pearson_neighbours(m, 7, similarity="cosine")
    assert got.has_sorted_indices is False or got.has_sorted_indices == 0
    for a in range(got.shape[0]):
        vals = got.data[got.indptr[a]:got.indptr[a + 1]]
        assert np.all(np.diff(vals) <= 0)
    # scipy works with the unsorted rows, and sorting them gives the same matrix.
    dense = got.toarray()
    canonical = got.copy()
    canonical.sort_indices()
    np.testing.assert_array_equal(canonical.toarray(), dense)
    np.testing.assert_allclose((got @ np.ones(40)), dense.sum(axis=1), rtol=1e-5)


def test_same_answer_for_every_input_form_and_thread_count(rng):
    m = random_ratings(rng, 30, 20, 0.3)
    want = pearson_neighbours(m, 4)
    coo = m.tocoo()
    # COO with every entry split into two halves (duplicates are summed, as scipy does).
    doubled = sp.coo_matrix((np.r_[coo.data / 2, coo.data / 2], (np.r_[coo.row, coo.row], np.r_[coo.col, coo.col])),
                            shape=m.shape)
    inputs = [m.tocsc(), coo, doubled, sp.csr_array(m), (m.data, m.indices, m.indptr), m.T.T]
    for form in inputs:
        got = pearson_neighbours(form, 4)
        np.testing.assert_array_equal(got.indptr, want.indptr)
        np.testing.assert_array_equal(got.indices, want.indices)
        np.testing.assert_allclose(got.data, want.data, rtol=1e-6)
    # The transpose's user-user neighbours are the item-item neighbours.
    by_users = pearson_neighbours(m.T, 4, axis="users")
    np.testing.assert_array_equal(by_users.indices, want.indices)
    np.testing.assert_array_equal(by_users.data, want.data)
    for threads in (1, 2, 3):
        got = pearson_neighbours(m, 4, num_threads=threads)
        np.testing.assert_array_equal(got.indices, want.indices)
        np.testing.assert_array_equal(got.data, want.data)


def test_canonical_csr_is_read_in_place_and_left_unchanged(rng):
    """A canonical float64 CSR is passed to the kernel without a copy; the answer equals that of
    the same ratings in a non-canonical CSR (unsorted columns), and neither input changes."""
    m = random_ratings(rng, 40, 25, 0.3)
    assert m.has_canonical_format and m.dtype == np.float64
    before = (m.data.copy(), m.indices.copy(), m.indptr.copy())
    want_reference = dense_reference(m, "pearson")
    got = pearson_neighbours(m, 5)
    check_neighbours(got, want_reference, 5)
    for array, saved in zip((m.data, m.indices, m.indptr), before):
        np.testing.assert_array_equal(array, saved)
    # The same rows with their columns reversed: not canonical, converted first.
    order = np.concatenate([np.arange(lo, hi)[::-1] for lo, hi in zip(m.indptr[:-1], m.indptr[1:])])
    shuffled = sp.csr_matrix((m.data[order], m.indices[order], m.indptr), shape=m.shape)
    shuffled.has_sorted_indices = False
    kept = shuffled.indices.copy()
    other = pearson_neighbours(shuffled, 5)
    np.testing.assert_array_equal(other.indices, got.indices)
    np.testing.assert_array_equal(other.data, got.data)
    np.testing.assert_array_equal(shuffled.indices, kept)


def test_degenerate_shapes():
    for shape in [(0, 0), (0, 5), (5, 0), (1, 1)]:
        for axis in ("items", "users"):
            n = shape[1] if axis == "items" else shape[0]
            got = pearson_neighbours(sp.csr_matrix(shape), 3, axis=axis)
            assert got.shape == (n, n) and got.nnz == 0
    # A single user: every item pair has one co-rater, zero variance for Pearson.
    one_user = sp.csr_matrix(np.array([[1.0, 2.0, 3.0]]))
    assert pearson_neighbours(one_user, 2).nnz == 0
    got = pearson_neighbours(one_user, 2, similarity="cosine_corated")
    assert got.nnz == 6 and np.allclose(got.data, 1.0)
    # All-equal ratings: zero variance everywhere, and the adjusted cosine centres them to 0.
    flat = sp.csr_matrix(np.full((4, 3), 4.0))
    for similarity in ("pearson", "adjusted_cosine"):
        assert pearson_neighbours(flat, 2, similarity=similarity).nnz == 0
    np.testing.assert_allclose(pearson_neighbours(flat, 5, similarity="cosine").data, 1.0, rtol=1e-6)
    # k larger than the number of neighbours.
    m = sp.csr_matrix(np.array([[1.0, 2.0, 0.5], [2.0, 1.0, 1.5], [3.0, 3.0, 0.0]]))
    got = pearson_neighbours(m, 1000, similarity="cosine")
    assert np.diff(got.indptr).tolist() == [2, 2, 2]


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(k=0), shoprec.InvalidArgumentError, "k"),
        (dict(k=-3), shoprec.InvalidArgumentError, "k"),
        (dict(k=2.5), shoprec.DTypeError, "k"),
        (dict(similarity="jaccard"), shoprec.InvalidArgumentError, "similarity"),
        (dict(similarity=None), shoprec.InvalidArgumentError, "similarity"),
        (dict(axis="rows"), shoprec.InvalidArgumentError, "axis"),
        (dict(shrinkage=-1.0), shoprec.InvalidArgumentError, "shrinkage"),
        (dict(shrinkage=float("nan")), shoprec.InvalidArgumentError, "shrinkage"),
        (dict(shrinkage=float("inf")), shoprec.InvalidArgumentError, "shrinkage"),
        (dict(min_support=-1), shoprec.InvalidArgumentError, "min_support"),
        (dict(min_support=1.5), shoprec.DTypeError, "min_support"),
        (dict(num_threads=-1), shoprec.InvalidArgumentError, "num_threads"),
    ],
)
def test_bad_arguments_table(kwargs, error, match):
    m = sp.csr_matrix(np.eye(3))
    with pytest.raises(error, match=match):
        pearson_neighbours(m, **kwargs)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_ratings_are_refused(bad):
    m = sp.csr_matrix(np.eye(3))
    m.data[1] = bad
    with pytest.raises(shoprec.InvalidArgumentError, match="matrix"):
        pearson_neighbours(m)


def test_bad_matrix_inputs():
    with pytest.raises(shoprec.DTypeError, match="matrix"):
        pearson_neighbours(np.eye(3))
    with pytest.raises(shoprec.DTypeError, match="matrix"):
        pearson_neighbours("ratings")
    with pytest.raises(shoprec.DTypeError, match="matrix"):
        pearson_neighbours(sp.csr_matrix(np.array([[1, 0], [0, 1]]).astype(np.complex128)))
    # Booleans are weights like any other number (implicit feedback).
    implicit = sp.csr_matrix(np.array([[True, True], [True, False]]))
    np.testing.assert_allclose(pearson_neighbours(implicit, similarity="cosine").data, [0.7071068] * 2)


def test_rust_side_refuses_bad_csr_on_its_own():
    # Bypass the Python checks: the core must refuse, not read out of bounds.
    from shoprec import _core

    indptr, indices, data = np.array([0, 2], np.int64), np.array([1, 0], np.int32), np.ones(2)
    with pytest.raises(shoprec.InvalidArgumentError, match="matrix"):
        _core.pearson_neighbours(indptr, indices, data, 1, 2, 1, "items", "pearson", 1, 0.0)
    with pytest.raises(shoprec.InvalidArgumentError, match="matrix"):
        _core.pearson_neighbours(indptr, np.array([0, 7], np.int32), data, 1, 2, 1, "items", "pearson", 1, 0.0)
    with pytest.raises(shoprec.InvalidArgumentError, match="similarity"):
        _core.pearson_neighbours(indptr, np.array([0, 1], np.int32), data, 1, 2, 1, "items", "nope", 1, 0.0)


# Half-star ratings from -5 to 5, zero included (stored zeros are ratings): sums stay exact
# enough that the reference's and the kernel's zero variances agree.
ratings_values = st.integers(-10, 10).map(lambda v: v / 2.0)


@st.composite
def coo_ratings(draw):
    n_users = draw(st.integers(0, 7))
    n_items = draw(st.integers(0, 7))
    if n_users == 0 or n_items == 0:
        return sp.coo_matrix((n_users, n_items))
    n = draw(st.integers(0, 2 * n_users * n_items))
    rows = draw(st.lists(st.integers(0, n_users - 1), min_size=n, max_size=n))
    cols = draw(st.lists(st.integers(0, n_items - 1), min_size=n, max_size=n))
    vals = draw(st.lists(ratings_values, min_size=n, max_size=n))
    # Duplicated (row, col) pairs are summed by scipy: the reference sees the same sums.
    return sp.coo_matrix((np.array(vals, dtype=np.float64), (np.array(rows, dtype=np.int64), np.array(cols, dtype=np.int64))),
                         shape=(n_users, n_items))


@settings(max_examples=150, deadline=None)
@given(
    m=coo_ratings(),
    k=st.integers(1, 8),
    axis=st.sampled_from(["items", "users"]),
    similarity=st.sampled_from(SIMILARITIES),
    min_support=st.integers(0, 3),
    shrinkage=st.sampled_from([0.0, 0.5, 4.0]),
)
def test_hypothesis_against_reference(m, k, axis, similarity, min_support, shrinkage):
    got = pearson_neighbours(m, k, axis=axis, similarity=similarity, min_support=min_support, shrinkage=shrinkage)
    check_neighbours(got, dense_reference(m, similarity, axis, min_support, shrinkage), k)
    # The transposed input with the other axis is the same computation.
    other = "users" if axis == "items" else "items"
    again = pearson_neighbours(m.T, k, axis=other, similarity=similarity, min_support=min_support, shrinkage=shrinkage)
    np.testing.assert_array_equal(again.indices, got.indices)
    np.testing.assert_array_equal(again.data, got.data)


def test_agrees_with_surprise_similarities(rng):
    """surprise's `pearson` is our "pearson" and its `cosine` our "cosine_corated" (dense, with
    0 where a pair has no similarity and 1 on the diagonal)."""
    sims = pytest.importorskip("surprise.similarities")
    m = random_ratings(rng, 40, 30, 0.3)
    coo = m.tocoo()
    by_user = {}
    for u, i, r in zip(coo.row.tolist(), coo.col.tolist(), coo.data.tolist()):
        by_user.setdefault(u, []).append((i, r))
    for ours, theirs in (("pearson", sims.pearson), ("cosine_corated", sims.cosine)):
        want = theirs(m.shape[1], by_user, 2)  # item-item: n_x = items, yr = each user's ratings
        np.fill_diagonal(want, np.nan)
        want[want == 0] = np.nan
        check_neighbours(pearson_neighbours(m, 6, similarity=ours, min_support=2), want, 6)


def test_huge_k_is_fine(rng):
    m = random_ratings(rng, 20, 10, 0.5)
    want = pearson_neighbours(m, 9, similarity="cosine")
    got = pearson_neighbours(m, 10**12, similarity="cosine")
    np.testing.assert_array_equal(got.indices, want.indices)
    np.testing.assert_array_equal(got.data, want.data)


def test_sliced_and_strided_inputs(rng):
    m = random_ratings(rng, 50, 30, 0.3)
    for view in (m[::2], m[:, ::2], m.T.tocsr()[::3].T, m.tocsc()[:, 1::2]):
        for similarity in SIMILARITIES:
            got = pearson_neighbours(view, 4, similarity=similarity)
            check_neighbours(got, dense_reference(view, similarity), 4)
