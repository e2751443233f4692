"""What an update of a neighbourhood model must recompute: the *touched* entities.

An entity (an item for ``ItemKNN``, a user for ``UserKNN``) is touched when its vector in the
similarity kernel's input changed; the update kernel (``rust/core/src/pearson/rows.rs``)
recomputes the rows of the touched entities and patches every other row, which is exact as
long as no untouched vector changed, bit for bit.

* Plain values (no weighting, ``alpha=1``): the entities with a new or changed value, and for
  ``"adjusted_cosine"`` every entity of a rater with a new or changed value (the rater's mean
  moved).
* Weighted values (TF-IDF, BM25, ``alpha != 1``) and ``"pearson_baseline"`` residuals: the
  kernel input before and after is compared entity by entity, bit for bit
  (:func:`changed_entities`), so exactly the vectors that changed are touched. The rules that
  follow from the formulas: a TF-IDF weight ``sqrt(x) * (log(n) - log(1 + df_c))`` changes
  when its value, its rater's count ``df_c`` (the rater has a new pair) or the number of
  entities ``n`` (a new entity: then every weight) changes; BM25 also divides by the mean row
  length, which almost any new event moves (then every weight); ``alpha != 1`` divides every
  row by one constant ``c`` (the largest normalised row norm), and a new ``c`` changes every
  vector; ``"pearson_baseline"`` subtracts ``mu + b_u + b_i``, and a new event moves ``mu`` and
  every bias (every vector). When every entity is touched the update computes the full kernel.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ..interactions import Interactions


def touched_by_values(inter: Interactions, changed: np.ndarray, item_based: bool, adjusted: bool) -> np.ndarray:
    """The entities whose plain values changed (``changed`` marks the merged entries that are
    new or changed); with ``adjusted`` also every entity of a rater with a changed value."""
    xs, ys = (inter.items, inter.users) if item_based else (inter.users, inter.items)
    n_x = inter.n_items if item_based else inter.n_users
    n_y = inter.n_users if item_based else inter.n_items
    hit = np.zeros(n_x, bool)
    if adjusted:
        moved = np.zeros(n_y, bool)
        moved[ys[changed]] = True
        hit[xs[moved[ys]]] = True
    else:
        hit[xs[changed]] = True
    return np.flatnonzero(hit).astype(np.int32)


def changed_entities(old: sp.csr_matrix, new: sp.csr_matrix, old_users: np.ndarray, old_items: np.ndarray,
                     item_based: bool) -> np.ndarray:
    """The entities of ``new`` (users x items, sorted indices) whose vector differs from the
    one in ``old`` (the same matrix before the update; ``old_users`` / ``old_items`` map its
    indices to the new ones): new entities, and old ones with another set of raters or any
    value that is not the same double. Vectorised over the stored entries."""
    if item_based:
        old, new = old.T.tocsr(), new.T.tocsr()
        old.sort_indices()
        new.sort_indices()
        old_to_new, rater_map = old_items, old_users
    else:
        old_to_new, rater_map = old_users, old_items
    n_new = new.shape[0]
    hit = np.ones(n_new, bool)
    hit[old_to_new] = False
    old_lengths = np.diff(old.indptr)
    same_length = old_lengths == np.diff(new.indptr)[old_to_new]
    hit[old_to_new[~same_length]] = True
    # Entry by entry, for the old entities whose length did not change.
    rows = np.repeat(np.arange(len(old_lengths)), old_lengths)
    keep = same_length[rows]
    rows = rows[keep]
    offsets = np.arange(len(old.indices))[keep] - old.indptr[rows]
    at = new.indptr[old_to_new[rows]] + offsets
    # The raters keep their relative order (the maps are increasing), so sorted rows stay aligned.
    differs = (rater_map[old.indices[keep]] != new.indices[at]) | (
        old.data[keep].view(np.uint64) != new.data[at].view(np.uint64))
    hit[old_to_new[rows[differs]]] = True
    return np.flatnonzero(hit).astype(np.int32)


def full_is_cheaper(inter: Interactions, touched: np.ndarray, item_based: bool) -> bool:
    """Whether recomputing every row costs less than the touched rows of an update.

    A touched row is summed against all its candidates: one step per rating of each of its
    raters. The full kernel sums each pair once: ``deg * (deg - 1) / 2`` steps per rater.
    The patch of the other rows and the rows it cannot prove cost extra, hence the margin.
    """
    xs, ys = (inter.items, inter.users) if item_based else (inter.users, inter.items)
    n_y = inter.n_users if item_based else inter.n_items
    degree = np.bincount(ys, minlength=n_y).astype(np.float64)
    mask = np.zeros(inter.n_items if item_based else inter.n_users, bool)
    mask[touched] = True
    touched_cost = float(degree[ys[mask[xs]]].sum())
    full_cost = float((degree * (degree - 1.0) / 2.0).sum())
    return 2.0 * touched_cost > full_cost
