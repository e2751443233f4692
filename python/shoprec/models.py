"""The recommenders: ``ItemKNN``, ``UserKNN``, ``Baseline`` and ``Popular``.

Every model is fitted on an :class:`shoprec.Interactions` and answers on the shop's own ids.
Fitting builds one immutable state object (the id maps, the training matrix, the neighbour
arrays, the biases) and a Rust index over its arrays; ``fit`` swaps that state in with one
assignment, so a fitted model can be shared by any number of threads (every request runs in
Rust with the GIL released).

Common behaviour of ``recommend``:

* ranking: score descending, ties broken by item popularity (number of users who interacted
  with the item in the training data), then by item index;
* ``exclude_seen`` removes the user's training items; ``items`` restricts the candidates (e.g.
  to what is in stock); ``exclude`` removes ids; unknown ids in ``items`` and ``exclude`` are
  ignored;
* exactly ``k`` results whenever ``k`` candidates exist (items the model has no evidence for
  score 0 and are ranked by popularity); with fewer candidates, all of them;
* an unknown user, or one with no training interactions, gets the most popular candidates
  (the :class:`Popular` fallback) with their popularity as score: never an exception and never
  an empty list. The kNN models take another fitted :class:`Popular` with
  ``fit(interactions, fallback=...)``, e.g. ``Popular(within="segment")`` ("popular with
  shoppers like you", from :class:`shoprec.InterestSegments`).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Dict, Iterator, List, Optional, Sequence, Tuple, Union, overload

import numpy as np
import scipy.sparse as sp

from . import _core
from ._ids import IdMap
from ._persist import register, save_object
from ._validate import check_choice, check_float, check_int, check_k, check_num_threads
from .errors import DTypeError, InvalidArgumentError, ModelFileError, NotFittedError, UnknownIdError
from .interactions import Interactions
from .recommendations import Recommendations

__all__ = ["Recommendations", "ItemKNN", "UserKNN", "Baseline", "Popular"]

SIMILARITIES = ("pearson", "pearson_baseline", "cosine", "adjusted_cosine", "cosine_corated")
# Shrinkage when none is given: similarities from a handful of co-raters are mostly noise
# (two co-raters always correlate perfectly). 100 for pearson_baseline is surprise's default;
# 25 for pearson: on MovieLens (benches/accuracy.py) 3-fold CV on the training part gives RMSE
# 0.9327 unshrunk, 0.9225 at 25 and 0.9218 at 100 (flat from 25 on); the test RMSE is 0.881
# against 0.900 unshrunk.
DEFAULT_SHRINKAGE = {"pearson_baseline": 100.0, "pearson": 25.0}


# ---------------------------------------------------------------------------- helpers
def _csr_parts(matrix: sp.spmatrix) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(indptr int64, indices int32, data float32) of a CSR matrix, C-contiguous."""
    return (
        np.ascontiguousarray(matrix.indptr, dtype=np.int64),
        np.ascontiguousarray(matrix.indices, dtype=np.int32),
        np.ascontiguousarray(matrix.data, dtype=np.float32),
    )


def _empty_csr(n_rows: int) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    return np.zeros(n_rows + 1, np.int64), np.zeros(0, np.int32), np.zeros(0, np.float32)


def _popularity_ranking(counts: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """(tie-break float32, order int32): items by count descending, then by index."""
    tiebreak = np.ascontiguousarray(counts, dtype=np.float32)
    order = np.lexsort((np.arange(len(tiebreak)), -tiebreak.astype(np.float64))).astype(np.int32)
    return tiebreak, order


def _check_interactions(interactions: Any) -> Interactions:
    if not isinstance(interactions, Interactions):
        raise DTypeError(f"fit needs a shoprec.Interactions, got {type(interactions).__name__}")
    return interactions


@overload
def _ids_filter(ids: None, id_map: IdMap, name: str) -> None: ...
@overload
def _ids_filter(ids: Any, id_map: IdMap, name: str) -> Optional[np.ndarray]: ...
def _ids_filter(ids: Optional[Any], id_map: IdMap, name: str) -> Optional[np.ndarray]:
    """The known indices of ``ids`` as int32 (None stays None: no filter)."""
    if ids is None:
        return None
    if isinstance(ids, (str, bytes)) or not hasattr(ids, "__len__"):
        ids = [ids]
    return np.ascontiguousarray(id_map.known_indices(ids, name), dtype=np.int32)


def _read_only(*arrays: np.ndarray) -> None:
    for array in arrays:
        if array.flags.writeable:
            array.setflags(write=False)


class _State:
    """Everything a fitted model answers from. Never modified after construction."""

    if TYPE_CHECKING:  # the fields differ per model type

        def __getattr__(self, name: str) -> Any: ...

    def __init__(self, **fields: Any) -> None:
        self.__dict__.update(fields)
        for value in fields.values():
            if isinstance(value, np.ndarray):
                _read_only(value)


def _rows_to_recommendations(item_ids: np.ndarray, ids: np.ndarray, scores: np.ndarray) -> List[Recommendations]:
    """One :class:`Recommendations` per row of ``(ids, scores)`` (padded with -1), built with
    one vectorised id lookup; rows are views of the two result arrays."""
    valid = ids >= 0
    shop_ids = item_ids[np.where(valid, ids, 0)] if len(item_ids) else np.empty(ids.shape, item_ids.dtype)
    out = [Recommendations(i, s) for i, s in zip(shop_ids, scores)]
    if not valid.all():
        # Rows with fewer candidates than k: trim the padding (rare: tiny catalogues, filters).
        counts = valid.sum(axis=1)
        for r in np.flatnonzero(counts < ids.shape[1]).tolist():
            n = int(counts[r])
            out[r] = Recommendations(shop_ids[r, :n], scores[r, :n])
    return out


class _Model:
    """Shared machinery: parameters, fitted state, recommend/predict on shop ids, save."""

    _state: Optional[_State]
    _param_names: Tuple[str, ...] = ()

    def get_params(self) -> Dict[str, Any]:
        """The constructor parameters, as a dict (``type(model)(**model.get_params())``
        builds an unfitted copy)."""
        return {name: getattr(self, name) for name in self._param_names}

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({params})"

    @property
    def is_fitted(self) -> bool:
        return getattr(self, "_state", None) is not None

    def _fitted(self) -> _State:
        state = getattr(self, "_state", None)
        if state is None:
            raise NotFittedError(f"this {type(self).__name__} is not fitted yet: call fit(interactions) first")
        return state

    @property
    def user_ids(self) -> np.ndarray:
        """The user ids the model knows, in index order."""
        return self._fitted().users.ids

    @property
    def item_ids(self) -> np.ndarray:
        """The item ids the model knows, in index order."""
        return self._fitted().items.ids

    # ---------------------------------------------------------------- common state
    @staticmethod
    def _base_state(interactions: Interactions) -> Dict[str, Any]:
        csr = interactions.to_csr()
        counts = np.bincount(interactions.items, minlength=interactions.n_items)
        tiebreak, order = _popularity_ranking(counts)
        values = interactions.values
        return dict(
            users=interactions.user_map,
            items=interactions.item_map,
            history=_csr_parts(csr),
            shape=(interactions.n_users, interactions.n_items),
            history_counts=np.diff(csr.indptr).astype(np.int32),
            popularity=tiebreak,
            order=order,
            explicit=interactions.explicit,
            scale=(float(values.min()), float(values.max())),
            global_mean=float(values.mean()),
        )

    def _build_index(self, state: Dict[str, Any], item_based: bool, neighbours: Any, predict_neighbours: Any,
                     residuals: Any) -> Any:
        n_users, n_items = state["shape"]
        return _core.KnnIndex(
            item_based, n_users, n_items, state["history"], neighbours, predict_neighbours, residuals,
            state["popularity"], state["order"],
        )

    # ---------------------------------------------------------------- recommend
    def _static_scores(self, state: _State, user: int, ids: np.ndarray) -> Optional[np.ndarray]:
        """Scores of models that rank by a fixed per-item value (None: keep the index's)."""
        return None

    def _index_for(self, state: _State, user: int) -> Any:
        """The Rust index that ranks for this user (one per segment for a segment Popular)."""
        return state.index

    def recommend(
        self,
        user: Any,
        k: int = 10,
        *,
        exclude_seen: bool = True,
        items: Optional[Any] = None,
        exclude: Optional[Any] = None,
    ) -> Recommendations:
        """The ``k`` best items for ``user``.

        Parameters
        ----------
        user : hashable
            A user id. Unknown users (and users without training interactions) get the most
            popular candidates, scored by their popularity.
        k : int
            How many items, at least 1. When fewer than ``k`` candidates exist, all of them.
        exclude_seen : bool
            Leave out the items the user interacted with in the training data.
        items : sequence of ids, optional
            Only these items may be recommended (e.g. what is in stock).
        exclude : sequence of ids, optional
            These items are never recommended.

        Returns
        -------
        Recommendations
            ``(item id, score)`` pairs, best first.
        """
        state = self._fitted()
        k = check_k(k)
        user_index = state.users.get(user)
        item_filter = _ids_filter(items, state.items, "items")
        exclude_filter = _ids_filter(exclude, state.items, "exclude")
        index = self._index_for(state, user_index)
        ids, scores = index.recommend(user_index, k, item_filter, exclude_filter, bool(exclude_seen))
        n = int(np.count_nonzero(ids >= 0))
        ids, scores = ids[:n], scores[:n]
        static = self._static_scores(state, user_index, ids)
        if static is not None:
            scores = static
        elif user_index < 0 or state.history_counts[user_index] == 0:
            scores = state.popularity[ids]
        return Recommendations(state.items.ids[ids], scores)

    def _recommend_indices(
        self,
        user_indices: np.ndarray,
        k: int,
        *,
        exclude_seen: bool = True,
        items: Optional[np.ndarray] = None,
        exclude: Optional[np.ndarray] = None,
        num_threads: int = 0,
    ) -> Tuple[np.ndarray, np.ndarray]:
        """(item indices, scores), each ``len(user_indices) x k``, padded with -1 / -inf."""
        state = self._fitted()
        users = np.ascontiguousarray(user_indices, dtype=np.int32)
        ids, scores = state.index.recommend_many(users, k, items, exclude, bool(exclude_seen), num_threads)
        static_rows = (users < 0) | (state.history_counts[np.maximum(users, 0)] == 0)
        valid = ids >= 0
        if self._has_static_scores:
            for row in range(len(users)):
                static = self._static_scores(state, int(users[row]), ids[row][valid[row]])
                scores[row, valid[row]] = static
        elif static_rows.any():
            rows = np.flatnonzero(static_rows)
            sub_ids, sub_valid = ids[rows], valid[rows]
            sub_scores = scores[rows]
            sub_scores[sub_valid] = state.popularity[sub_ids[sub_valid]]
            scores[rows] = sub_scores
        return ids, scores

    _has_static_scores = False

    def recommend_many(
        self,
        users: Sequence[Any],
        k: int = 10,
        *,
        exclude_seen: bool = True,
        items: Optional[Any] = None,
        exclude: Optional[Any] = None,
        num_threads: int = 0,
    ) -> List[Recommendations]:
        """:meth:`recommend` for many users at once, in parallel in Rust (GIL released,
        memory bounded by one score row per thread). Same arguments and rules as
        :meth:`recommend`; returns one :class:`Recommendations` per user, in order.
        """
        state = self._fitted()
        k = check_k(k)
        num_threads = check_num_threads(num_threads)
        user_indices = state.users.indices(users, "users")
        ids, scores = self._recommend_indices(
            user_indices, k, exclude_seen=exclude_seen,
            items=_ids_filter(items, state.items, "items"),
            exclude=_ids_filter(exclude, state.items, "exclude"), num_threads=num_threads,
        )
        return _rows_to_recommendations(state.items.ids, ids, scores)

    # ---------------------------------------------------------------- predict
    def predict(self, user: Any, item: Any) -> float:
        """The predicted rating (or weight) of ``item`` for ``user``, clipped to the training
        scale. Unknown users or items fall back to the biases / means that are known."""
        return float(self.predict_many([user], [item])[0])

    def predict_many(self, users: Sequence[Any], items: Sequence[Any], *, num_threads: int = 0) -> np.ndarray:
        """:meth:`predict` for pairs ``(users[j], items[j])``; returns float64 predictions."""
        state = self._fitted()
        num_threads = check_num_threads(num_threads)
        user_index = state.users.indices(users, "users")
        item_index = state.items.indices(items, "items")
        if len(user_index) != len(item_index):
            from .errors import ShapeMismatchError

            raise ShapeMismatchError(f"{len(user_index)} users but {len(item_index)} items")
        raw = self._predict_indices(state, user_index, item_index, num_threads)
        low, high = state.scale
        return np.clip(raw, low, high)

    def _predict_indices(self, state: _State, users: np.ndarray, items: np.ndarray, num_threads: int) -> np.ndarray:
        raise NotImplementedError

    # ---------------------------------------------------------------- persistence
    def save(self, path: Union[str, "os.PathLike[str]"]) -> None:
        """Save the fitted model to one file (atomic; load with :func:`shoprec.load`). The
        file holds the parameters, id maps and arrays, a format version and a checksum."""
        self._fitted()
        save_object(path, self)

    def _to_state(self) -> Tuple[Dict[str, Any], Dict[str, np.ndarray]]:
        state = self._fitted()
        params = {
            "params": self.get_params(),
            "shape": list(state.shape),
            "explicit": state.explicit,
            "scale": list(state.scale),
            "global_mean": state.global_mean,
        }
        indptr, indices, data = state.history
        arrays = {
            "user_ids": state.users.ids, "item_ids": state.items.ids,
            "history_indptr": indptr, "history_indices": indices, "history_data": data,
            "popularity": state.popularity, "order": state.order,
        }
        extra_params, extra_arrays = self._extra_state(state)
        params.update(extra_params)
        arrays.update(extra_arrays)
        return params, arrays

    def _extra_state(self, state: _State) -> Tuple[Dict[str, Any], Dict[str, np.ndarray]]:
        return {}, {}

    @classmethod
    def _from_state(cls, params: Dict[str, Any], arrays: Dict[str, np.ndarray]) -> "_Model":
        model = cls(**params["params"])
        users, items = IdMap(arrays["user_ids"]), IdMap(arrays["item_ids"])
        shape = (int(params["shape"][0]), int(params["shape"][1]))
        if shape != (len(users), len(items)):
            raise ModelFileError("the id maps do not match the stored shape")
        history = (arrays["history_indptr"], arrays["history_indices"], arrays["history_data"])
        base = dict(
            users=users, items=items, history=history, shape=shape,
            history_counts=np.diff(history[0]).astype(np.int32),
            popularity=arrays["popularity"], order=arrays["order"],
            explicit=bool(params["explicit"]), scale=tuple(float(v) for v in params["scale"]),
            global_mean=float(params["global_mean"]),
        )
        try:
            model._restore(base, params, arrays)
        except InvalidArgumentError as exc:  # the Rust index refused the arrays
            raise ModelFileError(f"inconsistent model arrays: {exc}") from None
        return model

    def _restore(self, base: Dict[str, Any], params: Dict[str, Any], arrays: Dict[str, np.ndarray]) -> None:
        raise NotImplementedError


def _fit_biases(
    users: np.ndarray, items: np.ndarray, values: np.ndarray, n_users: int, n_items: int,
    reg_users: float, reg_items: float, n_epochs: int,
) -> Tuple[float, np.ndarray, np.ndarray]:
    """Alternating least squares for ``r ~ mu + b_u + b_i`` with L2 penalties (the updates of
    scikit-surprise's ``baseline_als``: items first, then users, ``n_epochs`` times)."""
    mu = float(values.mean())
    b_user = np.zeros(n_users)
    b_item = np.zeros(n_items)
    count_user = np.bincount(users, minlength=n_users)
    count_item = np.bincount(items, minlength=n_items)
    for _ in range(n_epochs):
        b_item = np.bincount(items, values - mu - b_user[users], minlength=n_items) / (reg_items + count_item)
        b_user = np.bincount(users, values - mu - b_item[items], minlength=n_users) / (reg_users + count_user)
    return mu, b_user, b_item


# ---------------------------------------------------------------------------- Popular
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
        base = self._base_state(inter)
        if self.by == "weight":
            weights = np.bincount(inter.items, inter.values, minlength=inter.n_items)
            base["popularity"], base["order"] = _popularity_ranking(weights)
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
        from .segments import InterestSegments

        if not isinstance(segments, InterestSegments):
            raise DTypeError(f"segments must be a shoprec.InterestSegments, got {type(segments).__name__}")
        segments._check_fitted()
        users, items = base["users"], base["items"]
        n_users, n_items = base["shape"]
        user_rows = IdMap(segments.user_ids).indices(users.ids, "users")
        if len(segments.user_ids) != n_users or np.any(user_rows < 0):
            raise InvalidArgumentError(
                "segments were fitted on different shoppers than these interactions: fit both on the same Interactions"
            )
        item_rows = segments._item_index(items.ids, "items")
        if len(segments.item_ids) != n_items or np.any(item_rows < 0):
            raise InvalidArgumentError(
                "segments were fitted on different items than these interactions: fit both on the same Interactions"
            )
        indptr, indices, _ = base["history"]
        counts = np.bincount(indices, minlength=n_items)
        reach_all = np.asarray(segments._item_reach.sum(axis=0)).ravel()[item_rows]
        if not np.array_equal(reach_all, counts):
            raise InvalidArgumentError(
                "segments were fitted on different interactions (the shoppers per item differ): "
                "fit both on the same Interactions"
            )
        position = np.arange(n_items)
        popularity = np.asarray(base["popularity"], dtype=np.float64)
        indexes, scores = [], []
        for segment in range(segments.n_segments):
            reach, key = segments._segment_popularity(segment)
            reach, key = reach[item_rows], key[item_rows]
            if self.by == "weight":
                key = segments._item_weight[segment].toarray().ravel()[item_rows]
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
    ) -> Tuple[np.ndarray, np.ndarray]:
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
        return ids, scores

    def recommend(  # type: ignore[override]
        self,
        user: Any,
        k: int = 10,
        *,
        exclude_seen: bool = True,
        items: Optional[Any] = None,
        exclude: Optional[Any] = None,
        category: Optional[Any] = None,
    ) -> Recommendations:
        """The ``k`` most popular items, as :meth:`ItemKNN.recommend`; ``category`` keeps
        only the items of that category (as given to :meth:`fit`). With ``within="segment"``
        the most popular in ``user``'s segment (see the class docstring)."""
        if category is None:
            return super().recommend(user, k, exclude_seen=exclude_seen, items=items, exclude=exclude)
        return super().recommend(user, k, exclude_seen=exclude_seen, items=self._in_category(category, items),
                                 exclude=exclude)

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
        k = check_k(k)
        history_list = [history] if isinstance(history, (str, bytes)) or not hasattr(history, "__len__") else history
        positions = state.items.indices(history_list, "history")
        seen = positions[positions >= 0] if exclude_seen else np.zeros(0, np.int32)
        excluded = _ids_filter(exclude, state.items, "exclude")
        excluded = seen if excluded is None else np.concatenate([excluded, seen])
        row = len(getattr(state, "segment_indexes", (None,))) - 1
        if getattr(state, "segments", None) is not None:
            segment = state.segments.assign(list(history_list), weights)
            row = segment if segment >= 0 else row
        elif weights is not None and len(weights) != len(positions):
            from .errors import ShapeMismatchError

            raise ShapeMismatchError(f"{len(weights)} weights for {len(positions)} history items")
        index = state.segment_indexes[row] if getattr(state, "segments", None) is not None else state.index
        item_filter = _ids_filter(self._in_category(category, items), state.items, "items")
        ids, _ = index.recommend(-1, k, item_filter, np.ascontiguousarray(excluded, np.int32), False)
        ids = ids[: int(np.count_nonzero(ids >= 0))]
        scores = state.segment_scores[row][ids] if getattr(state, "segments", None) is not None else state.popularity[ids]
        return Recommendations(state.items.ids[ids], scores)

    def _predict_indices(self, state: _State, users: np.ndarray, items: np.ndarray, num_threads: int) -> np.ndarray:
        # A popularity model has no rating model: predict the global mean.
        return np.full(len(users), state.global_mean)

    def _extra_state(self, state: _State) -> Tuple[Dict[str, Any], Dict[str, np.ndarray]]:
        params: Dict[str, Any] = {}
        arrays = {"category_codes": state.category_codes, "category_names": state.category_names}
        if getattr(state, "segments", None) is not None:
            params["segments"], nested = state.segments._to_state()
            arrays.update({_SEGMENTS_PREFIX + name: array for name, array in nested.items()})
        return params, arrays

    def _restore(self, base: Dict[str, Any], params: Dict[str, Any], arrays: Dict[str, np.ndarray]) -> None:
        segments = None
        if self.within == "segment":
            from .segments import InterestSegments

            if "segments" not in params:
                raise ModelFileError("a Popular(within='segment') file without its segments")
            nested = {name[len(_SEGMENTS_PREFIX):]: array for name, array in arrays.items()
                      if name.startswith(_SEGMENTS_PREFIX)}
            segments = InterestSegments._from_state(params["segments"], nested)
        self._state = self._make_state(base, arrays["category_codes"], arrays["category_names"], segments)


_SEGMENTS_PREFIX = "segments/"


# ---------------------------------------------------------------------------- Baseline
@register("Baseline")
class Baseline(_Model):
    """User and item biases: ``r ~ mu + b_u + b_i``, by regularised alternating least squares.

    ``b_i = sum_u (r_ui - mu - b_u) / (reg_items + n_i)`` then
    ``b_u = sum_i (r_ui - mu - b_i) / (reg_users + n_u)``, repeated ``n_epochs`` times (the
    defaults are scikit-surprise's ``BaselineOnly`` ALS defaults). Unknown users or items
    have bias 0. :meth:`recommend` ranks by ``b_i`` (the user's bias does not change the
    order) and scores with the full prediction; since that ranking needs nothing from the
    user, unknown users get it too (instead of the popularity fallback of other models).

    Parameters
    ----------
    reg_users, reg_items : float
        L2 penalties, >= 0.
    n_epochs : int
        Alternating rounds, >= 1.
    """

    _param_names = ("reg_users", "reg_items", "n_epochs")
    _has_static_scores = True

    def __init__(self, reg_users: float = 15.0, reg_items: float = 10.0, n_epochs: int = 10) -> None:
        self.reg_users = check_float(reg_users, "reg_users", minimum=0.0)
        self.reg_items = check_float(reg_items, "reg_items", minimum=0.0)
        self.n_epochs = check_int(n_epochs, "n_epochs", minimum=1)
        self._state = None

    def fit(self, interactions: Interactions) -> "Baseline":
        """Learn the biases from ``interactions``."""
        inter = _check_interactions(interactions)
        base = self._base_state(inter)
        mu, b_user, b_item = _fit_biases(
            inter.users, inter.items, inter.values, inter.n_users, inter.n_items,
            self.reg_users, self.reg_items, self.n_epochs,
        )
        self._state = self._make_state(base, mu, b_user, b_item)
        return self

    def _make_state(self, base: Dict[str, Any], mu: float, b_user: np.ndarray, b_item: np.ndarray) -> _State:
        n_users, n_items = base["shape"]
        tiebreak, order = _popularity_ranking(b_item)
        # The index ranks by the tie-break alone (no neighbours): the item biases.
        ranking_base = dict(base, popularity=tiebreak, order=order)
        index = self._build_index(ranking_base, True, _empty_csr(n_items), _empty_csr(n_items), _empty_csr(n_users))
        return _State(index=index, mu=mu, b_user=b_user, b_item=b_item, **base)

    @property
    def biases(self) -> Tuple[float, np.ndarray, np.ndarray]:
        """``(mu, b_user, b_item)``, indexed like :attr:`user_ids` and :attr:`item_ids`."""
        state = self._fitted()
        return state.mu, state.b_user, state.b_item

    def _static_scores(self, state: _State, user: int, ids: np.ndarray) -> np.ndarray:
        user_bias = state.b_user[user] if user >= 0 else 0.0
        return (state.mu + user_bias + state.b_item[ids]).astype(np.float32)

    def _predict_indices(self, state: _State, users: np.ndarray, items: np.ndarray, num_threads: int) -> np.ndarray:
        return _bias_prediction(state, users, items)

    def _extra_state(self, state: _State) -> Tuple[Dict[str, Any], Dict[str, np.ndarray]]:
        return {"mu": state.mu}, {"b_user": state.b_user, "b_item": state.b_item}

    def _restore(self, base: Dict[str, Any], params: Dict[str, Any], arrays: Dict[str, np.ndarray]) -> None:
        self._state = self._make_state(base, float(params["mu"]), arrays["b_user"], arrays["b_item"])


def _bias_prediction(state: _State, users: np.ndarray, items: np.ndarray) -> np.ndarray:
    user_bias = np.where(users >= 0, state.b_user[np.maximum(users, 0)], 0.0)
    item_bias = np.where(items >= 0, state.b_item[np.maximum(items, 0)], 0.0)
    return state.mu + user_bias + item_bias


# ---------------------------------------------------------------------------- kNN
class _KNN(_Model):
    """Shared by ItemKNN (x = item, y = user) and UserKNN (x = user, y = item)."""

    _item_based = True
    _param_names = ("k_neighbours", "similarity", "min_support", "shrinkage", "baseline",
                    "max_neighbours", "min_k", "reg_users", "reg_items", "n_epochs", "num_threads")

    def __init__(
        self,
        k_neighbours: int = 40,
        similarity: str = "pearson",
        *,
        min_support: int = 1,
        shrinkage: Optional[float] = None,
        baseline: bool = False,
        max_neighbours: Optional[int] = 1000,
        min_k: int = 1,
        reg_users: float = 15.0,
        reg_items: float = 10.0,
        n_epochs: int = 10,
        num_threads: int = 0,
    ) -> None:
        self.k_neighbours = check_k(k_neighbours, "k_neighbours")
        self.similarity = check_choice(similarity, "similarity", SIMILARITIES)
        self.min_support = check_int(min_support, "min_support", minimum=0)
        self.shrinkage = None if shrinkage is None else check_float(shrinkage, "shrinkage", minimum=0.0)
        if not isinstance(baseline, (bool, np.bool_)):
            raise DTypeError(f"baseline must be True or False, got {type(baseline).__name__}")
        self.baseline = bool(baseline)
        self.max_neighbours = None if max_neighbours is None else check_k(max_neighbours, "max_neighbours")
        if self.max_neighbours is not None and self.max_neighbours < self.k_neighbours:
            raise InvalidArgumentError(
                f"max_neighbours ({self.max_neighbours}) must be at least k_neighbours ({self.k_neighbours})"
            )
        self.min_k = check_int(min_k, "min_k", minimum=0)
        self.reg_users = check_float(reg_users, "reg_users", minimum=0.0)
        self.reg_items = check_float(reg_items, "reg_items", minimum=0.0)
        self.n_epochs = check_int(n_epochs, "n_epochs", minimum=1)
        self.num_threads = check_num_threads(num_threads)
        self._state = None

    # ---------------------------------------------------------------- fit
    def fit(self, interactions: Interactions, *, fallback: Optional["Popular"] = None) -> "_KNN":
        """Compute the neighbours, means and (optionally) biases of ``interactions``.

        Parameters
        ----------
        interactions : Interactions
        fallback : Popular, optional
            A :class:`Popular` fitted on the same ``interactions`` (e.g.
            ``Popular(within="segment").fit(interactions, segments=segments)``), saved inside
            the model file. Unknown users, users without training interactions, and users for
            whom no candidate has a positive neighbour score then get its recommendations
            (also in :meth:`recommend_many` and, for histories, :meth:`recommend_for_history`).
            Without it (the default) these users get the most popular candidates.
        """
        from .kernels import pearson_neighbours

        inter = _check_interactions(interactions)
        base = self._base_state(inter)
        base["fallback"] = _check_fallback(fallback, base)
        n_users, n_items = inter.n_users, inter.n_items
        users, items, values = inter.users, inter.items, inter.values
        need_biases = self.baseline or self.similarity == "pearson_baseline"
        if need_biases:
            mu, b_user, b_item = _fit_biases(users, items, values, n_users, n_items,
                                             self.reg_users, self.reg_items, self.n_epochs)
        else:
            mu, b_user, b_item = float(values.mean()), np.zeros(n_users), np.zeros(n_items)
        csr = inter.to_csr()
        if self.similarity == "pearson_baseline":
            residual = values - (mu + b_user[users] + b_item[items])
            sim_input = sp.csr_matrix((residual, csr.indices, csr.indptr), shape=csr.shape)
            kind = "cosine_corated"
            shrinkage = 100.0 if self.shrinkage is None else self.shrinkage
        else:
            sim_input, kind = csr, self.similarity
            default = DEFAULT_SHRINKAGE.get(self.similarity, 0.0)
            shrinkage = default if self.shrinkage is None else self.shrinkage
        n_x = n_items if self._item_based else n_users
        keep = n_x if self.max_neighbours is None else min(self.max_neighbours, max(n_x, 1))
        wide = pearson_neighbours(
            sim_input, keep, axis="items" if self._item_based else "users", similarity=kind,
            min_support=self.min_support, shrinkage=shrinkage, num_threads=self.num_threads,
        )
        # Rows are ordered by similarity: the first k_neighbours of each row are its top k.
        narrow = _truncate_rows(wide, self.k_neighbours)
        counts_user = np.bincount(users, minlength=n_users)
        counts_item = np.bincount(items, minlength=n_items)
        with np.errstate(invalid="ignore", divide="ignore"):
            user_means = np.where(counts_user > 0, np.bincount(users, values, n_users) / np.maximum(counts_user, 1), mu)
            item_means = np.where(counts_item > 0, np.bincount(items, values, n_items) / np.maximum(counts_item, 1), mu)
        self._state = self._make_state(
            base, _csr_parts(narrow), _csr_parts(wide), mu, b_user, b_item, user_means, item_means
        )
        return self

    def _residual_matrix(self, base: Dict[str, Any], mu: float, b_user: np.ndarray, b_item: np.ndarray,
                         user_means: np.ndarray, item_means: np.ndarray) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Residuals ``y x x`` of every training value against the neighbour's base value."""
        indptr, indices, _ = base["history"]
        n_users, n_items = base["shape"]
        rows = np.repeat(np.arange(n_users, dtype=np.int32), np.diff(indptr))
        values = base["history_values"]
        if self.baseline:
            residual = values - (mu + b_user[rows] + b_item[indices])
        elif self._item_based:
            residual = values - item_means[indices]
        else:
            residual = values - user_means[rows]
        matrix = sp.csr_matrix((residual, indices, indptr), shape=(n_users, n_items))
        if not self._item_based:
            matrix = matrix.T.tocsr()
            matrix.sort_indices()
        return _csr_parts(matrix)

    def _make_state(self, base: Dict[str, Any], neighbours: Any, predict_neighbours: Any, mu: float,
                    b_user: np.ndarray, b_item: np.ndarray, user_means: np.ndarray, item_means: np.ndarray) -> _State:
        # Residuals are recomputed from the history (float64 values kept for this) rather than saved.
        base = dict(base)
        if "history_values" not in base:
            base["history_values"] = base["history"][2].astype(np.float64)
        residuals = self._residual_matrix(base, mu, b_user, b_item, user_means, item_means)
        index = self._build_index(base, self._item_based, neighbours, predict_neighbours, residuals)
        return _State(
            index=index, neighbours=neighbours, predict_neighbours=predict_neighbours, mu=mu,
            b_user=b_user, b_item=b_item, user_means=user_means, item_means=item_means, **base,
        )

    @staticmethod
    def _base_state(interactions: Interactions) -> Dict[str, Any]:
        base = _Model._base_state(interactions)
        base["history_values"] = interactions.values
        return base

    # ---------------------------------------------------------------- predict
    def _predict_indices(self, state: _State, users: np.ndarray, items: np.ndarray, num_threads: int) -> np.ndarray:
        xs, ys = (items, users) if self._item_based else (users, items)
        mean_residual, used = state.index.predict(
            np.ascontiguousarray(xs, np.int32), np.ascontiguousarray(ys, np.int32),
            self.k_neighbours, self.min_k, num_threads,
        )
        if self.baseline:
            offset = _bias_prediction(state, users, items)
        else:
            x_means = state.item_means if self._item_based else state.user_means
            y_means = state.user_means if self._item_based else state.item_means
            # Unknown x: the mean of y if known, else the global mean.
            offset = np.where(
                xs >= 0, x_means[np.maximum(xs, 0)], np.where(ys >= 0, y_means[np.maximum(ys, 0)], state.global_mean)
            )
        return offset + mean_residual.astype(np.float64)

    # ---------------------------------------------------------------- queries
    def recommend_for_history(
        self,
        history: Sequence[Any],
        k: int = 10,
        *,
        weights: Optional[Sequence[float]] = None,
        exclude_seen: bool = True,
        items: Optional[Any] = None,
        exclude: Optional[Any] = None,
    ) -> Recommendations:
        """Recommendations for an anonymous or brand-new user from the items they just
        viewed or bought, without refitting.

        Parameters
        ----------
        history : sequence of item ids
            Unknown ids are ignored; with no known item the popular fallback applies.
        weights : sequence of float, optional
            The value of each history item (default 1). With the user's own training items and
            values this gives exactly :meth:`recommend` (item-based models).
        exclude_seen : bool
            Leave out the history items.
        items, exclude : as in :meth:`recommend`.

        Notes
        -----
        ``UserKNN`` finds the neighbours of the new user by the cosine similarity of the
        weighted history with every training user (the ``k_neighbours`` most similar).
        """
        state = self._fitted()
        k = check_k(k)
        history_list = [history] if isinstance(history, (str, bytes)) or not hasattr(history, "__len__") else history
        positions = state.items.indices(history_list, "history")
        if weights is None:
            weight_array: np.ndarray = np.ones(len(positions), np.float32)
        else:
            weight_array = np.asarray(weights, dtype=np.float64).reshape(-1)
            if weight_array.shape != (len(positions),):
                from .errors import ShapeMismatchError

                raise ShapeMismatchError(f"{len(weight_array)} weights for {len(positions)} history items")
            if not np.all(np.isfinite(weight_array)):
                raise InvalidArgumentError("weights contain NaN or infinite values")
        known = positions >= 0
        positions = np.ascontiguousarray(positions[known], np.int32)
        weight_array = np.ascontiguousarray(weight_array[known], np.float32)
        seen = positions if exclude_seen else np.zeros(0, np.int32)
        if self._item_based:
            sources, source_weights = positions, weight_array
        else:
            sources, source_weights = self._users_like(state, positions, weight_array)
        ids, scores = state.index.recommend_query(
            sources, source_weights, np.ascontiguousarray(seen), k,
            _ids_filter(items, state.items, "items"), _ids_filter(exclude, state.items, "exclude"),
        )
        n = int(np.count_nonzero(ids >= 0))
        ids, scores = ids[:n], scores[:n]
        if state.fallback is not None and (len(sources) == 0 or len(scores) == 0 or not scores[0] > 0):
            return state.fallback.recommend_for_history(history, k, weights=weights, exclude_seen=exclude_seen,
                                                        items=items, exclude=exclude)
        if len(sources) == 0:
            scores = state.popularity[ids]
        return Recommendations(state.items.ids[ids], scores)

    def _users_like(self, state: _State, positions: np.ndarray, weights: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        """The k_neighbours training users most cosine-similar to a weighted item vector."""
        if len(positions) == 0:
            return np.zeros(0, np.int32), np.zeros(0, np.float32)
        matrix = self._history_matrix(state)
        vector = np.zeros(state.shape[1])
        np.add.at(vector, positions, weights)
        sims = _cosine_to_all(matrix, vector)
        order = np.flatnonzero(sims > 0)
        order = order[np.lexsort((order, -sims[order]))][: self.k_neighbours]
        return order.astype(np.int32), sims[order].astype(np.float32)

    @staticmethod
    def _history_matrix(state: _State) -> sp.csr_matrix:
        indptr, indices, data = state.history
        return sp.csr_matrix((data, indices, indptr), shape=state.shape)

    def similar_items(self, item: Any, k: int = 10, *, items: Optional[Any] = None,
                      exclude: Optional[Any] = None) -> Recommendations:
        """The ``k`` items most similar to ``item`` (never itself), best first.

        ``ItemKNN`` answers from its stored neighbours (the model's similarity; at most
        ``max_neighbours`` of them); ``UserKNN`` computes the cosine similarity of the items'
        interaction columns. Raises :class:`UnknownIdError` for an unknown item.
        """
        state = self._fitted()
        k = check_k(k)
        position = state.items.index(item, "item")
        if self._item_based:
            ids, sims = _row(state.predict_neighbours, position)
        else:
            columns = self._history_matrix(state).T.tocsr()
            ids, sims = _cosine_ranked(columns, position)
        return self._filtered(state.items, ids, sims, k, items, exclude)

    def similar_users(self, user: Any, k: int = 10) -> Recommendations:
        """The ``k`` users most similar to ``user`` (never themselves), best first.

        ``UserKNN`` answers from its stored neighbours; ``ItemKNN`` computes the cosine
        similarity of the users' interaction rows. Raises :class:`UnknownIdError` for an
        unknown user.
        """
        state = self._fitted()
        k = check_k(k)
        position = state.users.index(user, "user")
        if self._item_based:
            ids, sims = _cosine_ranked(self._history_matrix(state), position)
        else:
            ids, sims = _row(state.predict_neighbours, position)
        return self._filtered(state.users, ids, sims, k, None, None)

    @staticmethod
    def _filtered(id_map: IdMap, ids: np.ndarray, sims: np.ndarray, k: int, items: Optional[Any],
                  exclude: Optional[Any]) -> Recommendations:
        keep = np.ones(len(ids), bool)
        if items is not None:
            keep &= np.isin(ids, _ids_filter(items, id_map, "items"))
        if exclude is not None:
            keep &= ~np.isin(ids, _ids_filter(exclude, id_map, "exclude"))
        ids, sims = ids[keep][:k], sims[keep][:k]
        return Recommendations(id_map.ids[ids], sims.astype(np.float32))

    def explain(self, user: Any, item: Any) -> List[Tuple[Any, float]]:
        """Why ``item`` scores for ``user`` in :meth:`recommend`: the contributions, summing
        to the item's score, best first.

        ``ItemKNN``: ``(history item id, value x similarity)`` for every training item of the
        user whose neighbours include ``item`` ("because you bought X"). ``UserKNN``:
        ``(neighbour user id, similarity x value)`` for every neighbour who has ``item``.
        Raises :class:`UnknownIdError` for an unknown user or item.
        """
        state = self._fitted()
        user_index = state.users.index(user, "user")
        item_index = state.items.index(item, "item")
        sources, contributions = state.index.explain(user_index, item_index)
        order = np.lexsort((sources, -contributions.astype(np.float64)))
        id_map = state.items if self._item_based else state.users
        return list(zip(id_map.ids[sources[order]].tolist(), contributions[order].astype(float).tolist()))

    # ---------------------------------------------------------------- persistence
    def _extra_state(self, state: _State) -> Tuple[Dict[str, Any], Dict[str, np.ndarray]]:
        arrays = {
            "history_values": state.history_values,
            "b_user": state.b_user, "b_item": state.b_item,
            "user_means": state.user_means, "item_means": state.item_means,
        }
        for name, (indptr, indices, data) in (("neighbours", state.neighbours),
                                              ("predict_neighbours", state.predict_neighbours)):
            arrays[f"{name}_indptr"], arrays[f"{name}_indices"], arrays[f"{name}_data"] = indptr, indices, data
        params: Dict[str, Any] = {"mu": state.mu}
        if state.fallback is not None:
            params["fallback"], nested = state.fallback._to_state()
            arrays.update({_FALLBACK_PREFIX + name: array for name, array in nested.items()})
        return params, arrays

    # ---------------------------------------------------------------- fallback
    @property
    def fallback(self) -> Optional["Popular"]:
        """The :class:`Popular` given to :meth:`fit` as ``fallback`` (None: the default)."""
        return self._fitted().fallback

    @staticmethod
    def _needs_fallback(state: _State, user: int, scores: np.ndarray) -> bool:
        if state.fallback is None:
            return False
        return user < 0 or state.history_counts[user] == 0 or len(scores) == 0 or not scores[0] > 0

    def recommend(
        self,
        user: Any,
        k: int = 10,
        *,
        exclude_seen: bool = True,
        items: Optional[Any] = None,
        exclude: Optional[Any] = None,
    ) -> Recommendations:
        recs = super().recommend(user, k, exclude_seen=exclude_seen, items=items, exclude=exclude)
        state = self._fitted()
        if self._needs_fallback(state, state.users.get(user), recs.scores):
            return state.fallback.recommend(user, k, exclude_seen=exclude_seen, items=items, exclude=exclude)
        return recs

    recommend.__doc__ = _Model.recommend.__doc__

    def _recommend_indices(
        self,
        user_indices: np.ndarray,
        k: int,
        *,
        exclude_seen: bool = True,
        items: Optional[np.ndarray] = None,
        exclude: Optional[np.ndarray] = None,
        num_threads: int = 0,
    ) -> Tuple[np.ndarray, np.ndarray]:
        ids, scores = super()._recommend_indices(user_indices, k, exclude_seen=exclude_seen, items=items,
                                                 exclude=exclude, num_threads=num_threads)
        state = self._fitted()
        if state.fallback is not None and len(ids):
            users = np.asarray(user_indices, dtype=np.int32)
            cold = (users < 0) | (state.history_counts[np.maximum(users, 0)] == 0) | ~(scores[:, 0] > 0)
            if cold.any():
                rows = np.flatnonzero(cold)
                ids[rows], scores[rows] = state.fallback._recommend_indices(
                    users[rows], k, exclude_seen=exclude_seen, items=items, exclude=exclude, num_threads=num_threads)
        return ids, scores

    def _restore(self, base: Dict[str, Any], params: Dict[str, Any], arrays: Dict[str, np.ndarray]) -> None:
        base["history_values"] = arrays["history_values"]
        base["fallback"] = None
        if "fallback" in params:
            nested = {name[len(_FALLBACK_PREFIX):]: array for name, array in arrays.items()
                      if name.startswith(_FALLBACK_PREFIX)}
            base["fallback"] = _check_fallback(Popular._from_state(params["fallback"], nested), base)
        neighbours = tuple(arrays[f"neighbours_{p}"] for p in ("indptr", "indices", "data"))
        wide = tuple(arrays[f"predict_neighbours_{p}"] for p in ("indptr", "indices", "data"))
        self._state = self._make_state(
            base, neighbours, wide, float(params["mu"]), arrays["b_user"], arrays["b_item"],
            arrays["user_means"], arrays["item_means"],
        )


_FALLBACK_PREFIX = "fallback/"


def _check_fallback(fallback: Optional[Any], base: Dict[str, Any]) -> Optional["Popular"]:
    """``fallback`` if it is a fitted :class:`Popular` on the same users and items (same order)."""
    if fallback is None:
        return None
    if not isinstance(fallback, Popular):
        raise DTypeError(f"fallback must be a fitted shoprec.Popular, got {type(fallback).__name__}")
    state = fallback._fitted()
    if not (np.array_equal(state.users.ids, base["users"].ids) and np.array_equal(state.items.ids, base["items"].ids)):
        raise InvalidArgumentError(
            "the fallback was fitted on different interactions (other users or items): fit both on the same Interactions"
        )
    return fallback


def _truncate_rows(matrix: sp.csr_matrix, k: int) -> sp.csr_matrix:
    """The first ``k`` stored entries of every row (rows keep their stored order)."""
    lengths = np.minimum(np.diff(matrix.indptr), k)
    starts = matrix.indptr[:-1]
    take = np.repeat(starts, lengths) + (np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths))
    indptr = np.zeros(len(lengths) + 1, np.int64)
    np.cumsum(lengths, out=indptr[1:])
    out = sp.csr_matrix((matrix.data[take], matrix.indices[take], indptr), shape=matrix.shape)
    out.has_sorted_indices = False
    return out


def _row(parts: Tuple[np.ndarray, np.ndarray, np.ndarray], row: int) -> Tuple[np.ndarray, np.ndarray]:
    indptr, indices, data = parts
    start, end = int(indptr[row]), int(indptr[row + 1])
    return np.asarray(indices[start:end]), np.asarray(data[start:end])


def _cosine_to_all(matrix: sp.csr_matrix, vector: np.ndarray) -> np.ndarray:
    """Cosine similarity of every row of ``matrix`` with a dense vector."""
    norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1)).ravel())
    dots = matrix @ vector
    denom = norms * np.linalg.norm(vector)
    return np.divide(dots, denom, out=np.zeros_like(dots, dtype=np.float64), where=denom > 0)


def _cosine_ranked(matrix: sp.csr_matrix, row: int) -> Tuple[np.ndarray, np.ndarray]:
    """Rows by cosine similarity to ``row`` (descending, ties by index), positive only."""
    vector = np.asarray(matrix[row].todense(), dtype=np.float64).ravel()
    sims = _cosine_to_all(matrix.astype(np.float64), vector)
    sims[row] = 0.0
    candidates = np.flatnonzero(sims > 0)
    order = candidates[np.lexsort((candidates, -sims[candidates]))]
    return order.astype(np.int32), sims[order]


@register("ItemKNN")
class ItemKNN(_KNN):
    """Item-based k nearest neighbours ("customers who bought this also bought").

    **Recommend** scores item ``i`` for user ``u`` as ``sum_j value_uj * sim(j, i)`` over the
    user's training items ``j`` whose ``k_neighbours`` nearest neighbours include ``i`` (as
    implicit's ``ItemItemRecommender``); see :mod:`shoprec.models` for the ranking rules.

    **Predict** (as scikit-surprise's ``KNNWithMeans`` / ``KNNBaseline`` item-based): among the
    items the user rated, take the ``k_neighbours`` most similar to ``i`` (from the
    ``max_neighbours`` stored per item) with positive similarity, and return
    ``base_ui + sum sim * (r_uj - base_uj) / sum sim``, where ``base`` is the item mean
    (``baseline=False``) or ``mu + b_u + b_j`` (``baseline=True``), clipped to the rating scale.
    With fewer than ``min_k`` such neighbours the prediction is ``base_ui``.

    Parameters
    ----------
    k_neighbours : int
        Neighbours used per prediction and kept per item for recommendations.
    similarity : {"pearson", "pearson_baseline", "cosine", "adjusted_cosine", "cosine_corated"}
        See :func:`shoprec.kernels.pearson_neighbours`. ``"pearson_baseline"`` is
        ``"cosine_corated"`` on the baseline residuals ``r - (mu + b_u + b_i)`` with
        ``shrinkage=100`` by default (scikit-surprise's ``pearson_baseline``, except that the
        shrinkage factor is ``n / (n + shrinkage)`` where surprise uses ``(n-1) / (n-1+shrinkage)``).
    min_support : int
        Minimum number of co-raters for a similarity.
    shrinkage : float, optional
        Similarity shrinkage: each similarity is multiplied by ``n / (n + shrinkage)`` with
        ``n`` co-raters. Default 100 for ``pearson_baseline``, 25 for ``pearson`` (pass 0 for
        scikit-surprise's unshrunk Pearson), else 0.
    baseline : bool
        Predict on baseline residuals (KNNBaseline) instead of means (KNNWithMeans).
    max_neighbours : int or None
        Similarities stored per item for prediction and :meth:`similar_items` (None: all).
    min_k : int
        Minimum neighbours for a kNN prediction (else the base value).
    reg_users, reg_items, n_epochs : baseline ALS settings (see :class:`Baseline`).
    num_threads : int
        Threads for fitting (0: all cores).
    """

    _item_based = True


@register("UserKNN")
class UserKNN(_KNN):
    """User-based k nearest neighbours ("users like you liked").

    **Recommend** scores item ``i`` for user ``u`` as ``sum_v sim(u, v) * value_vi`` over the
    ``k_neighbours`` nearest users ``v`` of ``u``. **Predict**: among the users who rated
    ``i``, the ``k_neighbours`` most similar to ``u`` (from the ``max_neighbours`` stored) with
    positive similarity: ``base_ui + sum sim * (r_vi - base_vi) / sum sim`` with ``base`` the
    user mean or the baseline. Parameters as :class:`ItemKNN`, with users and items swapped.
    """

    _item_based = False
