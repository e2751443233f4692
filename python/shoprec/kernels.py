"""The fast kernels of shoprec, each running in Rust with the GIL released.

Every kernel takes ``num_threads``: ``0`` (the default) uses every core, ``n`` uses exactly
``n`` threads. Inputs are checked and converted here; bad input raises a
:class:`shoprec.ShoprecError` subclass naming the argument. Arrays passed in must not be
modified by another thread while a kernel runs (the Rust side reads them without a copy).
"""

from __future__ import annotations

from typing import Any, Tuple

import numpy as np

from . import _core
from ._clustering import KMeansResult, kmeans
from ._sliding import hampel, median_filter
from ._validate import as_float_array, as_id_filter, check_k, check_num_threads

__all__ = ["top_k", "kmeans", "KMeansResult", "median_filter", "hampel"]


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
    ids : ndarray of int32, shape (n_rows, k) (or (k,) for 1-D scores)
    scores : ndarray of float32, the same shape
        Sorted by descending score, ties broken by the lower id. Where fewer than ``k``
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
