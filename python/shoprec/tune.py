"""Hyper-parameter search by k-fold cross-validation: ``shoprec.tune.grid_search``."""

from __future__ import annotations

import itertools
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence

import numpy as np

from . import evaluate
from ._validate import check_int
from .errors import DTypeError, InvalidArgumentError, ShoprecError
from .interactions import Interactions

__all__ = ["grid_search", "GridSearchResult"]

_LOWER_IS_BETTER = ("rmse", "mae")
_RANKING = ("precision", "recall", "ndcg", "map", "hit_rate", "coverage")


class GridSearchResult:
    """The outcome of :func:`grid_search`.

    Attributes
    ----------
    table : list of dict
        One row per parameter combination: ``{"params": {...}, "mean": float, "std": float,
        "folds": [float, ...]}``, in the order of the grid.
    best_params : dict
    best_score : float
    metric : str
    """

    def __init__(self, table: List[Dict[str, Any]], metric: str, lower_is_better: bool) -> None:
        self.table = table
        self.metric = metric
        means = [row["mean"] for row in table]
        best = int(np.argmin(means) if lower_is_better else np.argmax(means))
        self.best_params = dict(table[best]["params"])
        self.best_score = float(means[best])

    def to_pandas(self) -> Any:
        """The table as a pandas DataFrame (needs pandas), one column per parameter."""
        import pandas as pd

        return pd.DataFrame([{**row["params"], "mean": row["mean"], "std": row["std"]} for row in self.table])

    def __repr__(self) -> str:
        return f"GridSearchResult(metric={self.metric!r}, best_params={self.best_params!r}, best_score={self.best_score:.6g})"


def _parse_metric(metric: str) -> tuple:
    if not isinstance(metric, str):
        raise InvalidArgumentError(f"metric must be a string such as 'ndcg@10' or 'rmse', got {metric!r}")
    if metric in _LOWER_IS_BETTER:
        return metric, None
    name, _, k = metric.partition("@")
    if name not in _RANKING or not k.isdigit() or int(k) < 1:
        raise InvalidArgumentError(
            f"unknown metric {metric!r}: use 'rmse', 'mae' or one of {_RANKING} with '@k', e.g. 'ndcg@10'"
        )
    return name, int(k)


def grid_search(
    model_factory: Callable[..., Any],
    param_grid: Mapping[str, Sequence[Any]],
    interactions: Interactions,
    *,
    cv: int = 5,
    metric: str = "ndcg@10",
    threshold: Optional[float] = None,
    seed: int = 0,
) -> GridSearchResult:
    """Score every combination of ``param_grid`` by ``cv``-fold cross-validation.

    Parameters
    ----------
    model_factory : callable
        ``model_factory(**params)`` returns an unfitted model (a model class works).
    param_grid : mapping of str to sequence
        The values to try for each parameter; every combination is tried (``{}``: the
        factory's defaults only). An empty list of values is refused.
    interactions : Interactions
    cv : int
        Number of folds (>= 2), split by :func:`shoprec.evaluate.k_fold` with ``seed``; every
        combination sees the same folds.
    metric : str
        ``"rmse"`` or ``"mae"`` (lower is better), or ``"<name>@<k>"`` with name one of
        precision, recall, ndcg, map, hit_rate, coverage (higher is better).
    threshold : float, optional
        For ranking metrics: test entries with a value at least this are relevant.

    Returns
    -------
    GridSearchResult
        The scores table (mean, std and per-fold scores) and the best parameters.
    """
    name, k = _parse_metric(metric)
    cv = check_int(cv, "cv", minimum=2)
    if not isinstance(interactions, Interactions):
        raise DTypeError(f"interactions must be a shoprec.Interactions, got {type(interactions).__name__}")
    if cv > len(interactions):
        raise InvalidArgumentError(f"cv={cv} is more than the {len(interactions)} interactions")
    if not callable(model_factory):
        raise DTypeError(f"model_factory must be callable (a model class works), got {type(model_factory).__name__}")
    if not isinstance(param_grid, Mapping):
        raise DTypeError(f"param_grid must be a mapping of parameter name to values, got {type(param_grid).__name__}")
    keys = list(param_grid)
    grid = {}
    for key in keys:
        values = param_grid[key]
        if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
            raise InvalidArgumentError(f"param_grid[{key!r}] must be a sequence of values")
        grid[key] = list(values)  # generators are read once
        if not grid[key]:
            raise InvalidArgumentError(f"param_grid[{key!r}] is empty: give at least one value to try")
    combos = [dict(zip(keys, values)) for values in itertools.product(*(grid[key] for key in keys))]
    folds = list(evaluate.k_fold(interactions, cv, seed=seed))
    table = []
    for params in combos:
        scores = []
        for train, test in folds:
            try:
                model = model_factory(**params)
            except ShoprecError as exc:
                raise type(exc)(f"param_grid {params}: {exc}") from None
            except TypeError as exc:  # an unknown parameter name
                raise InvalidArgumentError(f"param_grid {params}: model_factory refused them: {exc}") from None
            model = model.fit(train)
            if k is None:
                scores.append(evaluate.rating_metrics(model, test)[name])
            else:
                scores.append(evaluate.ranking_metrics(model, test, k, threshold=threshold)[f"{name}@{k}"])
        table.append({"params": params, "mean": float(np.mean(scores)), "std": float(np.std(scores)), "folds": scores})
    return GridSearchResult(table, metric, lower_is_better=k is None)
