"""shoprec.kernels.top_k against a full numpy sort."""

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import shoprec
from shoprec.kernels import top_k


def reference(scores, k, include=None, exclude=None):
    """Full stable sort by (-score, id) over the allowed, non-NaN candidates of every row."""
    scores = np.atleast_2d(np.asarray(scores, dtype=np.float64))
    n_rows, n_cols = scores.shape
    ids = np.full((n_rows, k), -1, np.int32)
    vals = np.full((n_rows, k), -np.inf, np.float32)
    for r in range(n_rows):
        allowed = np.ones(n_cols, bool)
        for filt, keep in ((include, True), (exclude, False)):
            if filt is None:
                continue
            row = np.zeros(n_cols, bool)
            if sp.issparse(filt) or np.ndim(filt) == 2:
                row[np.flatnonzero(np.asarray(sp.csr_matrix(filt)[r].todense()).ravel())] = True
            else:
                row[np.asarray(filt, dtype=np.int64)] = True
            allowed &= row if keep else ~row
        cand = np.flatnonzero(allowed & ~np.isnan(scores[r]))
        order = cand[np.lexsort((cand, -scores[r, cand]))][:k]
        ids[r, : len(order)] = order
        vals[r, : len(order)] = scores[r, order]
    return ids, vals


def assert_same(got, want):
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[1], want[1])


def test_example_with_ties_nan_and_padding():
    ids, vals = top_k(np.array([0.5, np.nan, 2.0, 2.0, -np.inf]), 6)
    assert ids.tolist() == [2, 3, 0, 4, -1, -1]
    assert vals.dtype == np.float32 and vals[3] == -np.inf and vals[5] == -np.inf


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64])
def test_matches_sort_on_random_matrix(rng, dtype):
    scores = (rng.integers(0, 50, size=(40, 300))).astype(dtype)
    assert_same(top_k(scores, 10, num_threads=2), reference(scores, 10))


def test_filters_global_and_per_row(rng):
    scores = rng.random((30, 200))
    include = rng.choice(200, 80, replace=False)
    exclude = rng.choice(200, 40, replace=False)
    assert_same(top_k(scores, 7, include=include, exclude=exclude), reference(scores, 7, include, exclude))
    mask = sp.random(30, 200, density=0.2, random_state=1, format="csr")
    assert_same(top_k(scores, 7, exclude=mask), reference(scores, 7, exclude=mask))
    assert_same(top_k(scores, 7, include=mask), reference(scores, 7, include=mask))
    dense_mask = mask.toarray() > 0
    assert_same(top_k(scores, 7, include=dense_mask, exclude=exclude), reference(scores, 7, dense_mask, exclude))


def test_non_contiguous_and_transposed_inputs_are_read_correctly(rng):
    base = rng.random((50, 60))
    for view in (base[::2], base.T, base[:, ::3], np.asfortranarray(base)):
        assert_same(top_k(view, 5), reference(view, 5))


def test_k_larger_than_catalog_pads():
    ids, vals = top_k(np.array([[1.0, 2.0], [np.nan, np.nan]]), 4)
    assert ids.tolist() == [[1, 0, -1, -1], [-1, -1, -1, -1]]
    assert np.isneginf(vals[1]).all()


def test_empty_rows_and_columns():
    ids, vals = top_k(np.zeros((0, 5)), 3)
    assert ids.shape == (0, 3)
    ids, vals = top_k(np.zeros((2, 0)), 3)
    assert (ids == -1).all()


@pytest.mark.parametrize(
    "kwargs, error",
    [
        (dict(scores=[1.0], k=0), shoprec.InvalidArgumentError),
        (dict(scores=[1.0], k=1.5), shoprec.DTypeError),
        (dict(scores=[1.0], k=True), shoprec.DTypeError),
        (dict(scores=np.zeros((2, 2, 2)), k=1), shoprec.DTypeError),
        (dict(scores=["a", "b"], k=1), shoprec.DTypeError),
        (dict(scores=[1.0, 2.0], k=1, exclude=[2]), shoprec.InvalidArgumentError),
        (dict(scores=[1.0, 2.0], k=1, include=[-1]), shoprec.InvalidArgumentError),
        (dict(scores=[1.0, 2.0], k=1, include=["x"]), shoprec.DTypeError),
        (dict(scores=np.zeros((2, 3)), k=1, exclude=sp.eye(3, format="csr")), shoprec.ShapeMismatchError),
        (dict(scores=[1.0], k=1, num_threads=-1), shoprec.InvalidArgumentError),
    ],
)
def test_bad_input_raises_named_errors(kwargs, error):
    with pytest.raises(error):
        top_k(**kwargs)


@settings(max_examples=60, deadline=None)
@given(
    scores=hnp.arrays(
        np.float64,
        hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=12),
        elements=st.one_of(st.sampled_from([0.0, 1.0, np.nan, -np.inf, np.inf]), st.floats(-3, 3)),
    ),
    k=st.integers(1, 15),
    data=st.data(),
)
def test_hypothesis_against_sort(scores, k, data):
    n_cols = scores.shape[1]
    exclude = data.draw(st.lists(st.integers(0, n_cols - 1), max_size=n_cols))
    view = scores[:, ::-1]  # a negative-stride view
    assert_same(top_k(view, k, exclude=np.array(exclude, dtype=np.int64)), reference(view, k, exclude=exclude))
