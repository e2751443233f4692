"""The hot path of a serving Shop: ``recommend(user, k)`` and ``similar(item, k)`` without
filters, each one dictionary lookup and one Rust call.

A :class:`ServingPlan` holds what those calls need, prepared once per set of parts (parts
never change: a stock change, refresh or reload makes new ones, and so a new plan): the
recommender's id maps, per-user history counts and Rust index, and the out-of-stock products
as the recommender's sorted item indices (rather than mapping the catalogue's out-of-stock ids
on every request). The Rust call scores, excludes the shopper's own items and the
out-of-stock ones, selects the top ``k`` and returns item positions; the plan maps them to ids.

The plan answers only the common case: a known shopper with history whose best candidate has
a positive score (``recommend``), a product with stored neighbours left after the exclusions
(``similar``). Everything else (unknown shoppers, fallbacks, filters, coupons) returns None and
takes the general path in :mod:`.serve`, so the answers are exactly the general path's
(``tests/test_shop_serving_path.py`` compares both on every shopper and product).

GIL: the Rust call releases the GIL only when its work (stored neighbour entries visited plus
excluded ids) is at least :data:`DETACH_MIN_WORK`; below that, handing the GIL to a waiting
thread and taking it back costs more than the scoring it would overlap (measured:
``benches/RESULTS.md``, "Shop serving").
"""

from __future__ import annotations

from typing import Any, Optional, Tuple

import numpy as np

from ..models._base import DETACH_MIN_WORK

__all__ = ["ServingPlan", "DETACH_MIN_WORK"]


Answer = Tuple[np.ndarray, np.ndarray]


class ServingPlan:
    """The per-parts arrays of the hot path (see the module docstring). Read-only."""

    __slots__ = ("parts", "_user_index", "_item_index", "_history_counts", "_index", "_item_ids", "_out_of_stock")

    def __init__(self, parts: Any) -> None:
        state = parts.recommender._fitted()
        self.parts = parts
        self._user_index = state.users.get
        self._item_index = state.items.get
        self._history_counts = state.history_counts
        self._index = state.index
        self._item_ids = state.items.ids
        known = state.items.known_indices(parts.catalogue.out_of_stock_ids(), "out of stock")
        self._out_of_stock = np.ascontiguousarray(np.unique(known), dtype=np.int32)
        self._out_of_stock.setflags(write=False)

    def recommend(self, user: Any, k: int, include_out_of_stock: bool) -> Optional[Answer]:
        """ItemKNN's own ``(items, scores)`` for a shopper with history (``k`` checked), or
        None when the general path must answer."""
        position = self._user_index(user)
        if position < 0 or self._history_counts[position] == 0:
            return None
        ids, scores = self._index.recommend_user(position, k, None if include_out_of_stock else self._out_of_stock,
                                                 DETACH_MIN_WORK)
        if len(scores) == 0 or not scores[0] > 0:
            return None  # the popular-in-segment fallback answers
        return self._item_ids[ids], scores

    def similar(self, item: Any, k: int, include_out_of_stock: bool) -> Optional[Answer]:
        """ItemKNN's stored neighbours of a product, ``(items, similarities)`` (``k``
        checked), or None when the general path must answer (a product without neighbours
        left)."""
        position = self._item_index(item)
        if position < 0:
            return None
        ids, sims = self._index.similar_items(position, k, None if include_out_of_stock else self._out_of_stock,
                                              DETACH_MIN_WORK)
        if len(ids) == 0:
            return None
        return self._item_ids[ids], sims
