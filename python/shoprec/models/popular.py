"""Popular: the most popular items, overall, in a category or in the shopper's segment (the
cold-start fallback of every model)."""

from __future__ import annotations

from typing import Any, Dict, Optional, Sequence, Tuple

import numpy as np

from .._ids import IdMap, filter_ids
from ..io import nested_state, register, restore_nested
from .._validate import check_choice
from ..errors import DTypeError, InvalidArgumentError, ModelFileError, UnknownIdError
from ..interactions import Interactions
from ..recommendations import Recommendations
from ..segments.model import NEW_SHOPPERS, InterestSegments
from ._base import _check_k_within, _history_weights, _State, _Model, _check_interactions, _empty_csr, _ids_filter, _popularity_ranking


@register("Popular")
class Popular(_Model):
    """The most popular items: the cold-start fallback of every model.

    Popularity is the number of users who interacted with an item (``by="count"``) or the
    sum of their values (``by="weight"``). With ``categories`` given to :meth:`fit`,
    :meth:`recommend` can rank within one category. Scores are the popularity.

    With ``within="segment"`` and fitted :class:`shoprec.InterestSegments` given to
    :meth:`fit` ("popular with shoppers like you"), a shopper gets what is popular in their
    segment: a known user their fitted segment, a history (:meth:`recommend_for_history`) the
    segment :meth:`InterestSegments.assign` gives it, and unknown users and the new-shoppers
    segment the whole shop's popularity (exactly as ``Popular()``). Within a segment, items
    rank by the segment's reach (``by="count"``: its shoppers who interacted with the item, ties
    by their summed value, as :meth:`InterestSegments.popular_items`) or by the segment's summed
    value (``by="weight"``), then by the whole shop's popularity (so items the segment never
    reached still fill the list: exactly ``k`` whenever ``k`` candidates exist), then by item
    index; the score is the segment's reach (or summed value), 0 for items it never reached.

    Parameters
    ----------
    by : {"count", "weight"}
    within : {None, "segment"}
        ``"segment"`` needs ``fit(..., segments=...)``.
    """

    _param_names = ("by", "within")
    _has_static_scores = True

    def __init__(self, by: str = "count", within: Optional[str] = None) -> None:
        self.by = check_choice(by, "by", ("count", "weight"))
        if within is not None:
            within = check_choice(within, "within", ("segment",))
        self.within = within
        self._state = None

    def fit(self, interactions: Interactions, categories: Optional[Any] = None, *,
            segments: Optional[Any] = None) -> "Popular":
        """Count the items of ``interactions``.

        Parameters
        ----------
        interactions : Interactions
        categories : mapping of item id to category, optional
            A dict or a pandas Series (index = item ids). Items without a category belong
            to none.
        segments : InterestSegments, optional
            Required with ``within="segment"`` (and only then): segments fitted on these same
            ``interactions`` (the same shoppers, items and interactions, else
            :class:`InvalidArgumentError`; unfitted: :class:`NotFittedError`). They are saved
            inside the model file.
        """
        inter = _check_interactions(interactions)
        base = self._popular_base(inter)
        if self.within == "segment":
            if segments is None:
                raise InvalidArgumentError(
                    "Popular(within='segment') needs fit(interactions, segments=<fitted InterestSegments>)"
                )
        elif segments is not None:
            raise InvalidArgumentError("segments are used only by Popular(within='segment')")
        codes, names = self._category_codes(categories, inter.item_map)
        self._state = self._make_state(base, codes, names, segments)
        return self

    def _popular_base(self, inter: Interactions) -> Dict[str, Any]:
        base = self._base_state(inter)
        if self.by == "weight":
            weights = np.bincount(inter.items, inter.values, minlength=inter.n_items)
            base["popularity"], base["order"] = _popularity_ranking(weights)
        return base

    def update(self, new_events: Interactions, *, combine: Optional[str] = None, cap: Optional[float] = None,
               categories: Optional[Any] = None) -> "Popular":
        """A new model that also includes ``new_events``: exactly ``fit`` on
        ``training.merge(new_events)`` with the same categories and segments. This model is not
        modified (it keeps answering while the update runs).

        Parameters
        ----------
        new_events : Interactions
            The new events, built like the training interactions: ``Interactions.from_arrays``
            or ``from_pandas`` over the new rows only, with the same ``combine`` and ``cap``,
            ratings or implicit events alike, with timestamps exactly when the training
            interactions had them. New users and new items are added (ids ordered as a refit
            orders them, see :meth:`Interactions.merge`).
        combine, cap
            How a (user, item) pair seen before merges with its old value: as in
            :meth:`Interactions.merge` (default ``"last"`` for ratings, ``"max"`` for events;
            ``"mean"`` cannot continue a repeated pair).
        categories : mapping of item id to category, optional
            Categories of new items (or new categories of old ones), merged over the fitted
            ones; as ``fit(..., categories=old | new)``.

        With ``within="segment"`` the segments are updated too
        (:meth:`InterestSegments.update`, centres kept) and the model equals ``fit`` with those
        updated segments.
        """
        return self._apply_update(new_events, combine, cap, categories=categories)  # type: ignore[return-value]

    def _updated_state(self, state: _State, merged: Interactions, old_users: np.ndarray,  # type: ignore[override]
                       old_items: np.ndarray, changed: np.ndarray, combine: Optional[str], cap: Optional[float],
                       categories: Optional[Any] = None) -> _State:
        base = self._popular_base(merged)
        codes = np.full(merged.n_items, -1, np.int32)
        codes[old_items] = state.category_codes
        names = state.category_names
        if categories is not None:
            extra_codes, extra_names = self._category_codes(categories, merged.item_map)
            names = np.array(sorted(set(names.tolist()) | set(extra_names.tolist())), dtype=str)
            lookup = {name: position for position, name in enumerate(names.tolist())}
            remap_old = np.array([lookup[n] for n in state.category_names.tolist()], dtype=np.int32)
            remap_extra = np.array([lookup[n] for n in extra_names.tolist()], dtype=np.int32)
            codes = np.where(codes >= 0, remap_old[np.maximum(codes, 0)] if len(remap_old) else -1, -1).astype(np.int32)
            codes = np.where(extra_codes >= 0, remap_extra[np.maximum(extra_codes, 0)] if len(remap_extra) else -1,
                             codes).astype(np.int32)
        segments = getattr(state, "segments", None)
        if segments is not None:
            segments = segments._updated(merged, old_items, refresh_centres=False)
        return self._make_state(base, codes, names, segments)

    @staticmethod
    def _category_codes(categories: Optional[Any], items: IdMap) -> Tuple[np.ndarray, np.ndarray]:
        codes = np.full(len(items), -1, np.int32)
        if categories is None:
            return codes, np.zeros(0, dtype=str)
        mapping = dict(categories.items()) if hasattr(categories, "items") else None
        if mapping is None:
            raise DTypeError("categories must be a mapping of item id to category (dict or pandas Series)")
        names = sorted({str(c) for c in mapping.values()})
        lookup = {name: position for position, name in enumerate(names)}
        for item, category in mapping.items():
            position = items.get(item)
            if position >= 0:
                codes[position] = lookup[str(category)]
        return codes, np.array(names, dtype=str)

    def _make_state(self, base: Dict[str, Any], codes: np.ndarray, names: np.ndarray,
                    segments: Optional[Any] = None) -> _State:
        n_users, n_items = base["shape"]
        index = self._build_index(base, True, _empty_csr(n_items), _empty_csr(n_items), _empty_csr(n_users))
        extra: Dict[str, Any] = {}
        if segments is not None:
            extra = self._segment_rankings(base, index, segments)
        return _State(index=index, category_codes=codes, category_names=names, **extra, **base)

    def _segment_rankings(self, base: Dict[str, Any], overall: Any, segments: Any) -> Dict[str, Any]:
        """One Rust index per segment, ranking by the segment's popularity then the shop's.

        Row ``n_segments`` (the new shoppers) is the whole shop's ranking, as ``Popular()``.
        """
        if not isinstance(segments, InterestSegments):
            raise DTypeError(f"segments must be a shoprec.InterestSegments, got {type(segments).__name__}")
        users, items = base["users"], base["items"]
        n_users, n_items = base["shape"]
        item_rows = segments.item_positions(items.ids, "items")  # NotFittedError first
        user_rows = IdMap(segments.user_ids).indices(users.ids, "users")
        if len(segments.user_ids) != n_users or np.any(user_rows < 0):
            raise InvalidArgumentError(
                "segments were fitted on different shoppers than these interactions: fit both on the same Interactions"
            )
        if len(segments.item_ids) != n_items or np.any(item_rows < 0):
            raise InvalidArgumentError(
                "segments were fitted on different items than these interactions: fit both on the same Interactions"
            )
        indptr, indices, _ = base["history"]
        counts = np.bincount(indices, minlength=n_items)
        reach_all = segments.item_popularity(NEW_SHOPPERS)[0][item_rows]
        if not np.array_equal(reach_all, counts):
            raise InvalidArgumentError(
                "segments were fitted on different interactions (the shoppers per item differ): "
                "fit both on the same Interactions"
            )
        position = np.arange(n_items)
        popularity = np.asarray(base["popularity"], dtype=np.float64)
        indexes, scores = [], []
        for segment in range(segments.n_segments):
            reach, key = segments.item_popularity(segment)
            reach, key = reach[item_rows], key[item_rows]
            if self.by == "weight":
                key = segments.item_values(segment)[item_rows]
                reach = key
            key = np.where(np.isfinite(key), key, 0.0) if self.by == "weight" else np.where(reach > 0, key, -1.0)
            order = np.lexsort((position, -popularity, -key)).astype(np.int32)
            # One float32 key that encodes the whole order (distinct, exact below 2**24 items).
            tiebreak = np.empty(n_items, np.float32)
            tiebreak[order] = np.arange(n_items, 0, -1, dtype=np.float32)
            ranking = dict(base, popularity=tiebreak, order=order)
            indexes.append(self._build_index(ranking, True, _empty_csr(n_items), _empty_csr(n_items),
                                             _empty_csr(n_users)))
            scores.append(np.asarray(reach, dtype=np.float32))
        indexes.append(overall)
        scores.append(np.asarray(base["popularity"], dtype=np.float32))
        rows = np.asarray(segments.labels, dtype=np.int32)[user_rows]
        rows = np.where(rows < 0, segments.n_segments, rows).astype(np.int32)
        return dict(segments=segments, segment_indexes=tuple(indexes), segment_scores=np.vstack(scores),
                    segment_rows=rows)

    @property
    def segments(self) -> Optional[Any]:
        """The :class:`InterestSegments` of a ``within="segment"`` model (None otherwise)."""
        return getattr(self._fitted(), "segments", None)

    def _segment_row(self, state: _State, user: int) -> int:
        if user < 0:
            return len(state.segment_indexes) - 1
        return int(state.segment_rows[user])

    def _index_for(self, state: _State, user: int) -> Any:
        if getattr(state, "segments", None) is None:
            return state.index
        return state.segment_indexes[self._segment_row(state, user)]

    def _static_scores(self, state: _State, user: int, ids: np.ndarray) -> np.ndarray:
        if getattr(state, "segments", None) is None:
            return state.popularity[ids]
        return state.segment_scores[self._segment_row(state, user)][ids]

    def _recommend_indices(
        self,
        user_indices: np.ndarray,
        k: int,
        *,
        exclude_seen: bool = True,
        items: Optional[np.ndarray] = None,
        exclude: Optional[np.ndarray] = None,
        num_threads: int = 0,
    ) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
        state = self._fitted()
        if getattr(state, "segments", None) is None:
            return super()._recommend_indices(user_indices, k, exclude_seen=exclude_seen, items=items,
                                              exclude=exclude, num_threads=num_threads)
        users = np.ascontiguousarray(user_indices, dtype=np.int32)
        rows = np.where(users < 0, len(state.segment_indexes) - 1, state.segment_rows[np.maximum(users, 0)])
        ids = np.full((len(users), k), -1, np.int32)
        scores = np.full((len(users), k), -np.inf, np.float32)
        for row in np.unique(rows).tolist():
            chosen = np.flatnonzero(rows == row)
            sub_ids, _ = state.segment_indexes[row].recommend_many(
                np.ascontiguousarray(users[chosen]), k, items, exclude, bool(exclude_seen), num_threads)
            valid = sub_ids >= 0
            sub_scores = np.full(sub_ids.shape, -np.inf, np.float32)
            sub_scores[valid] = state.segment_scores[row][sub_ids[valid]]
            ids[chosen], scores[chosen] = sub_ids, sub_scores
        return ids, scores, self._fallback_reasons(state, users, ids, scores)

    def recommend(  # type: ignore[override]
        self,
        user: Any,
        k: int = 10,
        *,
        exclude_seen: bool = True,
        items: Optional[Any] = None,
        exclude: Optional[Any] = None,
        category: Optional[Any] = None,
        strict: bool = False,
    ) -> Recommendations:
        """The ``k`` most popular items, as :meth:`ItemKNN.recommend`; ``category`` keeps
        only the items of that category (as given to :meth:`fit`). With ``within="segment"``
        the most popular in ``user``'s segment (see the class docstring)."""
        if category is None:
            return super().recommend(user, k, exclude_seen=exclude_seen, items=items, exclude=exclude, strict=strict)
        return super().recommend(user, k, exclude_seen=exclude_seen, items=self._in_category(category, items),
                                 exclude=exclude, strict=strict)

    _aligned_recommend = recommend  # category=None: the recommend of every model

    def _in_category(self, category: Any, items: Optional[Any]) -> Any:
        if category is None:
            return items
        state = self._fitted()
        names = state.category_names.tolist()
        if str(category) not in names:
            raise UnknownIdError(f"category {category!r} is unknown to this model")
        in_category = np.flatnonzero(state.category_codes == names.index(str(category)))
        if items is not None:
            in_category = np.intersect1d(in_category, _ids_filter(items, state.items, "items"))
        return state.items.ids[in_category]

    def recommend_for_history(
        self,
        history: Sequence[Any],
        k: int = 10,
        *,
        weights: Optional[Sequence[float]] = None,
        exclude_seen: bool = True,
        items: Optional[Any] = None,
        exclude: Optional[Any] = None,
        category: Optional[Any] = None,
    ) -> Recommendations:
        """The most popular items for an anonymous or new shopper who just viewed or bought
        ``history`` (no refit).

        With ``within="segment"`` the history is placed with :meth:`InterestSegments.assign`
        (``weights`` as there) and gets its segment's ranking; a history with no known item,
        and any history without segments, gets the whole shop's. ``exclude_seen`` leaves out
        the history items; ``items``, ``exclude`` and ``category`` as in :meth:`recommend`.
        """
        state = self._fitted()
        k = _check_k_within(k, state)
        history_list = filter_ids(history, "history")
        positions = state.items.indices(history_list, "history")
        weights = _history_weights(weights, len(positions))
        seen = positions[positions >= 0] if exclude_seen else np.zeros(0, np.int32)
        excluded = _ids_filter(exclude, state.items, "exclude")
        excluded = seen if excluded is None else np.concatenate([excluded, seen])
        row = len(getattr(state, "segment_indexes", (None,))) - 1
        if getattr(state, "segments", None) is not None:
            segment = state.segments.assign(list(history_list), weights)
            row = segment if segment >= 0 else row
        index = state.segment_indexes[row] if getattr(state, "segments", None) is not None else state.index
        item_filter = _ids_filter(self._in_category(category, items), state.items, "items")
        ids, _ = index.recommend(-1, k, item_filter, np.ascontiguousarray(excluded, np.int32), False)
        ids = ids[: int(np.count_nonzero(ids >= 0))]
        scores = state.segment_scores[row][ids] if getattr(state, "segments", None) is not None else state.popularity[ids]
        # With segments, a history none of whose items is known gets the whole shop's ranking.
        reason = "empty_history" if getattr(state, "segments", None) is not None and not np.any(positions >= 0) else None
        return Recommendations.because(state.items.ids[ids], scores, reason)

    def _predict_indices(self, state: _State, users: np.ndarray, items: np.ndarray, num_threads: int) -> np.ndarray:
        # A popularity model has no rating model: predict the global mean.
        return np.full(len(users), state.global_mean)

    def _extra_state(self, state: _State) -> Tuple[Dict[str, Any], Dict[str, np.ndarray]]:
        params: Dict[str, Any] = {}
        arrays = {"category_codes": state.category_codes, "category_names": state.category_names}
        if getattr(state, "segments", None) is not None:
            params["segments"], nested = nested_state(state.segments, _SEGMENTS_PREFIX)
            arrays.update(nested)
        return params, arrays

    def _restore(self, base: Dict[str, Any], params: Dict[str, Any], arrays: Dict[str, np.ndarray]) -> None:
        segments = None
        if self.within == "segment":
            if "segments" not in params:
                raise ModelFileError("a Popular(within='segment') file without its segments")
            segments = restore_nested(params["segments"], arrays, _SEGMENTS_PREFIX, InterestSegments)
        self._state = self._make_state(base, arrays["category_codes"], arrays["category_names"], segments)


_SEGMENTS_PREFIX = "segments/"
