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

import math
import os
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Sequence, Tuple, Union, overload

import numpy as np
import scipy.sparse as sp

from .. import _core
from .._ids import IdMap, check_id_sequence, filter_ids
from ..io import PicklesByValue, save
from .._validate import check_k, check_num_threads, check_stored_csr
from ..errors import DTypeError, InvalidArgumentError, ModelFileError, NotFittedError, ShapeMismatchError
from ..interactions import Interactions
from ..recommendations import Recommendations

#: Work units (stored entries a call visits, plus excluded ids) from which a per-request call
#: (a Shop's ``recommend`` / ``similar``, a search's personal scores) releases the GIL around
#: its Rust work (20,000 are some tens of microseconds); below that, handing the GIL to a
#: waiting thread and taking it back costs more than the scoring it would overlap. Chosen from
#: four serving runs in which two threads calling with the GIL kept beat two threads releasing
#: it around every call (benches/RESULTS.md, "Shop serving"; search: "Latency round 6").
DETACH_MIN_WORK = 20_000


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
        raise DTypeError(f"interactions: fit needs a shoprec.Interactions, got {type(interactions).__name__}")
    if len(interactions) == 0:
        raise InvalidArgumentError("interactions is empty (an empty selection or split): nothing to fit")
    return interactions


@overload
def _ids_filter(ids: None, id_map: IdMap, name: str) -> None: ...
@overload
def _ids_filter(ids: Any, id_map: IdMap, name: str) -> Optional[np.ndarray]: ...
def _ids_filter(ids: Optional[Any], id_map: IdMap, name: str) -> Optional[np.ndarray]:
    """The known indices of ``ids`` as int32 (None stays None: no filter)."""
    if ids is None:
        return None
    return np.ascontiguousarray(id_map.known_indices(filter_ids(ids, name), name), dtype=np.int32)


def _history_weights(weights: Any, n: int) -> Optional[np.ndarray]:
    """``weights=`` of ``recommend_for_history``: None, or one finite real number per history
    item (generators read once) as float64."""
    if weights is None:
        return None
    from .._validate import as_float_array

    if not isinstance(weights, np.ndarray) and not hasattr(weights, "__len__") and hasattr(weights, "__iter__"):
        weights = list(weights)
    array = as_float_array(weights, "weights", ndim=(0, 1), allow_empty=True).reshape(-1)
    if len(array) != n:
        raise ShapeMismatchError(f"weights: {len(array)} weights for {n} history items")
    return array


def _check_k_within(k: Any, state: "_State") -> int:
    """``k`` checked, then clamped to the catalogue: no list is longer, and the core never
    sizes a buffer by an absurd k."""
    return min(check_k(k), max(1, int(state.shape[1])))


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


def _rows_to_recommendations(item_ids: np.ndarray, ids: np.ndarray, scores: np.ndarray,
                             reasons: np.ndarray) -> List[Recommendations]:
    """One :class:`Recommendations` per row of ``(ids, scores)`` (padded with -1), built with
    one vectorised id lookup; rows are views of the two result arrays. ``reasons`` holds each
    row's fallback reason (None: the model's own answer)."""
    valid = ids >= 0
    shop_ids = item_ids[np.where(valid, ids, 0)] if len(item_ids) else np.empty(ids.shape, item_ids.dtype)
    out = [Recommendations.because(i, s, r) for i, s, r in zip(shop_ids, scores, reasons.tolist())]
    if not valid.all():
        # Rows with fewer candidates than k: trim the padding (rare: tiny catalogues, filters).
        counts = valid.sum(axis=1)
        for r in np.flatnonzero(counts < ids.shape[1]).tolist():
            n = int(counts[r])
            out[r] = Recommendations.because(shop_ids[r, :n], scores[r, :n], reasons[r])
    return out


class _Model(PicklesByValue):
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

    def _picklable_by_value(self) -> bool:
        return self.is_fitted

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
            # The exact training values and timestamps: what update() continues from.
            history_values=values,
            history_timestamps=interactions.timestamps,
        )

    def _training(self, state: _State) -> Interactions:
        """The training interactions, rebuilt from the fitted state (no copy of the values)."""
        indptr, indices, _ = state.history
        n_users = state.shape[0]
        users = np.repeat(np.arange(n_users, dtype=np.int32), np.diff(indptr))
        return Interactions(
            state.users, state.items, users, np.asarray(indices, dtype=np.int32), state.history_values,
            state.history_timestamps, state.explicit,
        )

    # ---------------------------------------------------------------- update
    def update(self, new_events: Interactions, *, combine: Optional[str] = None,
               cap: Optional[float] = None) -> "_Model":
        """A new fitted model that also includes ``new_events``, equal to a refit on all the data.

        This model is not modified (it can keep answering while the update runs).

        Parameters
        ----------
        new_events : Interactions
            The new events, built like the training interactions (``Interactions.from_arrays``
            or ``from_pandas`` over the new rows, with the same ``combine`` and ``cap``, ratings
            or implicit events alike, timestamps on both or neither). New users and new items
            are added; a (user, item) pair seen before is combined with its old value by
            ``combine`` (see :meth:`Interactions.merge`).
        combine, cap : as in :meth:`Interactions.from_arrays`
            How a repeated pair merges (default ``"last"`` for ratings, ``"max"`` for implicit
            events). ``"mean"`` cannot continue a repeated pair (InvalidArgumentError).

        Returns
        -------
        A model of the same type and parameters, exactly as ``fit`` on
        ``training.merge(new_events)`` gives it (same ids in the same order, neighbours,
        recommendations and predictions). ``ItemKNN`` and ``UserKNN`` recompute only the
        similarity rows the new events can change (see :meth:`ItemKNN.update`).
        """
        return self._apply_update(new_events, combine, cap)

    def _apply_update(self, new_events: Interactions, combine: Optional[str], cap: Optional[float],
                      **extra: Any) -> "_Model":
        """The update of every model: the new events merged into the training interactions
        (:meth:`Interactions.merge`), then the new model's state built from the old one by
        ``_updated_state`` (``extra``: model-specific arguments such as ``categories``)."""
        state = self._fitted()
        from ..interactions import _merge

        merged, old_users, old_items, changed = _merge(self._training(state), new_events, combine, cap)
        return self._updated_model(state, merged, old_users, old_items, changed, combine, cap, **extra)

    def _updated_model(self, state: _State, merged: Interactions, old_users: np.ndarray, old_items: np.ndarray,
                       changed: np.ndarray, combine: Optional[str], cap: Optional[float], **extra: Any) -> "_Model":
        """A new unfitted model with this one's parameters, given the updated state: ``old_users``
        / ``old_items`` map the old indices to the merged ones, ``changed`` marks the merged
        entries that are new or changed."""
        model = type(self)(**self.get_params())
        model._state = self._updated_state(state, merged, old_users, old_items, changed, combine, cap, **extra)
        return model

    def _updated_state(self, state: _State, merged: Interactions, old_users: np.ndarray, old_items: np.ndarray,
                       changed: np.ndarray, combine: Optional[str], cap: Optional[float], **extra: Any) -> _State:
        raise NotImplementedError

    def _build_index(self, state: Dict[str, Any], item_based: bool, neighbours: Any, predict_neighbours: Any,
                     residuals: Any) -> Any:
        n_users, n_items = state["shape"]
        return _core.KnnIndex(
            item_based, n_users, n_items, state["history"], neighbours, predict_neighbours, residuals,
            state["popularity"], state["order"], num_threads=getattr(self, "num_threads", 0),
        )

    # ---------------------------------------------------------------- recommend
    def _static_scores(self, state: _State, user: int, ids: np.ndarray) -> Optional[np.ndarray]:
        """Scores of models that rank by a fixed per-item value (None: keep the index's)."""
        return None

    def _index_for(self, state: _State, user: int) -> Any:
        """The Rust index that ranks for this user (one per segment for a segment Popular)."""
        return state.index

    def _fallback_reasons(self, state: _State, users: np.ndarray, ids: np.ndarray, scores: np.ndarray) -> np.ndarray:
        """Each row's fallback reason (None where the model answered), from the index's own
        ranking (before any fallback replaced it): an unknown user always; for models that
        score from a user's evidence also a user without history, or whose best candidate
        has no positive score. Models ranking by a fixed per-item value answer every known user."""
        users = np.asarray(users).reshape(-1)
        reasons = np.full(len(users), None, dtype=object)
        unknown = users < 0
        if not self._has_static_scores:
            no_history = ~unknown & (state.history_counts[np.maximum(users, 0)] == 0)
            first = scores[:, 0] if scores.ndim == 2 and scores.shape[1] else np.zeros(len(users))
            has_candidate = ids[:, 0] >= 0 if ids.ndim == 2 and ids.shape[1] else np.zeros(len(users), bool)
            reasons[~unknown & ~no_history & has_candidate & ~(first > 0)] = "no_positive_score"
            reasons[no_history] = "no_history"
        reasons[unknown] = "unknown_user"
        return reasons

    def recommend(
        self,
        user: Any,
        k: int = 10,
        *,
        exclude_seen: bool = True,
        items: Optional[Any] = None,
        exclude: Optional[Any] = None,
        strict: bool = False,
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
        strict : bool
            Raise :class:`UnknownIdError` for a user the model does not know (after the
            str/int matching rule of the README's ids section) instead of answering with the
            fallback. Without it an unknown user's list says ``reason="unknown_user"``.

        Returns
        -------
        Recommendations
            ``(item id, score)`` pairs, best first.
        """
        state = self._fitted()
        k = _check_k_within(k, state)
        user_index = state.users.index(user, "user") if strict else state.users.get(user)
        item_filter = _ids_filter(items, state.items, "items")
        exclude_filter = _ids_filter(exclude, state.items, "exclude")
        index = self._index_for(state, user_index)
        ids, scores = index.recommend(user_index, k, item_filter, exclude_filter, bool(exclude_seen))
        reason = self._fallback_reasons(state, np.array([user_index]), ids[None, :], scores[None, :])[0]
        n = int(np.count_nonzero(ids >= 0))
        ids, scores = ids[:n], scores[:n]
        static = self._static_scores(state, user_index, ids)
        if static is not None:
            scores = static
        elif user_index < 0 or state.history_counts[user_index] == 0:
            scores = state.popularity[ids]
        return Recommendations.because(state.items.ids[ids], scores, reason)

    #: The ``recommend`` that :meth:`_recommend_aligned` answers like (set again by every class
    #: that overrides ``recommend``; a subclass overriding it without doing so gets None there).
    _aligned_recommend = recommend

    def _recommend_aligned(self, user: Any, items: Any) -> Optional[Tuple[Optional[np.ndarray], bool]]:
        """What a search needs from ``recommend(user, len(items), items=items,
        exclude_seen=False)``, in one Rust call and without per-item Python: ``(scores, own)``
        with ``own`` whether that answer is the model's own (``source == "model"``) and then
        ``scores`` its scores as float64 aligned with ``items``: element ``j`` is the score of
        the listed item whose id equals ``items[j]``, NaN when none does (exactly what pairing
        the answer's ``items`` and ``scores`` by id gives); ``scores`` is None when not ``own``.

        Raises what that ``recommend`` raises for these arguments. Returns None when this
        model's ``recommend`` is not the one mirrored here (a subclass overriding it): the
        caller then asks ``recommend`` itself.
        """
        cls = type(self)
        if cls.recommend is not cls._aligned_recommend:
            return None
        state = self._fitted()
        values = filter_ids(items, "items")
        k = _check_k_within(len(values), state)
        user_index = state.users.get(user)
        positions = state.items.indices(values, "items")
        exact = state.items.exact_indices(positions, values)
        include = None if exact is positions else positions[positions >= 0]
        if user_index < 0 or not (self._has_static_scores or state.history_counts[user_index] > 0):
            return None, False  # unknown_user, no_history
        index = self._index_for(state, user_index)
        scores, first = index.recommend_aligned(user_index, k, exact, include, DETACH_MIN_WORK)
        if not self._own_answer(state, first):
            return None, False
        if self._has_static_scores:
            listed = ~np.isnan(scores)  # a listed item's raw score is never NaN
            scores[listed] = self._static_scores(state, user_index, exact[listed])
        return scores, True

    def _own_answer(self, state: _State, first: float) -> bool:
        """Whether ``recommend`` of a known user (with history, for models scoring from it)
        answers from the model, given the raw score of its best candidate (NaN: none): as
        :meth:`_fallback_reasons`, no candidate or a positive best one."""
        return self._has_static_scores or math.isnan(first) or first > 0

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
        """(item indices, scores), each ``len(user_indices) x k``, padded with -1 / -inf, and
        each row's fallback reason (see :meth:`_fallback_reasons`)."""
        state = self._fitted()
        users = np.ascontiguousarray(user_indices, dtype=np.int32)
        ids, scores = state.index.recommend_many(users, k, items, exclude, bool(exclude_seen), num_threads)
        reasons = self._fallback_reasons(state, users, ids, scores)
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
        return ids, scores, reasons

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
        strict: bool = False,
    ) -> List[Recommendations]:
        """:meth:`recommend` for many users at once, in parallel in Rust (GIL released,
        memory bounded by one score row per thread). Same arguments and rules as
        :meth:`recommend`; returns one :class:`Recommendations` per user, in order.
        ``users`` must be a sequence (a single id in a str is refused, not iterated).
        """
        state = self._fitted()
        k = _check_k_within(k, state)
        num_threads = check_num_threads(num_threads)
        users = check_id_sequence(users, "users")
        user_indices = state.users.indices(users, "users")
        if strict and (user_indices < 0).any():
            first = int(np.flatnonzero(user_indices < 0)[0])
            state.users.index(users.reshape(-1)[first] if isinstance(users, np.ndarray) else list(users)[first],
                              "users: user")
        ids, scores, reasons = self._recommend_indices(
            user_indices, k, exclude_seen=exclude_seen,
            items=_ids_filter(items, state.items, "items"),
            exclude=_ids_filter(exclude, state.items, "exclude"), num_threads=num_threads,
        )
        return _rows_to_recommendations(state.items.ids, ids, scores, reasons)

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
            from ..errors import ShapeMismatchError

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
        save(path, self)

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
            "history_values": state.history_values,
        }
        if state.history_timestamps is not None:
            arrays["history_timestamps"] = state.history_timestamps
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
        if not (isinstance(params.get("shape"), list) and len(params["shape"]) == 2
                and isinstance(params.get("scale"), list) and len(params["scale"]) == 2):
            # Found by fuzzing: a three-value scale loaded and failed at the first predict.
            raise ModelFileError("the stored shape and rating scale must be two numbers each")
        shape = (int(params["shape"][0]), int(params["shape"][1]))
        if shape != (len(users), len(items)):
            raise ModelFileError("the id maps do not match the stored shape")
        history = (arrays["history_indptr"], arrays["history_indices"], arrays["history_data"])
        check_stored_csr("history", history, shape)
        base: Dict[str, Any] = dict(
            users=users, items=items, history=history, shape=shape,
            history_counts=np.diff(history[0]).astype(np.int32),
            popularity=arrays["popularity"], order=arrays["order"],
            explicit=bool(params["explicit"]), scale=tuple(float(v) for v in params["scale"]),
            global_mean=float(params["global_mean"]),
            history_values=arrays.get("history_values", np.asarray(history[2], dtype=np.float64)),
            history_timestamps=arrays.get("history_timestamps"),
        )
        if len(base["history_values"]) != len(history[1]) or (
            base["history_timestamps"] is not None and len(base["history_timestamps"]) != len(history[1])
        ):
            raise ModelFileError("history values or timestamps do not match the history")
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
    # In Rust (one pass per half-round, the sums in the interactions' order): the same doubles
    # as ``bincount(items, values - mu - b_user[users]) / (reg_items + count_item)`` and so on.
    b_user, b_item = _core.fit_biases(
        np.ascontiguousarray(users, np.int32), np.ascontiguousarray(items, np.int32),
        np.ascontiguousarray(values, np.float64), int(n_users), int(n_items), mu,
        float(reg_users), float(reg_items), int(n_epochs),
    )
    return mu, b_user, b_item


def _bias_prediction(state: _State, users: np.ndarray, items: np.ndarray) -> np.ndarray:
    user_bias = np.where(users >= 0, state.b_user[np.maximum(users, 0)], 0.0)
    item_bias = np.where(items >= 0, state.b_item[np.maximum(items, 0)], 0.0)
    return state.mu + user_bias + item_bias

