"""Row weighting of implicit feedback for the neighbourhood models (BM25, TF-IDF) and the
similarity normalisation exponent.

The matrices here are *entity x rater*: items x users for item-item neighbours, users x items
for user-user neighbours. In the text-retrieval picture a row is a document and a column a
term, as in implicit's ``bm25_weight`` and ``tfidf_weight`` (whose semantics these follow;
the code is our own):

* ``idf_c = log(n_rows) - log(1 + df_c)`` with ``df_c`` the stored entries of column ``c``
  (a rater who interacted with everything says little about any one entity);
* TF-IDF: ``w = sqrt(x) * idf_c``;
* BM25: ``w = x (k1 + 1) / (k1 L_r + x) * idf_c`` with the length norm
  ``L_r = 1 - b + b * rowsum_r / mean(rowsum)`` (a long row's entries count less).

All of it is vectorised over the stored entries (O(nnz)); explicit zeros stay entries.
"""

from __future__ import annotations

from typing import Tuple

import numpy as np
import scipy.sparse as sp

WEIGHTINGS = ("none", "tfidf", "bm25")


def _rows_of(matrix: sp.csr_matrix) -> np.ndarray:
    return np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.indptr))


def _idf(matrix: sp.csr_matrix) -> np.ndarray:
    n_rows = float(max(matrix.shape[0], 1))
    df = np.bincount(matrix.indices, minlength=matrix.shape[1])
    return np.log(n_rows) - np.log1p(df)


def tfidf_weight(matrix: sp.csr_matrix) -> sp.csr_matrix:
    """``sqrt(x) * idf`` of every stored entry (rows documents, columns terms)."""
    matrix = sp.csr_matrix(matrix, dtype=np.float64)
    data = np.sqrt(matrix.data) * _idf(matrix)[matrix.indices]
    return sp.csr_matrix((data, matrix.indices.copy(), matrix.indptr.copy()), shape=matrix.shape)


def bm25_weight(matrix: sp.csr_matrix, k1: float = 1.2, b: float = 0.75) -> sp.csr_matrix:
    """BM25 weight of every stored entry (rows documents, columns terms); see the module doc."""
    matrix = sp.csr_matrix(matrix, dtype=np.float64)
    row_sums = np.asarray(matrix.sum(axis=1)).ravel()
    mean_length = float(row_sums.mean()) if len(row_sums) else 0.0
    ratio = row_sums / mean_length if mean_length > 0 else np.zeros_like(row_sums)
    length_norm: np.ndarray = (1.0 - b) + b * ratio
    x = matrix.data
    denominator = k1 * length_norm[_rows_of(matrix)] + x
    # 0 / 0 (a stored zero in an all-zero row with b = 1, or k1 = 0) weighs 0.
    saturated = np.divide(x * (k1 + 1.0), denominator, out=np.zeros_like(x), where=denominator != 0)
    data = saturated * _idf(matrix)[matrix.indices]
    return sp.csr_matrix((data, matrix.indices.copy(), matrix.indptr.copy()), shape=matrix.shape)


def weight_rows(matrix: sp.csr_matrix, weighting: str, k1: float, b: float) -> sp.csr_matrix:
    """``matrix`` weighted by ``weighting`` (one of :data:`WEIGHTINGS`)."""
    if weighting == "tfidf":
        return tfidf_weight(matrix)
    if weighting == "bm25":
        return bm25_weight(matrix, k1, b)
    return sp.csr_matrix(matrix, dtype=np.float64)


def scaled_for_dot(matrix: sp.csr_matrix, alpha: float) -> Tuple[sp.csr_matrix, float]:
    """Rows divided by ``norm ** alpha``, then everything by one constant ``c`` so that no dot
    product of two rows exceeds 1 in absolute value; returns ``(scaled, c ** 2)``.

    The dot products of the scaled rows times ``c ** 2`` are
    ``x_a . x_b / (|x_a| |x_b|) ** alpha``: the normalised similarity (``alpha = 1`` the cosine,
    ``alpha = 0`` the plain dot product). The constant keeps them inside the kernel's
    ``[-1, 1]`` without changing their order (Cauchy-Schwarz: a dot product is at most the
    product of the two norms).
    """
    matrix = sp.csr_matrix(matrix, dtype=np.float64)
    norms = np.sqrt(np.bincount(_rows_of(matrix), matrix.data**2, minlength=matrix.shape[0]))
    with np.errstate(divide="ignore"):
        factor = np.where(norms > 0, norms ** (-alpha), 0.0)
    data = matrix.data * factor[_rows_of(matrix)]
    new_norms = norms * factor
    c = float(new_norms.max()) if len(new_norms) else 0.0
    if not c > 0:
        c = 1.0
    scaled = sp.csr_matrix((data / c, matrix.indices.copy(), matrix.indptr.copy()), shape=matrix.shape)
    return scaled, c * c
