"""Baseline: user and item biases by regularised alternating least squares."""

from __future__ import annotations

from typing import Any, Dict, Optional, Tuple

import numpy as np

from ..io import register
from .._validate import check_float, check_int
from ..interactions import Interactions
from ._base import _State, _Model, _bias_prediction, _check_interactions, _empty_csr, _fit_biases, _popularity_ranking


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
        self._state = self._state_for(_check_interactions(interactions))
        return self

    def _state_for(self, inter: Interactions) -> _State:
        base = self._base_state(inter)
        mu, b_user, b_item = _fit_biases(
            inter.users, inter.items, inter.values, inter.n_users, inter.n_items,
            self.reg_users, self.reg_items, self.n_epochs,
        )
        return self._make_state(base, mu, b_user, b_item)

    def update(self, new_events: Interactions, *, combine: Optional[str] = None,
               cap: Optional[float] = None) -> "Baseline":
        """A new model that also includes ``new_events``, exactly ``fit`` on
        ``training.merge(new_events)`` (arguments as :meth:`shoprec.Popular.update`).

        The biases are refitted on all the interactions: ALS from zero for ``n_epochs``
        (``n_epochs`` vectorised passes over the interactions, milliseconds for 100,000
        ratings). A warm start from the old biases would need fewer passes but would converge
        to something else than a refit with ``n_epochs`` (which is not run to convergence), so
        the update is exact instead. This model is not modified.
        """
        return super().update(new_events, combine=combine, cap=cap)  # type: ignore[return-value]

    def _updated_state(self, state: _State, merged: Interactions, old_users: np.ndarray, old_items: np.ndarray,
                       changed: np.ndarray, combine: Optional[str], cap: Optional[float], **extra: Any) -> _State:
        return self._state_for(merged)

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
