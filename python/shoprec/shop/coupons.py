"""Services and coupons: a second catalogue recommended with the same API as the products.

Learned from which shoppers redeemed which coupons (an :class:`shoprec.ItemKNN` over the
redemptions); a shopper with no redemption, or none the neighbours can use, gets the coupons
most redeemed by the shopper's interest segment (segments come from the product events), then
by everyone. The per-segment ranking is computed once at build time (a small
``(segments + 1) x coupons`` table), so answering is one row lookup.
"""

from __future__ import annotations

from typing import Any, Dict, Optional, Tuple

import numpy as np

from .._ids import IdMap
from ..errors import InvalidArgumentError, ModelFileError
from ..interactions import Interactions
from ..models import ItemKNN
from ..recommendations import Recommendations

__all__ = ["Coupons"]


class Coupons:
    """The coupon catalogue, its recommender and its per-segment ranking."""

    def __init__(self, ids: np.ndarray, titles: np.ndarray, categories: np.ndarray, model: Optional[ItemKNN],
                 segment_counts: np.ndarray, segment_orders: np.ndarray) -> None:
        self.ids = ids
        self.titles = titles
        self.categories = categories
        self.model = model
        self.segment_counts = segment_counts  # (n_segments + 1) x n_coupons; last row: everyone
        self.segment_orders = segment_orders  # the same rows as rankings (coupon positions)
        self.id_map = IdMap(ids)

    @classmethod
    def build(cls, coupons: Any, redemptions: Any, segments: Any, *, user: str = "user", coupon: str = "coupon",
              k_neighbours: int = 20, num_threads: int = 0) -> "Coupons":
        for name, frame, columns in (("coupons", coupons, ("id",)), ("redemptions", redemptions, (user, coupon))):
            if not hasattr(frame, "columns"):
                raise InvalidArgumentError(f"{name} must be a pandas DataFrame, got {type(frame).__name__}")
            missing = [c for c in columns if c not in frame.columns]
            if missing:
                raise InvalidArgumentError(f"{name} have no column(s) {missing}; columns: {list(frame.columns)}")
        from .._ids import _as_id_array

        ids = _as_id_array(coupons["id"].to_numpy(), "coupons")
        id_map = IdMap(ids)
        titles = coupons["title"].astype(str).to_numpy(dtype=object) if "title" in coupons else ids.astype(str).astype(object)
        categories = (coupons["category"].fillna("").astype(str).to_numpy(dtype=object) if "category" in coupons
                      else np.full(len(ids), "", dtype=object))
        positions = id_map.indices(redemptions[coupon].to_numpy(), "redemptions")
        known = positions >= 0
        users = redemptions[user].to_numpy()[known]
        positions = positions[known]
        model = None
        if len(positions):
            inter = Interactions.from_arrays(users, ids[positions])
            model = ItemKNN(k_neighbours, similarity="cosine", num_threads=num_threads).fit(inter)
        n_segments = segments.n_segments
        labels = np.asarray(segments.labels)[IdMap(segments.user_ids).indices(users, "users")] \
            if len(users) else np.zeros(0, np.int32)
        # Shoppers the segments do not know (or new shoppers) count only towards everyone.
        rows = np.where(labels >= 0, labels, n_segments) if len(users) else np.zeros(0, np.int64)
        counts = np.zeros((n_segments + 1, len(ids)), np.float64)
        np.add.at(counts, (rows, positions), 1.0)
        counts[n_segments] = np.bincount(positions, minlength=len(ids))
        overall = counts[n_segments]
        position = np.arange(len(ids))
        orders = np.vstack([np.lexsort((position, -overall, -row)) for row in counts]).astype(np.int32)
        return cls(ids, titles, categories, model, counts, orders)

    def __len__(self) -> int:
        return len(self.ids)

    def recommend(self, user: Any, segment: int, k: int, *, exclude: Optional[Any] = None
                  ) -> Tuple[Recommendations, str, Optional[str]]:
        """``(answer, part, reason)`` for ``user`` in ``segment`` (-1 for new shoppers): the
        part that answered and, for a fallback, why (a :data:`FALLBACK_REASONS` value)."""
        redeemed = np.zeros(0, np.int32)
        if self.model is not None:
            state = self.model._fitted()
            index = state.users.get(user)
            if index >= 0:
                recs = self.model.recommend(user, k, exclude=exclude)
                if len(recs) and recs.scores[0] > 0:
                    positive = recs.scores > 0
                    return Recommendations(recs.items[positive], recs.scores[positive]), "coupons-itemknn", None
                redeemed = self.id_map.known_indices(self._history(state, index), "redeemed")
                reason = "no_positive_score"
            else:
                reason = "unknown_user"
        else:
            reason = "no_history"
        row = segment if 0 <= segment < len(self.segment_orders) - 1 else len(self.segment_orders) - 1
        order = self.segment_orders[row]
        drop = redeemed
        if exclude is not None:
            drop = np.concatenate([drop, self.id_map.known_indices(
                [exclude] if isinstance(exclude, (str, bytes)) else exclude, "exclude")])
        if len(drop):
            order = order[~np.isin(order, drop)]
        order = order[:k]
        part = "coupons-popular-in-segment" if row < len(self.segment_orders) - 1 else "coupons-popular"
        return Recommendations(self.ids[order], self.segment_counts[row][order].astype(np.float32)), part, reason

    @staticmethod
    def _history(state: Any, user: int) -> np.ndarray:
        indptr, indices, _ = state.history
        return state.items.ids[indices[indptr[user]:indptr[user + 1]]]

    def describe(self, coupon: Any) -> Dict[str, Any]:
        i = self.id_map.get(coupon)
        if i < 0:
            return {"id": coupon}
        return {"id": self.ids[i].item() if isinstance(self.ids[i], np.generic) else self.ids[i],
                "title": str(self.titles[i]), "category": str(self.categories[i])}

    # ------------------------------------------------------------------ persistence
    def arrays(self) -> Dict[str, np.ndarray]:
        return {"coupon_ids": self.ids, "coupon_titles": self.titles, "coupon_categories": self.categories,
                "coupon_segment_counts": self.segment_counts, "coupon_segment_orders": self.segment_orders}

    @classmethod
    def from_arrays(cls, arrays: Dict[str, np.ndarray], model: Optional[ItemKNN]) -> "Coupons":
        ids = arrays["coupon_ids"]
        titles = np.asarray(arrays["coupon_titles"], dtype=object)
        categories = np.asarray(arrays["coupon_categories"], dtype=object)
        counts = np.asarray(arrays["coupon_segment_counts"])
        orders = np.asarray(arrays["coupon_segment_orders"])
        n = len(ids)
        # Found by fuzz_shop_directory (checksums off): an order row pointing past the coupons
        # loaded and raised IndexError at the first coupon recommendation. Each order row must
        # be a permutation of the coupons, with one row of counts per order row.
        if not (len(titles) == len(categories) == n and counts.ndim == 2 and orders.ndim == 2
                and counts.shape == orders.shape and counts.shape[0] >= 1 and counts.shape[1] == n
                and counts.dtype.kind in "iuf" and orders.dtype.kind in "iu"
                and (np.sort(orders, axis=1) == np.arange(n)).all()):
            raise ModelFileError("the coupon arrays do not fit together (titles, categories, segment counts "
                                 "and orders must cover the same coupons; each order a permutation of them)")
        return cls(ids, titles, categories, model, counts, orders)
