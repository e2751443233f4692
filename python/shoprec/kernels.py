"""The fast kernels of shoprec, each running in Rust with the GIL released.

Every kernel takes ``num_threads``: ``0`` (the default) uses every core, ``n`` uses exactly
``n`` threads. Inputs are checked and converted here; bad input raises a
:class:`shoprec.ShoprecError` subclass naming the argument. Arrays passed in must not be
modified by another thread while a kernel runs (the Rust side reads them without a copy).
"""

from __future__ import annotations

from typing import Any, Tuple

import numpy as np
import scipy.sparse as sp

from . import _core
from ._clustering import KMeansResult, kmeans
from ._sliding import hampel, median_filter
from .errors import DTypeError, InvalidArgumentError
from ._validate import (
    as_csr,
    as_float_array,
    as_id_filter,
    check_choice,
    check_float,
    check_int,
    check_k,
    check_num_threads,
)

__all__ = ["top_k", "pearson_neighbours", "pearson_neighbours_rows", "kmeans", "KMeansResult", "median_filter", "hampel"]

SIMILARITIES = ("pearson", "cosine", "adjusted_cosine", "cosine_corated", "msd", "dot")
AXES = ("items", "users")


def pearson_neighbours(
    matrix: Any,
    k: int = 50,
    *,
    axis: str = "items",
    similarity: str = "pearson",
    min_support: int = 1,
    shrinkage: float = 0.0,
    num_threads: int = 0,
) -> sp.csr_matrix:
    """The ``k`` most similar items (or users) of every item (or user), as a sparse matrix.

    Never forms a dense ``n x n`` matrix: each pair is accumulated once, row by row (in
    parallel, with one length-``n`` accumulator per thread), and only the top ``k`` of every
    row is kept, so memory is ``O(nnz + n * k + threads * n)``. The result does not depend on
    ``num_threads``. Runs with the GIL released.

    Parameters
    ----------
    matrix : scipy.sparse matrix, users x items, or ``(data, indices, indptr)`` CSR arrays
        The ratings (or weights). Every *stored* entry is a rating, explicit zeros included;
        duplicates are summed (as scipy does). NaN or infinite values are refused. A float64
        CSR with int32 indices that is already canonical (sorted, no duplicates) is read in
        place, without a copy; anything else is converted first.
    k : int
        Neighbours per row, at least 1. Fewer are returned where fewer have a nonzero
        similarity.
    axis : {"items", "users"}
        ``"items"``: item-item similarities (``n`` = number of columns of ``matrix``);
        ``"users"``: user-user similarities (``n`` = number of rows).
    similarity : {"pearson", "cosine", "adjusted_cosine", "cosine_corated", "msd", "dot"}
        For two items (users) ``a`` and ``b``, let ``I`` be the raters that rated both (the
        co-rated set), ``n = |I|`` and ``x``, ``y`` the ratings of ``a`` and ``b``.

        - ``"pearson"``: correlation over ``I`` with means taken over ``I``:
          ``sum_I (x - mx)(y - my) / sqrt(sum_I (x - mx)^2 sum_I (y - my)^2)``, where
          ``mx = mean_I x`` and ``my = mean_I y`` (the co-rated means, not the means over
          all of an item's ratings).
        - ``"cosine"``: cosine of the full sparse vectors, ``sum_I x y / (|a| |b|)`` with the
          norms over *all* ratings of ``a`` and ``b`` (equal to
          ``sklearn.metrics.pairwise.cosine_similarity`` of the rows; for implicit feedback
          pass all ones).
        - ``"adjusted_cosine"``: every rating is first centred on the mean of its rater
          (item-item: each user's mean over all that user's ratings; user-user: each item's
          mean over all its ratings), then the full-vector cosine of the centred vectors.
        - ``"cosine_corated"``: ``sum_I x y / sqrt(sum_I x^2 sum_I y^2)``, all sums over
          ``I`` (surprise's ``cosine``; on baseline residuals, its ``pearson_baseline``, whose
          shrinkage uses ``n - 1`` where this one uses ``n``, and which needs ``n >= 2``).
        - ``"msd"``: surprise's mean squared difference similarity
          ``1 / (sum_I (x - y)^2 / n + 1)`` on the raw ratings, in ``(0, 1]``.
        - ``"dot"``: the plain dot product ``sum_I x y`` (for rows the caller has weighted
          and normalised; clamped to ``[-1, 1]`` like every similarity, so scale the values
          to keep it inside).
    min_support : int
        Pairs with fewer than ``min_support`` co-raters get no similarity (0 and 1 both
        mean "at least one"; pairs with no co-rater never have one).
    shrinkage : float
        ``lambda >= 0``: every similarity is multiplied by ``n / (n + lambda)``.
    num_threads : int
        Threads to use; 0 means every core.

    Returns
    -------
    scipy.sparse.csr_matrix of float32, shape (n, n)
        Row ``a`` holds at most ``k`` neighbours of ``a``, never ``a`` itself: the ``k``
        largest similarities (negative ones too if they are among the ``k`` largest). A zero
        variance or zero norm gives similarity 0; for Pearson, a co-rated variance or
        covariance that is only rounding noise (at most ``1e-12`` of the matching sum of
        squares of the ratings shifted by each item's overall mean) counts as 0 too. Values
        are clamped to ``[-1, 1]``, and a similarity of exactly 0 is not stored. No NaN.
        **Order:** within each row the entries are sorted by similarity descending (as
        float32), ties by the lower column index; so the column indices of a row are *not*
        sorted and ``has_sorted_indices`` is False (call ``.sort_indices()`` for column order).
    """
    k = check_k(k)
    axis = check_choice(axis, "axis", AXES)
    similarity = check_choice(similarity, "similarity", SIMILARITIES)
    min_support = check_int(min_support, "min_support", minimum=0)
    shrinkage = check_float(shrinkage, "shrinkage", minimum=0.0)
    num_threads = check_num_threads(num_threads)
    indptr, indices, data, (n_rows, n_cols) = _ratings_arrays(matrix)
    out_indptr, out_indices, out_data = _core.pearson_neighbours(
        indptr, indices, data, n_rows, n_cols, k, axis, similarity, min_support, shrinkage, num_threads
    )
    n = n_cols if axis == "items" else n_rows
    if out_indices.size < np.iinfo(np.int32).max:
        out_indptr = out_indptr.astype(np.int32)
    result = sp.csr_matrix((out_data, out_indices, out_indptr), shape=(n, n), copy=False)
    result.has_sorted_indices = False
    return result


def _ratings_arrays(matrix: Any) -> Tuple[np.ndarray, np.ndarray, np.ndarray, Tuple[int, int]]:
    """``as_csr(matrix, "matrix")``, without its copy of the ratings when ``matrix`` is already a
    canonical float64 CSR with int32 indices (sorted, no duplicates): the kernel then reads the
    caller's arrays (it checks the structure and the values itself), which at shop scale saves
    12 bytes per rating of peak memory."""
    if (
        sp.issparse(matrix)
        and matrix.format == "csr"
        and matrix.ndim == 2
        and matrix.dtype == np.float64
        and matrix.indices.dtype == np.int32
        and max(matrix.shape) <= np.iinfo(np.int32).max
        and matrix.indices.size == matrix.data.size == matrix.indptr[-1]
        and matrix.has_canonical_format
    ):
        n_rows, n_cols = matrix.shape
        return (
            np.ascontiguousarray(matrix.indptr, dtype=np.int64),
            np.ascontiguousarray(matrix.indices),
            np.ascontiguousarray(matrix.data),
            (int(n_rows), int(n_cols)),
        )
    return as_csr(matrix, "matrix", dtype=np.float64)


def _neighbour_csr(arrays: Tuple[np.ndarray, np.ndarray, np.ndarray], shape: Tuple[int, int]) -> sp.csr_matrix:
    indptr, indices, data = arrays
    if indices.size < np.iinfo(np.int32).max:
        indptr = indptr.astype(np.int32)
    result = sp.csr_matrix((data, indices, indptr), shape=shape, copy=False)
    result.has_sorted_indices = False
    return result


def pearson_neighbours_rows(
    matrix: Any,
    rows: Any,
    k: int = 50,
    *,
    axis: str = "items",
    similarity: str = "pearson",
    min_support: int = 1,
    shrinkage: float = 0.0,
    num_threads: int = 0,
) -> sp.csr_matrix:
    """The neighbour rows of some items (or users) only, against every item (user).

    Row ``j`` of the result is row ``rows[j]`` of :func:`pearson_neighbours` with the same
    arguments, exactly (same neighbours, same float32 values, same order): the entry point for
    recomputing the rows that new events touched (the models' ``update``). Costs the ``O(nnz)``
    preparation of the full call plus, per row, the ratings of the row's raters. (The Dask path,
    :mod:`shoprec.distributed`, splits the full kernel's pairs instead: computing whole rows on
    every worker would sum each pair twice.)

    Parameters
    ----------
    matrix, k, axis, similarity, min_support, shrinkage, num_threads
        As :func:`pearson_neighbours`.
    rows : sequence of int
        Item (or user) indices, each in ``[0, n)``; repeats allowed.

    Returns
    -------
    scipy.sparse.csr_matrix of float32, shape (len(rows), n)
        Ordered as :func:`pearson_neighbours` (similarity descending, ties by lower column).
    """
    k = check_k(k)
    axis = check_choice(axis, "axis", AXES)
    similarity = check_choice(similarity, "similarity", SIMILARITIES)
    min_support = check_int(min_support, "min_support", minimum=0)
    shrinkage = check_float(shrinkage, "shrinkage", minimum=0.0)
    num_threads = check_num_threads(num_threads)
    row_array = _as_rows(rows, "rows")
    indptr, indices, data, (n_rows, n_cols) = as_csr(matrix, "matrix", dtype=np.float64)
    out = _core.pearson_neighbours_rows(
        indptr, indices, data, n_rows, n_cols, row_array, k, axis, similarity, min_support, shrinkage, num_threads
    )
    n = n_cols if axis == "items" else n_rows
    return _neighbour_csr(out, (len(row_array), n))


def _as_rows(rows: Any, name: str) -> np.ndarray:
    array = np.asarray(rows)
    if array.ndim == 0:
        array = array.reshape(1)
    if array.ndim != 1 or (array.size and array.dtype.kind not in "iu"):
        raise DTypeError(f"{name} must be a 1-D sequence of integer indices")
    if array.size and (array.min() < 0 or array.max() > np.iinfo(np.int32).max):
        raise InvalidArgumentError(f"{name} has an index out of range")
    return np.ascontiguousarray(array, dtype=np.int32)


def _pearson_neighbours_update(
    matrix: sp.csr_matrix,
    old: Tuple[np.ndarray, np.ndarray, np.ndarray],
    old_k: int,
    old_to_new: np.ndarray,
    touched: np.ndarray,
    k: int,
    narrow_k: int,
    *,
    axis: str,
    similarity: str,
    min_support: int,
    shrinkage: float,
    num_threads: int,
) -> Tuple[sp.csr_matrix, sp.csr_matrix]:
    """The neighbours of ``matrix`` (as :func:`pearson_neighbours` with ``k``) computed from
    ``old``, the result on earlier ratings with ``old_k``; and its first ``narrow_k`` per row.

    ``old_to_new`` (increasing) gives the new index of every old entity; ``touched`` the
    entities whose (centred) values changed. Exact when those are right (see
    ``rust/core/src/pearson/rows.rs``). For the models' ``update``.
    """
    indptr, indices, data, (n_rows, n_cols) = _ratings_arrays(matrix)
    old_indptr, old_indices, old_data = old
    wide, narrow = _core.pearson_neighbours_update(
        indptr, indices, data, n_rows, n_cols,
        np.ascontiguousarray(old_indptr, np.int64), np.ascontiguousarray(old_indices, np.int32),
        np.ascontiguousarray(old_data, np.float32), old_k,
        np.ascontiguousarray(old_to_new, np.int32), np.ascontiguousarray(touched, np.int32),
        k, narrow_k, axis, similarity, min_support, shrinkage, num_threads,
    )
    n = n_cols if axis == "items" else n_rows
    return _neighbour_csr(wide, (n, n)), _neighbour_csr(narrow, (n, n))


def top_k(
    scores: Any,
    k: int,
    *,
    exclude: Any = None,
    include: Any = None,
    num_threads: int = 0,
) -> Tuple[np.ndarray, np.ndarray]:
    """The ``k`` best-scored ids of each row.

    Parameters
    ----------
    scores : array_like, 1-D or 2-D, float32 or float64
        One row of scores per query (a 1-D array is one query). Other real dtypes are
        converted to float64. NaN scores are never returned; ``-inf`` is an ordinary score.
    k : int
        How many ids per row, at least 1. May exceed the number of columns.
    exclude, include : None, 1-D array of ids, or a sparse / 2-D boolean mask
        A 1-D array of column ids applies to every row; a mask of the shape of ``scores``
        (any scipy.sparse matrix or a boolean array; nonzero entries count) applies per row.
        ``include`` restricts the candidates, ``exclude`` removes candidates.
    num_threads : int
        Threads to use; 0 means every core.

    Returns
    -------
    ids : ndarray of int32, shape (n_rows, width) (or (width,) for 1-D scores)
        ``width = min(k, max(n_cols, 1024))``: a ``k`` beyond the number of columns asks for
        every candidate, so it never sizes the result beyond the input (a huge ``k`` cannot
        exhaust memory), while a ``k`` a little above a small catalogue keeps its padding.
    scores : ndarray of float32, the same shape
        Sorted by descending score, ties broken by the lower id. Where fewer than ``width``
        candidates exist the row is padded with id ``-1`` and score ``-inf``.
    """
    k = check_k(k)
    num_threads = check_num_threads(num_threads)
    array = as_float_array(
        scores, "scores", ndim=(1, 2), dtypes=(np.float32, np.float64),
        allow_nan=True, allow_inf=True, allow_empty=True,
    )
    one_row = array.ndim == 1
    matrix = array.reshape(1, -1) if one_row else array
    n_rows, n_cols = matrix.shape
    include_arg = as_id_filter(include, "include", n_rows, n_cols)
    exclude_arg = as_id_filter(exclude, "exclude", n_rows, n_cols)
    ids, values = _core.top_k(matrix, k, include_arg, exclude_arg, num_threads)
    if one_row:
        return ids[0], values[0]
    return ids, values
