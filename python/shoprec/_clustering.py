"""k-means on dense rows (public as :func:`shoprec.kernels.kmeans`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Union

import numpy as np

from . import _core
from ._validate import as_float_array, check_float, check_int, check_num_threads
from .errors import InvalidArgumentError, ShapeMismatchError

__all__ = ["KMeansResult", "kmeans"]

#: The most k-means++ runs one call makes (scikit-learn's default is 1 to 10).
MAX_N_INIT = 1000
#: The most Lloyd iterations of one run (they converge in tens to hundreds).
MAX_ITER = 1_000_000

_FLOATS = (np.float64, np.float32)  # the first is the default for other dtypes
_SEED_LIMIT = 2**64


@dataclass(frozen=True)
class KMeansResult:
    """A fitted k-means clustering (immutable).

    Attributes
    ----------
    centroids : ndarray, shape (n_clusters, n_features)
        In the dtype the rows were clustered in (float32 or float64).
    labels : ndarray of int32, shape (n_rows,)
        The centroid of each training row.
    inertia : float
        Sum of squared Euclidean distances of the rows to their centroids.
    n_iter : int
        Lloyd iterations run (of the best of the ``n_init`` runs).
    """

    centroids: np.ndarray
    labels: np.ndarray
    inertia: float
    n_iter: int

    def predict(self, x: Any, *, num_threads: int = 0) -> np.ndarray:
        """The nearest centroid of each row of ``x`` (the lowest index on ties).

        Parameters
        ----------
        x : array_like, shape (n_rows, n_features) or (n_features,)
            Rows to label; converted to the centroids' dtype. NaN and inf are rejected.
        num_threads : int
            Threads to use; 0 means every core.

        Returns
        -------
        ndarray of int32, shape (n_rows,) (or a 0-d array for one 1-D row)
        """
        num_threads = check_num_threads(num_threads)
        rows = as_float_array(x, "x", ndim=(1, 2), dtypes=(self.centroids.dtype.type,), allow_empty=True)
        one_row = rows.ndim == 1
        matrix = rows.reshape(1, -1) if one_row else rows
        if matrix.shape[1] != self.centroids.shape[1]:
            raise ShapeMismatchError(
                f"x has {matrix.shape[1]} features, the centroids have {self.centroids.shape[1]}"
            )
        if matrix.shape[0] == 0:
            return np.zeros(0, dtype=np.int32)
        labels = _core.kmeans_assign(matrix, self.centroids, num_threads)
        return labels[0] if one_row else labels


def kmeans(
    x: Any,
    n_clusters: int,
    *,
    init: Union[str, Any] = "k-means++",
    n_init: int = 1,
    max_iter: int = 300,
    tol: float = 1e-4,
    seed: int = 0,
    num_threads: int = 0,
) -> KMeansResult:
    """Cluster the rows of ``x`` with k-means (Lloyd's algorithm, with exact bound-based acceleration).

    The conventions are scikit-learn's ``KMeans(algorithm="lloyd")``: greedy k-means++ seeding
    with ``2 + ln(n_clusters)`` local trials, ``tol`` relative to the mean per-feature variance
    of ``x``, convergence when no label changes or when the summed squared centre shift is at
    most that tolerance, and ``inertia`` as the sum of squared distances. Early iterations
    measure every distance with a blocked (AVX2/FMA where available) kernel, rechecking near
    ties exactly; later ones use Elkan's (or, for very large inputs, Hamerly's) bounds to skip
    centres that provably cannot be nearest. Either way the labels are those plain Lloyd
    iterations give, only faster.

    The result depends on ``seed`` only, never on ``num_threads`` (sums are reduced in a fixed
    order). A cluster left empty after an iteration is re-seeded with the row farthest from its
    own centre (taken from a cluster that keeps at least one row; that row leaves its old
    cluster's mean), as scikit-learn does; an iteration that re-seeded a cluster never counts
    as converged, so ``labels`` are always the nearest ``centroids`` (lowest index on ties).

    Parameters
    ----------
    x : array_like, shape (n_rows, n_features)
        Dense rows, float32 or float64 (other real dtypes become float64). Strided and
        transposed arrays are copied. NaN and inf are rejected.
    n_clusters : int
        At least 1 and at most ``n_rows``.
    init : "k-means++" or array_like, shape (n_clusters, n_features)
        How to choose the first centroids. Explicit centroids mean a single run (``n_init``
        is ignored, as in scikit-learn).
    n_init : int
        Independent k-means++ runs; the one with the lowest inertia is returned. At most
        :data:`MAX_N_INIT` (1,000).
    max_iter : int
        Maximum Lloyd iterations per run, at least 1 and at most :data:`MAX_ITER` (10**6).
    tol : float
        Relative tolerance on the centre shift (see above), at least 0.
    seed : int
        Seed of the k-means++ sampling, in ``[0, 2**64)``.
    num_threads : int
        Threads to use; 0 means every core.

    Returns
    -------
    KMeansResult
        ``centroids``, ``labels``, ``inertia``, ``n_iter`` and a ``predict`` method.

    Examples
    --------
    >>> import numpy as np
    >>> from shoprec.kernels import kmeans
    >>> x = np.array([[0.0, 0.0], [0.1, 0.0], [10.0, 10.0], [10.0, 10.1]])
    >>> fit = kmeans(x, 2, seed=1)
    >>> bool(fit.labels[0] == fit.labels[1] != fit.labels[2])
    True
    """
    num_threads = check_num_threads(num_threads)
    rows = as_float_array(x, "x", ndim=(2,), dtypes=_FLOATS)
    n_rows, n_features = rows.shape
    if n_features == 0:
        raise InvalidArgumentError("x has no features")
    n_clusters = check_int(n_clusters, "n_clusters", minimum=1)
    if n_clusters > n_rows:
        raise InvalidArgumentError(f"n_clusters ({n_clusters}) is more than the rows of x ({n_rows})")
    # Bounds that no real use reaches, so a typo cannot run for days or overflow the core.
    n_init = check_int(n_init, "n_init", minimum=1, maximum=MAX_N_INIT)
    max_iter = check_int(max_iter, "max_iter", minimum=1, maximum=MAX_ITER)
    tol = check_float(tol, "tol", minimum=0.0)
    seed = check_int(seed, "seed", minimum=0)
    if seed >= _SEED_LIMIT:
        raise InvalidArgumentError(f"seed must be below 2**64, got {seed}")
    if isinstance(init, str):
        if init != "k-means++":
            raise InvalidArgumentError(f"init must be 'k-means++' or an array of centroids, got {init!r}")
        centroids_in = None
    else:
        centroids_in = as_float_array(init, "init", ndim=(2,), dtypes=(rows.dtype.type,))
        if centroids_in.shape != (n_clusters, n_features):
            raise ShapeMismatchError(
                f"init has shape {centroids_in.shape}, expected {(n_clusters, n_features)}"
            )
    centroids, labels, inertia, n_iter = _core.kmeans(
        rows, n_clusters, centroids_in, n_init, max_iter, tol, seed, num_threads
    )
    return KMeansResult(centroids=centroids, labels=labels, inertia=float(inertia), n_iter=int(n_iter))
