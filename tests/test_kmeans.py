"""shoprec.kernels.kmeans against scikit-learn's KMeans(algorithm="lloyd") and a numpy Lloyd."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import shoprec
from shoprec.kernels import KMeansResult, kmeans

sklearn_cluster = pytest.importorskip("sklearn.cluster")


def blobs(rng, n, d, k, spread=1.0, dtype=np.float64):
    centres = rng.normal(scale=4.0, size=(k, d))
    x = centres[rng.integers(0, k, n)] + rng.normal(scale=spread, size=(n, d))
    return x.astype(dtype)


class EmptyCluster(Exception):
    """Plain Lloyd has no rule for empty clusters."""


def numpy_lloyd(x, init, max_iter=300, tol=1e-4):
    """Plain Lloyd iterations in numpy with scikit-learn's stopping rules (no empty clusters)."""
    x = np.asarray(x, dtype=np.float64)
    centres = np.array(init, dtype=np.float64)
    tol = tol * np.mean(np.var(x, axis=0))
    labels = None
    strict = False
    for it in range(max_iter):
        dist = ((x[:, None, :] - centres[None, :, :]) ** 2).sum(-1)
        new_labels = dist.argmin(1)
        if len(np.unique(new_labels)) < len(centres):
            raise EmptyCluster
        new_centres = np.array([x[new_labels == j].mean(0) for j in range(len(centres))])
        shift = ((new_centres - centres) ** 2).sum()
        centres = new_centres
        if labels is not None and np.array_equal(labels, new_labels):
            labels, strict = new_labels, True
            break
        labels = new_labels
        if shift <= tol:
            break
    if not strict:
        labels = ((x[:, None, :] - centres[None, :, :]) ** 2).sum(-1).argmin(1)
    inertia = ((x - centres[labels]) ** 2).sum()
    return centres, labels, inertia, it + 1


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_matches_sklearn_from_the_same_centroids(rng, dtype):
    x = blobs(rng, 3000, 8, 6, dtype=dtype)
    init = x[rng.choice(len(x), 6, replace=False)]
    ours = kmeans(x, 6, init=init, num_threads=2)
    theirs = sklearn_cluster.KMeans(6, init=init, n_init=1, algorithm="lloyd").fit(x)
    assert ours.centroids.dtype == dtype
    assert ours.labels.dtype == np.int32
    np.testing.assert_array_equal(ours.labels, theirs.labels_)
    rtol = 1e-4 if dtype == np.float32 else 1e-9
    np.testing.assert_allclose(ours.centroids, theirs.cluster_centers_, rtol=rtol, atol=rtol)
    assert ours.inertia == pytest.approx(theirs.inertia_, rel=rtol)
    assert ours.n_iter == theirs.n_iter_


def test_overlapping_clusters_close_to_sklearn(rng):
    x = blobs(rng, 4000, 16, 10, spread=4.0, dtype=np.float32)
    init = x[rng.choice(len(x), 10, replace=False)]
    ours = kmeans(x, 10, init=init)
    theirs = sklearn_cluster.KMeans(10, init=init, n_init=1, algorithm="lloyd").fit(x)
    # Overlapping clusters: rounding can flip near-ties and nudge the path, so compare loosely.
    assert ours.inertia == pytest.approx(theirs.inertia_, rel=5e-3)
    assert np.mean(ours.labels == theirs.labels_) > 0.95


def test_matches_numpy_lloyd_and_labels_are_nearest(rng):
    x = blobs(rng, 500, 3, 4, spread=2.0)
    init = x[:4]
    ours = kmeans(x, 4, init=init, max_iter=7, tol=0.0)
    centres, labels, inertia, n_iter = numpy_lloyd(x, init, max_iter=7, tol=0.0)
    np.testing.assert_array_equal(ours.labels, labels)
    np.testing.assert_allclose(ours.centroids, centres, rtol=1e-10)
    assert ours.inertia == pytest.approx(inertia, rel=1e-10)
    assert ours.n_iter == n_iter
    # Labels are the nearest centroids of the returned centroids.
    dist = ((x[:, None, :] - ours.centroids[None]) ** 2).sum(-1)
    np.testing.assert_array_equal(ours.labels, dist.argmin(1))


def overlapping(rng, n, d, k, scale, dtype):
    """Unit noise around centres of spread `scale`: the clusters overlap heavily (as shopper
    profiles do), so every pass is a full one without bounds (the fused pass)."""
    centres = rng.normal(scale=scale, size=(k, d))
    return (centres[rng.integers(0, k, n)] + rng.normal(size=(n, d))).astype(dtype)


@pytest.mark.parametrize("scale", [0.35, 0.8])
def test_heavy_overlap_matches_numpy_lloyd(rng, scale):
    x = overlapping(rng, 3000, 16, 8, scale, np.float64)
    init = x[rng.choice(len(x), 8, replace=False)]
    ours = kmeans(x, 8, init=init, max_iter=40)
    centres, labels, inertia, n_iter = numpy_lloyd(x, init, max_iter=40)
    np.testing.assert_array_equal(ours.labels, labels)
    np.testing.assert_allclose(ours.centroids, centres, rtol=1e-9, atol=1e-12)
    assert ours.inertia == pytest.approx(inertia, rel=1e-9)
    assert ours.n_iter == n_iter


def test_heavy_overlap_float32_labels_are_nearest(rng):
    x = overlapping(rng, 6000, 24, 20, 0.35, np.float32)
    init = x[rng.choice(len(x), 20, replace=False)]
    ours = kmeans(x, 20, init=init, max_iter=30, num_threads=2)
    x64, centroids64 = x.astype(np.float64), ours.centroids.astype(np.float64)
    dist = ((x64[:, None, :] - centroids64[None]) ** 2).sum(-1)
    nearest = dist.argmin(1)
    # Float32 rounding may decide a near tie either way; any other row has its nearest centre.
    two = np.sort(dist, axis=1)[:, :2]
    clear = two[:, 1] - two[:, 0] > 1e-4 * two[:, 1]
    assert clear.mean() > 0.99
    np.testing.assert_array_equal(ours.labels[clear], nearest[clear])
    assert ours.inertia == pytest.approx(dist[np.arange(len(x)), ours.labels].sum(), rel=1e-5)
    theirs = sklearn_cluster.KMeans(20, init=init, n_init=1, max_iter=30, algorithm="lloyd").fit(x)
    assert ours.inertia == pytest.approx(theirs.inertia_, rel=1e-4)
    assert np.mean(ours.labels == theirs.labels_) > 0.99


def test_kmeans_plus_plus_is_competitive_with_sklearn(rng):
    x = blobs(rng, 2000, 5, 8, spread=0.5)
    ours = kmeans(x, 8, n_init=3, seed=7)
    theirs = sklearn_cluster.KMeans(8, n_init=3, random_state=7, algorithm="lloyd").fit(x)
    assert ours.inertia <= theirs.inertia_ * 1.05
    assert len(np.unique(ours.labels)) == 8


def test_deterministic_for_a_seed_and_any_thread_count(rng):
    x = blobs(rng, 9000, 6, 12, spread=3.0, dtype=np.float32)
    one = kmeans(x, 12, seed=5, n_init=2, num_threads=1)
    two = kmeans(x, 12, seed=5, n_init=2, num_threads=2)
    three = kmeans(x, 12, seed=5, n_init=2, num_threads=3)
    for other in (two, three):
        np.testing.assert_array_equal(one.centroids, other.centroids)
        np.testing.assert_array_equal(one.labels, other.labels)
        assert one.inertia == other.inertia and one.n_iter == other.n_iter
    different = kmeans(x, 12, seed=6, n_init=2)
    assert not np.array_equal(one.centroids, different.centroids)


def test_empty_cluster_is_reseeded_with_the_farthest_point():
    x = np.array([[0.0], [1.0], [2.0], [10.0]])
    fit = kmeans(x, 2, init=np.array([[1.0], [100.0]]))
    assert fit.labels.tolist() == [0, 0, 0, 1]
    np.testing.assert_allclose(fit.centroids, [[1.0], [10.0]])
    assert fit.inertia == pytest.approx(2.0)
    theirs = sklearn_cluster.KMeans(2, init=np.array([[1.0], [100.0]]), n_init=1).fit(x)
    np.testing.assert_allclose(fit.centroids, theirs.cluster_centers_)


def test_duplicate_rows_more_clusters_than_distinct_points():
    x = np.repeat(np.array([[0.0, 0.0], [5.0, 5.0]]), 10, axis=0)
    fit = kmeans(x, 3)
    assert fit.inertia == 0.0
    assert set(map(tuple, fit.centroids)) == {(0.0, 0.0), (5.0, 5.0)}


def test_predict_matches_nearest_centroid(rng):
    x = blobs(rng, 1000, 4, 5)
    fit = kmeans(x, 5, seed=1)
    assert isinstance(fit, KMeansResult)
    new = rng.normal(scale=4.0, size=(300, 4))
    dist = ((new[:, None, :] - fit.centroids[None]) ** 2).sum(-1)
    np.testing.assert_array_equal(fit.predict(new), dist.argmin(1))
    np.testing.assert_array_equal(fit.predict(x), fit.labels)
    assert fit.predict(new[0]) == dist[0].argmin()
    assert fit.predict(np.zeros((0, 4))).shape == (0,)
    with pytest.raises(AttributeError):
        fit.inertia = 0.0  # frozen


def test_strided_transposed_and_integer_inputs_are_read_correctly(rng):
    base = blobs(rng, 400, 6, 3)
    init = base[:3].copy()
    want = kmeans(np.ascontiguousarray(base[::2]), 3, init=init)
    got = kmeans(base[::2], 3, init=init)
    np.testing.assert_array_equal(got.labels, want.labels)
    np.testing.assert_array_equal(got.centroids, want.centroids)
    transposed = np.asfortranarray(base[::2]).T.T  # Fortran order, same values
    np.testing.assert_array_equal(kmeans(transposed, 3, init=init).labels, want.labels)
    got_t = kmeans(np.ascontiguousarray(base[::2].T).T, 3, init=init)
    np.testing.assert_array_equal(got_t.labels, want.labels)
    ints = kmeans(np.round(base * 10).astype(np.int64), 3, seed=2)
    assert ints.centroids.dtype == np.float64


@pytest.mark.parametrize(
    "kwargs, error, named",
    [
        (dict(x=[[1.0, np.nan], [0.0, 0.0]], n_clusters=1), shoprec.InvalidArgumentError, "x"),
        (dict(x=[[1.0, np.inf], [0.0, 0.0]], n_clusters=1), shoprec.InvalidArgumentError, "x"),
        (dict(x=[[1.0], [2.0]], n_clusters=3), shoprec.InvalidArgumentError, "n_clusters"),
        (dict(x=[[1.0], [2.0]], n_clusters=0), shoprec.InvalidArgumentError, "n_clusters"),
        (dict(x=[[1.0], [2.0]], n_clusters=1.0), shoprec.DTypeError, "n_clusters"),
        (dict(x=np.zeros((0, 3)), n_clusters=1), shoprec.InvalidArgumentError, "x"),
        (dict(x=np.zeros((3, 0)), n_clusters=1), shoprec.InvalidArgumentError, "x"),
        (dict(x=[1.0, 2.0], n_clusters=1), shoprec.DTypeError, "x"),
        (dict(x=[["a"], ["b"]], n_clusters=1), shoprec.DTypeError, "x"),
        (dict(x=[[1.0], [2.0]], n_clusters=1, init="random"), shoprec.InvalidArgumentError, "init"),
        (dict(x=[[1.0], [2.0]], n_clusters=2, init=[[1.0]]), shoprec.ShapeMismatchError, "init"),
        (dict(x=[[1.0], [2.0]], n_clusters=1, init=[[np.nan]]), shoprec.InvalidArgumentError, "init"),
        (dict(x=[[1.0], [2.0]], n_clusters=1, max_iter=0), shoprec.InvalidArgumentError, "max_iter"),
        (dict(x=[[1.0], [2.0]], n_clusters=1, n_init=0), shoprec.InvalidArgumentError, "n_init"),
        (dict(x=[[1.0], [2.0]], n_clusters=1, tol=-1.0), shoprec.InvalidArgumentError, "tol"),
        (dict(x=[[1.0], [2.0]], n_clusters=1, seed=-1), shoprec.InvalidArgumentError, "seed"),
        (dict(x=[[1.0], [2.0]], n_clusters=1, num_threads=-1), shoprec.InvalidArgumentError, "num_threads"),
    ],
)
def test_bad_input_raises_named_errors(kwargs, error, named):
    with pytest.raises(error, match=named):
        kmeans(**kwargs)


def test_predict_rejects_wrong_width_and_nan(rng):
    fit = kmeans(blobs(rng, 50, 3, 2), 2)
    with pytest.raises(shoprec.ShapeMismatchError):
        fit.predict(np.zeros((4, 2)))
    with pytest.raises(shoprec.InvalidArgumentError, match="x"):
        fit.predict(np.full((1, 3), np.nan))


@settings(max_examples=40, deadline=None)
@given(
    x=hnp.arrays(np.float64, st.tuples(st.integers(1, 30), st.integers(1, 4)), elements=st.integers(-5, 5).map(float)),
    data=st.data(),
)
def test_hypothesis_against_numpy_lloyd(x, data):
    n = len(x)
    k = data.draw(st.integers(1, n))
    view = x[::-1]  # a negative-stride view
    init = view[data.draw(st.permutations(range(n)))[:k]]
    ours = kmeans(view, k, init=init, max_iter=20)
    # The returned labels are always the nearest centroids (lowest index on ties) ...
    dist = ((view[:, None, :] - ours.centroids[None]) ** 2).sum(-1)
    np.testing.assert_array_equal(ours.labels, dist.argmin(1))
    assert ours.inertia == pytest.approx(dist.min(1).sum(), rel=1e-9, abs=1e-9)
    # ... and the run equals plain Lloyd whenever no cluster went empty along the way.
    centres, labels, inertia, _ = _lloyd_if_never_empty(view, init, 20)
    if centres is not None:
        np.testing.assert_allclose(ours.centroids, centres, rtol=1e-9, atol=1e-9)
        np.testing.assert_array_equal(ours.labels, labels)


def _lloyd_if_never_empty(x, init, max_iter):
    try:
        return numpy_lloyd(x, init, max_iter=max_iter)
    except EmptyCluster:
        return None, None, None, None
