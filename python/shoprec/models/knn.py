"""The neighbourhood models: ``ItemKNN`` and ``UserKNN`` (shared code in ``_KNN``)."""

from __future__ import annotations

import math
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
import scipy.sparse as sp

from .. import _core
from .._ids import IdMap, filter_ids
from ..io import nested_state, register, restore_nested
from .._validate import check_choice, check_float, check_int, check_k, check_num_threads
from ..errors import DTypeError, InvalidArgumentError
from ..interactions import Interactions
from ..recommendations import Recommendations
from .popular import Popular
from ._base import _check_k_within, _history_weights, _State, _Model, _bias_prediction, _check_interactions, _csr_parts, _fit_biases, _ids_filter
from ._incremental import changed_entities, full_is_cheaper, touched_by_values
from .weighting import WEIGHTINGS, scaled_for_dot, weight_rows


SIMILARITIES = ("pearson", "pearson_baseline", "cosine", "adjusted_cosine", "cosine_corated", "msd")
# Explicit ratings without a similarity argument: Pearson (rating prediction as before).
EXPLICIT_DEFAULTS = {"k_neighbours": 40, "similarity": "pearson", "weighting": "none", "alpha": 1.0}
# Implicit (event or unary) data without a similarity argument: the best mean NDCG@10 of an
# inner 3-fold cross-validation on the *training* part of each of the 5 folds of ml-latest-small
# used as unary data (benches/accuracy.py --choose-defaults; the table is in
# benches/RESULTS.md), never on a test part. Every fold picked TF-IDF with alpha 0.5 for items
# (k 50 in three folds, 25 in two) and the plain cosine with k 100 for users.
IMPLICIT_DEFAULTS = {
    "items": {"k_neighbours": 50, "similarity": "cosine", "weighting": "tfidf", "alpha": 0.5},
    "users": {"k_neighbours": 100, "similarity": "cosine", "weighting": "none", "alpha": 1.0},
}
# Shrinkage when none is given: similarities from a handful of co-raters are mostly noise
# (two co-raters always correlate perfectly). 100 for pearson_baseline is surprise's default;
# 25 for pearson: on MovieLens (benches/accuracy.py) 3-fold CV on the training part gives RMSE
# 0.9327 unshrunk, 0.9225 at 25 and 0.9218 at 100 (flat from 25 on); the test RMSE is 0.881
# against 0.900 unshrunk.
DEFAULT_SHRINKAGE = {"pearson_baseline": 100.0, "pearson": 25.0}


class _KNN(_Model):
    """Shared by ItemKNN (x = item, y = user) and UserKNN (x = user, y = item)."""

    _item_based = True
    _param_names = ("k_neighbours", "similarity", "weighting", "alpha", "bm25_k1", "bm25_b", "min_support",
                    "shrinkage", "baseline", "centred", "max_neighbours", "min_k", "reg_users", "reg_items",
                    "n_epochs", "num_threads")

    def __init__(
        self,
        k_neighbours: Optional[int] = None,
        similarity: Optional[str] = None,
        *,
        weighting: Optional[str] = None,
        alpha: Optional[float] = None,
        bm25_k1: float = 1.2,
        bm25_b: float = 0.75,
        min_support: int = 1,
        shrinkage: Optional[float] = None,
        baseline: bool = False,
        centred: bool = True,
        max_neighbours: Optional[int] = 1000,
        min_k: int = 1,
        reg_users: float = 15.0,
        reg_items: float = 10.0,
        n_epochs: int = 10,
        num_threads: int = 0,
    ) -> None:
        self.k_neighbours = None if k_neighbours is None else check_k(k_neighbours, "k_neighbours")
        self.similarity = None if similarity is None else check_choice(similarity, "similarity", SIMILARITIES)
        self.weighting = None if weighting is None else check_choice(weighting, "weighting", WEIGHTINGS)
        self.alpha = None if alpha is None else check_float(alpha, "alpha", minimum=0.0)
        if self.alpha is not None and self.alpha > 1.0:
            raise InvalidArgumentError(f"alpha must be between 0 and 1, got {self.alpha}")
        self.bm25_k1 = check_float(bm25_k1, "bm25_k1", minimum=0.0)
        self.bm25_b = check_float(bm25_b, "bm25_b", minimum=0.0)
        if self.bm25_b > 1.0:
            raise InvalidArgumentError(f"bm25_b must be between 0 and 1, got {self.bm25_b}")
        self.min_support = check_int(min_support, "min_support", minimum=0)
        self.shrinkage = None if shrinkage is None else check_float(shrinkage, "shrinkage", minimum=0.0)
        if not isinstance(baseline, (bool, np.bool_)):
            raise DTypeError(f"baseline must be True or False, got {type(baseline).__name__}")
        self.baseline = bool(baseline)
        if not isinstance(centred, (bool, np.bool_)):
            raise DTypeError(f"centred must be True or False, got {type(centred).__name__}")
        self.centred = bool(centred)
        if self.baseline and not self.centred:
            raise InvalidArgumentError("baseline=True predicts around the baseline: it needs centred=True")
        self.max_neighbours = None if max_neighbours is None else check_k(max_neighbours, "max_neighbours")
        if self.max_neighbours is not None and self.k_neighbours is not None and self.max_neighbours < self.k_neighbours:
            raise InvalidArgumentError(
                f"max_neighbours ({self.max_neighbours}) must be at least k_neighbours ({self.k_neighbours})"
            )
        self.min_k = check_int(min_k, "min_k", minimum=0)
        self.reg_users = check_float(reg_users, "reg_users", minimum=0.0)
        self.reg_items = check_float(reg_items, "reg_items", minimum=0.0)
        self.n_epochs = check_int(n_epochs, "n_epochs", minimum=1)
        self.num_threads = check_num_threads(num_threads)
        if self.similarity is not None:
            self._check_settings(self.settings(True))
        self._state = None

    # ---------------------------------------------------------------- settings
    def settings(self, explicit: bool) -> Dict[str, Any]:
        """The neighbours, similarity, weighting and normalisation exponent ``fit`` uses on
        explicit (``explicit=True``) or implicit data: the arguments given, the data kind's
        defaults for the rest (see the class docstring)."""
        chosen: Dict[str, Any]
        if self.similarity is None and not explicit:
            chosen = dict(IMPLICIT_DEFAULTS["items" if self._item_based else "users"])
        else:
            chosen = dict(EXPLICIT_DEFAULTS)
            if self.similarity is not None:
                chosen["similarity"] = self.similarity
        if self.k_neighbours is not None:
            chosen["k_neighbours"] = self.k_neighbours
        if self.max_neighbours is not None:
            chosen["k_neighbours"] = min(chosen["k_neighbours"], self.max_neighbours)
        if self.weighting is not None:
            chosen["weighting"] = self.weighting
        if self.alpha is not None:
            chosen["alpha"] = self.alpha
        return chosen

    @staticmethod
    def _check_settings(chosen: Dict[str, Any]) -> None:
        if chosen["alpha"] != 1.0 and chosen["similarity"] != "cosine":
            raise InvalidArgumentError(
                f"alpha (the normalisation exponent of the cosine) needs similarity='cosine', not {chosen['similarity']!r}"
            )
        if chosen["weighting"] != "none" and chosen["similarity"] == "pearson_baseline":
            raise InvalidArgumentError("weighting does not apply to pearson_baseline (it works on baseline residuals)")

    def _similarity_input(self, csr: sp.csr_matrix, chosen: Dict[str, Any]) -> Tuple[sp.csr_matrix, str, float]:
        """The users x items matrix the kernel works on, its similarity name, and the factor
        that turns its similarities into the model's (weighting and normalisation applied)."""
        if chosen["weighting"] == "none" and chosen["alpha"] == 1.0:
            return csr, chosen["similarity"], 1.0
        entities = csr.T.tocsr() if self._item_based else csr
        weighted = weight_rows(entities, chosen["weighting"], self.bm25_k1, self.bm25_b)
        kind, factor = chosen["similarity"], 1.0
        if chosen["alpha"] != 1.0:
            weighted, factor = scaled_for_dot(weighted, chosen["alpha"])
            kind = "dot"
        matrix = weighted.T.tocsr() if self._item_based else weighted
        matrix.sort_indices()
        return matrix, kind, factor

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
        return self._fit_with(interactions, fallback, None)

    def _fit_with(self, interactions: Interactions, fallback: Optional["Popular"], kernel: Optional[Any]) -> "_KNN":
        """``fit``, with ``kernel`` (same signature as ``kernels.pearson_neighbours``) computing
        the neighbours when given (``shoprec.distributed`` passes one that runs on a cluster)."""
        inter = _check_interactions(interactions)
        self._check_settings(self.settings(inter.explicit))
        base = self._base_state(inter)
        base["fallback"] = _check_fallback(fallback, base)
        self._state = self._state_for(inter, base, None, kernel)
        return self

    def update(self, new_events: Interactions, *, combine: Optional[str] = None,
               cap: Optional[float] = None, categories: Optional[Any] = None) -> "_KNN":
        """A new fitted model that also includes ``new_events``: exactly ``fit`` on
        ``training.merge(new_events)`` (see :meth:`shoprec.Popular.update` for the arguments),
        with the same neighbours (ties by the new indices, which keep the old ids' order),
        recommendations and predictions. This model is not modified.

        Only the similarity rows the new events can change are recomputed: the rows of the
        *touched* items (users for ``UserKNN``), those whose vector in the similarity input
        changed, with all their candidates; every other row is its old row with the touched
        columns replaced, and is recomputed only where the stored ``max_neighbours`` cannot
        prove its new top list (see ``shoprec.kernels.pearson_neighbours_rows``). Without
        weighting the touched items are those whose values changed (for ``"adjusted_cosine"``
        also every item of a shopper whose mean changed). With row weighting (TF-IDF, BM25), a
        normalisation exponent ``alpha`` other than 1 (the implicit-data defaults of
        ``ItemKNN``) or ``"pearson_baseline"``, the weighted input before and after is compared
        item by item, bit for bit; the rules (a new item changes every TF-IDF weight, a new pair
        of a shopper every weight in that shopper's column, BM25's mean length and
        ``pearson_baseline``'s biases move with almost every event, so these recompute in full)
        are in ``shoprec.models._incremental``. When the touched rows would cost more than half
        a full pass (estimated from the raters' numbers of ratings) the full kernel is used
        instead. Cost and measurements: ``benches/RESULTS.md``. Means, biases (an exact ALS
        rerun in Rust: ``n_epochs`` passes over the interactions, no warm start, so no
        tolerance is needed), popularity and the fallback are recomputed. A model loaded from
        a file with ``alpha`` other than 1 recomputes in full at its first update (the
        similarities before the constant factor are kept in memory only).

        ``categories`` (a mapping of item id to category) goes to the :class:`Popular`
        fallback's update (:meth:`shoprec.Popular.update`): the categories of new items, so
        the fallback equals one fitted with them.
        """
        return self._apply_update(new_events, combine, cap, categories=categories)  # type: ignore[return-value]

    def _updated_state(self, state: _State, merged: Interactions, old_users: np.ndarray, old_items: np.ndarray,
                       changed: np.ndarray, combine: Optional[str], cap: Optional[float],
                       categories: Optional[Any] = None, **extra: Any) -> _State:
        base = self._base_state(merged)
        fallback = state.fallback
        if fallback is not None:
            fallback = fallback._updated_model(fallback._fitted(), merged, old_users, old_items, changed, combine, cap,
                                               categories=categories)
        base["fallback"] = _check_fallback(fallback, base)
        return self._state_for(merged, base, (state, old_users, old_items, changed))

    def _state_for(self, inter: Interactions, base: Dict[str, Any],
                   previous: Optional[Tuple[_State, np.ndarray, np.ndarray, np.ndarray]], kernel: Optional[Any] = None) -> _State:
        """The fitted state on ``inter``; with ``previous`` (old state, old user -> new, old item -> new, changed
        entries) the neighbours are updated from the old ones instead of computed afresh."""
        from ..kernels import _pearson_neighbours_update, pearson_neighbours

        chosen = self.settings(inter.explicit)
        similarity = chosen["similarity"]
        n_users, n_items = inter.n_users, inter.n_items
        users, items, values = inter.users, inter.items, inter.values
        # The biases are always fitted: the cold-item rule predicts mu + b_u.
        mu, b_user, b_item = _fit_biases(users, items, values, n_users, n_items,
                                         self.reg_users, self.reg_items, self.n_epochs)
        csr = inter.to_csr()
        factor = 1.0
        if similarity == "pearson_baseline":
            residual = values - (mu + b_user[users] + b_item[items])
            sim_input = sp.csr_matrix((residual, csr.indices, csr.indptr), shape=csr.shape)
            kind = "cosine_corated"
            shrinkage = 100.0 if self.shrinkage is None else self.shrinkage
        else:
            sim_input, kind, factor = self._similarity_input(csr, chosen)
            default = DEFAULT_SHRINKAGE.get(similarity, 0.0)
            shrinkage = default if self.shrinkage is None else self.shrinkage
        n_x = n_items if self._item_based else n_users
        keep = self._keep(n_x)
        axis = "items" if self._item_based else "users"
        touched = self._touched(inter, chosen, sim_input, previous)
        if touched is None:
            wide = (kernel or pearson_neighbours)(
                sim_input, keep, axis=axis, similarity=kind,
                min_support=self.min_support, shrinkage=shrinkage, num_threads=self.num_threads,
            )
            # Rows are ordered by similarity: the first k_neighbours of each row are its top k.
            kernel_data = wide.data.copy() if factor != 1.0 else None
            if factor != 1.0:
                wide.data *= np.float32(factor)
            narrow = _truncate_rows(wide, chosen["k_neighbours"])
        else:
            assert previous is not None
            old_state, old_users, old_items, _ = previous
            old_to_new = old_items if self._item_based else old_users
            old_indptr, old_indices, old_data = old_state.predict_neighbours
            if factor != 1.0:
                old_data = old_state.kernel_data  # the similarities before the constant factor
            wide, narrow = _pearson_neighbours_update(
                sim_input, (old_indptr, old_indices, old_data), self._keep(len(old_to_new)), old_to_new, touched,
                keep, chosen["k_neighbours"], axis=axis, similarity=kind, min_support=self.min_support,
                shrinkage=shrinkage, num_threads=self.num_threads,
            )
            kernel_data = wide.data.copy() if factor != 1.0 else None
            if factor != 1.0:
                wide.data *= np.float32(factor)
                narrow.data *= np.float32(factor)
        counts_user = np.bincount(users, minlength=n_users)
        counts_item = np.bincount(items, minlength=n_items)
        with np.errstate(invalid="ignore", divide="ignore"):
            user_means = np.where(counts_user > 0, np.bincount(users, values, n_users) / np.maximum(counts_user, 1), mu)
            item_means = np.where(counts_item > 0, np.bincount(items, values, n_items) / np.maximum(counts_item, 1), mu)
        return self._make_state(
            base, _csr_parts(narrow), _csr_parts(wide), mu, b_user, b_item, user_means, item_means, kernel_data
        )

    def _touched(self, inter: Interactions, chosen: Dict[str, Any], sim_input: sp.csr_matrix,
                 previous: Optional[Tuple[_State, np.ndarray, np.ndarray, np.ndarray]]) -> Optional[np.ndarray]:
        """The entities whose similarity rows an update recomputes (see
        :mod:`shoprec.models._incremental`); None: compute every row (a fit, an update whose
        touched rows would cost more than the full kernel, or whose old rows cannot be patched)."""
        if previous is None:
            return None
        old_state, old_users, old_items, changed = previous
        old_to_new = old_items if self._item_based else old_users
        if not bool(np.all(np.diff(old_to_new) > 0)):
            return None  # the old order is not kept
        similarity = chosen["similarity"]
        plain = similarity != "pearson_baseline" and chosen["weighting"] == "none" and chosen["alpha"] == 1.0
        if plain:
            touched = touched_by_values(inter, changed, self._item_based, similarity == "adjusted_cosine")
        else:
            if similarity == "adjusted_cosine":
                return None  # weighted values centred by each rater's mean: not tracked
            if chosen["alpha"] != 1.0 and getattr(old_state, "kernel_data", None) is None:
                return None  # a loaded model: its similarities before the factor are not kept
            if chosen["weighting"] != "none" and len(old_to_new) != (inter.n_items if self._item_based else inter.n_users):
                return None  # a new entity changes log(n) in every idf: every weight changes
            old_inter = self._training(old_state)
            old_csr = old_inter.to_csr()
            if similarity == "pearson_baseline":
                rows = np.repeat(np.arange(old_inter.n_users), np.diff(old_csr.indptr))
                residual = old_inter.values - (old_state.mu + old_state.b_user[rows] + old_state.b_item[old_csr.indices])
                old_input = sp.csr_matrix((residual, old_csr.indices, old_csr.indptr), shape=old_csr.shape)
            else:
                old_input = self._similarity_input(old_csr, chosen)[0]
            touched = changed_entities(old_input, sim_input, old_users, old_items, self._item_based)
        n_x = inter.n_items if self._item_based else inter.n_users
        if len(touched) == n_x or full_is_cheaper(inter, touched, self._item_based):
            return None
        return touched

    def _keep(self, n_x: int) -> int:
        """The neighbours stored per row (the ``k`` of the similarity kernel)."""
        return n_x if self.max_neighbours is None else min(self.max_neighbours, max(n_x, 1))

    def _residual_matrix(self, base: Dict[str, Any], mu: float, b_user: np.ndarray, b_item: np.ndarray,
                         user_means: np.ndarray, item_means: np.ndarray) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Residuals ``y x x`` of every training value against the neighbour's base value."""
        indptr, indices, _ = base["history"]
        n_users, n_items = base["shape"]
        rows = np.repeat(np.arange(n_users, dtype=np.int32), np.diff(indptr))
        values = base["history_values"]
        if not self.centred:
            residual = values.astype(np.float64)
        elif self.baseline:
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
                    b_user: np.ndarray, b_item: np.ndarray, user_means: np.ndarray, item_means: np.ndarray,
                    kernel_data: Optional[np.ndarray] = None) -> _State:
        # Residuals are recomputed from the history (float64 values kept for this) rather than saved.
        # ``kernel_data``: the stored similarities before the constant factor of alpha != 1 (what
        # the next update patches; in memory only, so a loaded model's first update is a full one).
        base = dict(base)
        if "history_values" not in base:
            base["history_values"] = base["history"][2].astype(np.float64)
        residuals = self._residual_matrix(base, mu, b_user, b_item, user_means, item_means)
        index = self._build_index(base, self._item_based, neighbours, predict_neighbours, residuals)
        return _State(
            k_neighbours=self.settings(base["explicit"])["k_neighbours"],
            index=index, neighbours=neighbours, predict_neighbours=predict_neighbours, mu=mu,
            b_user=b_user, b_item=b_item, user_means=user_means, item_means=item_means, kernel_data=kernel_data,
            **self._cosine_state(base), **base,
        )

    def _cosine_state(self, base: Dict[str, Any]) -> Dict[str, Any]:
        """What the cosine searches need, built once per fitted (or loaded) model so that a
        request touches only the rows its query names: the item x user matrix (the training
        history transposed) and the Rust indexes over users (ItemKNN.similar_users,
        UserKNN._users_like) and over items (UserKNN.similar_items) with their norms."""
        n_users, n_items = base["shape"]
        indptr, indices, data = base["history"]
        history = sp.csr_matrix((data, indices, indptr), shape=(n_users, n_items))
        item_users = history.T.tocsr()
        item_users.sort_indices()
        item_users_parts = _csr_parts(item_users)
        if self._item_based:
            # Users compared by their rows, in float64 (as the users' similarity has always been).
            return dict(item_users=item_users_parts,
                        user_cosine=_core.CosineIndex(item_users_parts, n_items, n_users, _norms(history, True)))
        # A history against every user: the user norms summed in float32, as they always were.
        return dict(
            item_users=item_users_parts,
            user_cosine=_core.CosineIndex(item_users_parts, n_items, n_users, _norms(history, False)),
            item_cosine=_core.CosineIndex(base["history"], n_users, n_items, _norms(item_users, True)),
        )

    # ---------------------------------------------------------------- predict
    def _predict_indices(self, state: _State, users: np.ndarray, items: np.ndarray, num_threads: int) -> np.ndarray:
        xs, ys = (items, users) if self._item_based else (users, items)
        mean_residual, used = state.index.predict(
            np.ascontiguousarray(xs, np.int32), np.ascontiguousarray(ys, np.int32),
            state.k_neighbours, self.min_k, num_threads,
        )
        if not self.centred:
            # KNNBasic: the weighted mean of the neighbours' ratings; without enough of them, mu.
            enough = used >= max(self.min_k, 1)
            prediction = np.where(enough, mean_residual.astype(np.float64), state.mu)
        else:
            if self.baseline:
                offset = _bias_prediction(state, users, items)
            else:
                x_means = state.item_means if self._item_based else state.user_means
                offset = x_means[np.maximum(xs, 0)]
            prediction = offset + mean_residual.astype(np.float64)
        # The cold rule: a user or item without training interactions (unknown, or known to the
        # Interactions but absent from the training part) contributes no term of its own.
        cold_user = (users < 0) | (state.history_counts[np.maximum(users, 0)] == 0)
        cold_item = (items < 0) | (state.popularity[np.maximum(items, 0)] == 0)
        user_bias = np.where(cold_user, 0.0, state.b_user[np.maximum(users, 0)])
        item_bias = np.where(cold_item, 0.0, state.b_item[np.maximum(items, 0)])
        return np.where(cold_user | cold_item, state.mu + user_bias + item_bias, prediction)

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
        k = _check_k_within(k, state)
        history = filter_ids(history, "history")
        positions = state.items.indices(history, "history")
        items = None if items is None else filter_ids(items, "items")
        exclude = None if exclude is None else filter_ids(exclude, "exclude")
        weights = _history_weights(weights, len(positions))
        weight_array: np.ndarray = np.ones(len(positions), np.float32) if weights is None else weights
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
        reason = None
        if len(positions) == 0:
            reason = "empty_history"
        elif len(scores) and not scores[0] > 0 or len(sources) == 0:
            reason = "no_positive_score"
        if state.fallback is not None and (len(sources) == 0 or len(scores) == 0 or not scores[0] > 0):
            fallback = state.fallback.recommend_for_history(history, k, weights=weights, exclude_seen=exclude_seen,
                                                            items=items, exclude=exclude)
            return Recommendations.because(fallback.items, fallback.scores, reason or "no_positive_score")
        if len(sources) == 0:
            scores = state.popularity[ids]
        return Recommendations.because(state.items.ids[ids], scores, reason)

    def _users_like(self, state: _State, positions: np.ndarray, weights: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        """The k_neighbours training users most cosine-similar to a weighted item vector
        (repeated items add up), from the index built at fit (Rust; no pass over the matrix)."""
        if len(positions) == 0:
            return np.zeros(0, np.int32), np.zeros(0, np.float32)
        k = min(state.k_neighbours, state.shape[0])
        order, sims = state.user_cosine.top_k(
            np.ascontiguousarray(positions, np.int32), np.ascontiguousarray(weights, np.float64), k
        )
        return order, sims.astype(np.float32)

    def similar_items(self, item: Any, k: int = 10, *, items: Optional[Any] = None,
                      exclude: Optional[Any] = None) -> Recommendations:
        """The ``k`` items most similar to ``item`` (never itself), best first.

        ``ItemKNN`` answers from its stored neighbours (the model's similarity; at most
        ``max_neighbours`` of them); ``UserKNN`` computes the cosine similarity of the items'
        interaction columns. Raises :class:`UnknownIdError` for an unknown item.
        """
        state = self._fitted()
        k = _check_k_within(k, state)
        position = state.items.index(item, "item")
        if self._item_based:
            ids, sims = _row(state.predict_neighbours, position)
            return self._filtered(state.items, ids, sims, k, items, exclude)
        # The item's column of the history (its users and their values) against every column.
        users, values = _row(state.item_users, position)
        ids, sims = state.item_cosine.top_k(
            users, values.astype(np.float64), min(k, state.shape[1]), position,
            _ids_filter(items, state.items, "items"), _ids_filter(exclude, state.items, "exclude"),
        )
        return Recommendations(state.items.ids[ids], sims.astype(np.float32))

    def similar_users(self, user: Any, k: int = 10) -> Recommendations:
        """The ``k`` users most similar to ``user`` (never themselves), best first.

        ``UserKNN`` answers from its stored neighbours; ``ItemKNN`` computes the cosine
        similarity of the users' interaction rows. Raises :class:`UnknownIdError` for an
        unknown user.
        """
        state = self._fitted()
        k = min(check_k(k), max(1, int(state.shape[0])))  # clamped to the shoppers
        position = state.users.index(user, "user")
        if self._item_based:
            # The user's history row against every user (columns of the item x user matrix).
            items, values = _row(state.history, position)
            ids, sims = state.user_cosine.top_k(items, values.astype(np.float64), min(k, state.shape[0]), position)
            return Recommendations(state.users.ids[ids], sims.astype(np.float32))
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
            params["fallback"], nested = nested_state(state.fallback, _FALLBACK_PREFIX)
            arrays.update(nested)
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
        strict: bool = False,
    ) -> Recommendations:
        # Generators are read once here: the fallback below sees the same ids.
        items = None if items is None else filter_ids(items, "items")
        exclude = None if exclude is None else filter_ids(exclude, "exclude")
        recs = super().recommend(user, k, exclude_seen=exclude_seen, items=items, exclude=exclude, strict=strict)
        state = self._fitted()
        if self._needs_fallback(state, state.users.get(user), recs.scores):
            fallback = state.fallback.recommend(user, k, exclude_seen=exclude_seen, items=items, exclude=exclude)
            return Recommendations.because(fallback.items, fallback.scores, recs.reason or "no_positive_score")
        return recs

    recommend.__doc__ = _Model.recommend.__doc__
    _aligned_recommend = recommend

    def _own_answer(self, state: _State, first: float) -> bool:
        # The fallback model answers whenever there is no candidate or no positive best one.
        return super()._own_answer(state, first) and not (state.fallback is not None and math.isnan(first))

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
        ids, scores, reasons = super()._recommend_indices(user_indices, k, exclude_seen=exclude_seen, items=items,
                                                          exclude=exclude, num_threads=num_threads)
        state = self._fitted()
        if state.fallback is not None and len(ids):
            users = np.asarray(user_indices, dtype=np.int32)
            cold = (users < 0) | (state.history_counts[np.maximum(users, 0)] == 0) | ~(scores[:, 0] > 0)
            if cold.any():
                rows = np.flatnonzero(cold)
                ids[rows], scores[rows], _ = state.fallback._recommend_indices(
                    users[rows], k, exclude_seen=exclude_seen, items=items, exclude=exclude, num_threads=num_threads)
        return ids, scores, reasons

    def _restore(self, base: Dict[str, Any], params: Dict[str, Any], arrays: Dict[str, np.ndarray]) -> None:
        base["history_values"] = arrays["history_values"]
        base["fallback"] = None
        if "fallback" in params:
            fallback = restore_nested(params["fallback"], arrays, _FALLBACK_PREFIX, Popular)
            base["fallback"] = _check_fallback(fallback, base)
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


def _norms(matrix: sp.csr_matrix, float64: bool) -> np.ndarray:
    """Euclidean norms of the rows (``axis=1``) of a float32 CSR matrix, as float64; summed in
    float64 or, with ``float64=False``, in float32 (as the per-request code summed them)."""
    if float64:
        matrix = matrix.astype(np.float64)
    squares = np.asarray(matrix.multiply(matrix).sum(axis=1)).ravel()
    return np.ascontiguousarray(np.sqrt(squares), dtype=np.float64)


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
    With fewer than ``min_k`` such neighbours the prediction is ``base_ui``. With
    ``centred=False`` (scikit-surprise's ``KNNBasic``) the prediction is the plain weighted
    mean ``sum sim * r_uj / sum sim`` of the neighbours' ratings, and ``mu`` (the global mean)
    with fewer than ``min_k`` (at least 1) neighbours.

    **Cold users and items** (one rule, however the :class:`Interactions` was built): a user or
    an item with no training interaction, whether its id is unknown to the model or known to
    the ``Interactions`` but absent from the training part (e.g. after
    :func:`shoprec.evaluate.random_split`), is predicted by the baseline with its own term
    dropped: ``mu + b_u`` for a cold item, ``mu + b_i`` for a cold user, ``mu`` for both
    (``mu, b_u, b_i``: the regularised ALS biases of :class:`Baseline`, fitted with
    ``reg_users``, ``reg_items``, ``n_epochs`` whatever ``baseline`` is).

    **Defaults per data kind.** Without a ``similarity`` argument, ``fit`` on explicit ratings
    (``Interactions.explicit``) uses ``"pearson"`` (shrinkage 25) without weighting and 40
    neighbours, as before; on implicit events or unary data it uses the settings in
    :data:`IMPLICIT_DEFAULTS`: for ``ItemKNN`` TF-IDF-weighted item rows with the cosine
    normalised by ``alpha=0.5`` and 50 neighbours, for ``UserKNN`` the plain cosine of the
    user rows with 100 neighbours. They were chosen by cross-validation on the training part of ml-latest-small used as
    implicit data (``benches/RESULTS.md``), where they rank above implicit's Cosine, TF-IDF
    and BM25 recommenders. ``weighting`` and ``alpha``, when given, override the defaults;
    :meth:`settings` shows what ``fit`` will use.

    Parameters
    ----------
    k_neighbours : int, optional
        Neighbours used per prediction and kept per item for recommendations. None: the data
        kind's default (40 on explicit ratings, :data:`IMPLICIT_DEFAULTS` on implicit data).
    similarity : {"pearson", "pearson_baseline", "cosine", "adjusted_cosine", "cosine_corated", "msd"}, optional
        See :func:`shoprec.kernels.pearson_neighbours`. ``"pearson_baseline"`` is
        ``"cosine_corated"`` on the baseline residuals ``r - (mu + b_u + b_i)`` with
        ``shrinkage=100`` by default (scikit-surprise's ``pearson_baseline``, except that the
        shrinkage factor is ``n / (n + shrinkage)`` where surprise uses ``(n-1) / (n-1+shrinkage)``).
        ``"msd"`` is surprise's mean squared difference similarity ``1 / (msd + 1)``,
        ``msd`` the mean of ``(r_ui - r_uj)^2`` over the co-raters. None: the data kind's
        default (above).
    weighting : {"none", "tfidf", "bm25"}, optional
        Row weighting of the matrix the similarities are computed on (not of the values
        recommendations sum), as implicit's ``tfidf_weight`` and ``bm25_weight``: the rows
        are the items (users for ``UserKNN``), the columns their raters, ``idf = log(n_rows)
        - log(1 + raters' row count)``; TF-IDF ``sqrt(x) * idf``; BM25 ``x (k1 + 1) / (k1 L +
        x) * idf`` with the length norm ``L = 1 - b + b * rowsum / mean rowsum``. None: the
        data kind's default.
    alpha : float in [0, 1], optional
        Similarity normalisation exponent (with ``similarity="cosine"``):
        ``sim(a, b) = a . b / (|a| |b|) ** alpha`` on the weighted rows; 1 is the cosine, 0 the
        plain dot product (implicit's ``BM25Recommender``); in between, frequent items keep
        part of their weight. None: the data kind's default.
    bm25_k1, bm25_b : float
        BM25's term saturation ``k1 >= 0`` and length normalisation ``b`` in ``[0, 1]``.
    min_support : int
        Minimum number of co-raters for a similarity.
    shrinkage : float, optional
        Similarity shrinkage: each similarity is multiplied by ``n / (n + shrinkage)`` with
        ``n`` co-raters. Default 100 for ``pearson_baseline``, 25 for ``pearson`` (pass 0 for
        scikit-surprise's unshrunk Pearson), else 0 (``msd`` too, as surprise).
    baseline : bool
        Predict on baseline residuals (KNNBaseline) instead of means (KNNWithMeans).
    centred : bool
        False: predict the weighted mean of the neighbours' raw ratings (KNNBasic); needs
        ``baseline=False``.
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
    user mean or the baseline (``centred=False``: the weighted mean of the neighbours' raw
    ratings). Parameters, defaults per data kind and the cold rule as :class:`ItemKNN`, with
    users and items swapped (the weighted rows are the users, the columns their items).
    """

    _item_based = False
