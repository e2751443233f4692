"""Shopper profiles: the vectors that segments cluster (items by TF-IDF and a randomized SVD,
or item attributes)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Iterable, List, Optional, Tuple

import numpy as np
import scipy.sparse as sp

from .. import _core
from ..errors import DTypeError, InvalidArgumentError


_OVERSAMPLES = 10  # extra random directions of the randomized SVD (Halko et al. advise 5-10)
_POWER_ITERATIONS = 4  # enough for the slowly decaying spectra of interaction matrices
_SEED_LIMIT = 2**64  # the Rust SVD's seed is a u64

#: The segment of shoppers with no profile: no interactions, or an empty or unknown history.
NEW_SHOPPERS = -1

# ----------------------------------------------------------------------------------------------
# Profiles


def smooth_idf(document_frequency: np.ndarray, n_documents: int) -> np.ndarray:
    """``log((1 + n) / (1 + df)) + 1``: the smoothed inverse document frequency (as
    scikit-learn's ``TfidfTransformer``), never zero, so a feature everyone has still counts."""
    return np.log((1.0 + n_documents) / (1.0 + np.asarray(document_frequency, dtype=np.float64))) + 1.0


def _normalize_rows(matrix: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Rows scaled to unit length; also returns which rows were non-zero."""
    norms = np.sqrt(np.einsum("ij,ij->i", matrix, matrix))
    nonzero = norms > 0
    out = matrix.copy()
    out[nonzero] /= norms[nonzero, None]
    return out, nonzero


def randomized_svd_components(matrix: sp.spmatrix, rank: int, seed: int, num_threads: int = 0) -> np.ndarray:
    """The top ``rank`` right singular vectors of a sparse matrix, as float64 rows
    (``rank x n_cols``).

    The Rust randomized SVD (:func:`shoprec._core.randomized_svd`: a range finder after Halko,
    Martinsson & Tropp 2011 with ``_OVERSAMPLES`` extra directions and ``_POWER_ITERATIONS``
    re-orthonormalised power iterations, then an exact eigen-decomposition of the small
    projected Gram matrix). The values cross as float32, the range finder keeps its tall
    matrices in float32 (sums in float64), the final basis and vectors are computed in float64
    and come back as float32, so the rows are orthonormal to about 1e-6, not to float64
    precision. Deterministic for a ``seed`` whatever ``num_threads`` (every sum runs in
    a fixed order); each vector's sign is fixed so that its entry of largest magnitude is
    positive. A vector beyond the matrix's numerical rank is all zeros.
    """
    csr = sp.csr_matrix(matrix)
    n_rows, n_cols = csr.shape
    rank = min(rank, n_rows, n_cols)
    if rank == 0:
        return np.zeros((0, n_cols))
    if seed >= _SEED_LIMIT:
        raise InvalidArgumentError(f"seed must be below 2**64, got {seed}")
    _, _, v = _core.randomized_svd(
        np.ascontiguousarray(csr.indptr, dtype=np.int64),
        np.ascontiguousarray(csr.indices, dtype=np.int32),
        np.ascontiguousarray(csr.data, dtype=np.float32),
        n_rows, n_cols, rank, _OVERSAMPLES, _POWER_ITERATIONS, seed, num_threads,
    )
    components = v.T.astype(np.float64)  # rank x n_cols
    # Rust makes the largest entry of each left vector positive; ours is the right vector's.
    largest = np.argmax(np.abs(components), axis=1)
    signs = np.sign(components[np.arange(rank), largest])
    signs[signs == 0] = 1.0
    return np.ascontiguousarray(components * signs[:, None])


@dataclass(frozen=True)
class _Profiler:
    """How a (weighted) user-item row becomes a profile; kept by a fitted model for ``assign``.

    ``items``: profile = normalise((row * item_idf) @ components.T).
    ``attributes``: profile = normalise(((row @ attributes) * attribute_idf)).
    """

    features: str
    item_idf: Optional[np.ndarray] = None
    components: Optional[np.ndarray] = None  # n_components x n_items
    attributes: Optional[sp.csr_matrix] = None  # n_items x n_attributes, 0/1
    attribute_idf: Optional[np.ndarray] = None

    def profiles(self, rows: sp.csr_matrix) -> Tuple[np.ndarray, np.ndarray]:
        """Profiles of users given as rows of the user-item matrix, and which are non-empty."""
        if self.features == "items":
            # (row * idf) @ V.T == row @ (V * idf).T: one sparse-dense product.
            embedded = np.asarray(rows @ (self.components * self.item_idf).T)
        else:
            histogram = rows @ self.attributes
            embedded = np.asarray((histogram @ sp.diags(self.attribute_idf)).todense())
        return _normalize_rows(np.ascontiguousarray(embedded, dtype=np.float64))


def _fit_profiler(
    matrix: sp.csr_matrix,
    features: str,
    n_components: int,
    attributes: Optional[sp.csr_matrix],
    seed: int,
    svd_sample: int,
    num_threads: int = 0,
) -> _Profiler:
    n_users = matrix.shape[0]
    if features == "items":
        reach = np.bincount(matrix.indices, minlength=matrix.shape[1])  # shoppers per item
        item_idf = smooth_idf(reach, n_users)
        active = np.flatnonzero(np.diff(matrix.indptr) > 0)
        if len(active) > svd_sample:
            # The item components come from a seeded sample of shoppers: the directions of taste
            # are shared by many shoppers, so a sample finds them at a fraction of the passes
            # over the whole matrix; every shopper is then projected on them.
            rng = np.random.default_rng([seed, 1])
            active = np.sort(rng.choice(active, svd_sample, replace=False))
        learn_from = sp.csr_matrix(matrix[active], copy=True)
        learn_from.data *= item_idf[learn_from.indices]
        components = randomized_svd_components(learn_from, n_components, seed, num_threads)
        return _Profiler("items", item_idf=item_idf, components=components)
    histogram = sp.csr_matrix(matrix @ attributes)
    histogram.eliminate_zeros()
    users_with_attribute = np.diff(sp.csc_matrix(histogram).indptr)
    return _Profiler("attributes", attributes=attributes, attribute_idf=smooth_idf(users_with_attribute, n_users))


def _attribute_matrix(item_attributes: Any, item_index: Any, n_items: int) -> Tuple[sp.csr_matrix, np.ndarray]:
    """``item_attributes`` as a 0/1 ``n_items x n_attributes`` matrix and the attribute names.

    Accepts a mapping ``{item id: attributes}``, a pandas Series indexed by item id, or a
    DataFrame whose first column is the item id (with one attribute column its values are the
    attributes; with several, column ``c`` with value ``v`` gives the attribute ``"c=v"``). Attributes are a string (split on ``"|"``, as MovieLens
    genres are) or an iterable of strings. Items unknown to the interactions are ignored.
    """
    pairs: List[Tuple[Any, str]] = []
    if type(item_attributes).__name__ == "DataFrame":
        frame = item_attributes
        if frame.shape[1] < 2:
            raise InvalidArgumentError("item_attributes needs an item id column and at least one attribute column")
        item_column = frame.columns[0]
        for column in frame.columns[1:]:
            # A lone attribute column is named by its values only (genres, not "genres=Drama").
            prefix = "" if frame.shape[1] == 2 else f"{column}="
            for item, value in zip(frame[item_column].tolist(), frame[column].tolist()):
                for attribute in _split_attributes(value):
                    pairs.append((item, prefix + attribute))
    elif hasattr(item_attributes, "items"):
        for item, value in item_attributes.items():
            for attribute in _split_attributes(value):
                pairs.append((item, attribute))
    else:
        raise DTypeError(
            "item_attributes must be a mapping {item: attributes}, a pandas Series or a DataFrame, "
            f"got {type(item_attributes).__name__}"
        )
    if not pairs:
        raise InvalidArgumentError("item_attributes holds no attributes")
    items = item_index([item for item, _ in pairs], "item_attributes")
    names, attribute_codes = np.unique(np.array([a for _, a in pairs], dtype=object).astype(str), return_inverse=True)
    known = items >= 0
    matrix = sp.csr_matrix(
        (np.ones(int(known.sum())), (items[known], attribute_codes.reshape(-1)[known])),
        shape=(n_items, len(names)),
    )
    matrix.data[:] = 1.0  # an attribute listed twice for an item still counts once
    return matrix, names.astype(object)


def _split_attributes(value: Any) -> List[str]:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return []
    if isinstance(value, str):
        return [part.strip() for part in value.split("|") if part.strip()]
    if isinstance(value, Iterable):
        return [str(part) for part in value]
    return [str(value)]


def _spread_rows(matrix: Optional[sp.csr_matrix], old_rows: np.ndarray, n_rows: int) -> Optional[sp.csr_matrix]:
    """``matrix`` with its row ``r`` moved to ``old_rows[r]`` of ``n_rows`` rows (others empty)."""
    if matrix is None:
        return None
    coo = sp.coo_matrix(matrix)
    return sp.csr_matrix((coo.data, (old_rows[coo.row], coo.col)), shape=(n_rows, matrix.shape[1]))
