"""Picking the blend's weights on logged searches: :func:`tune_weights`.

A shop logs what shoppers searched for and what they then bought or clicked. Every weight
combination of a grid is scored on those searches (the position of the bought item in the
results), with the searches split into ``cv`` folds as :func:`shoprec.tune.grid_search` splits
interactions, so the table shows how much a choice varies between samples of the log.

The recommender and segments attached to the index are used as they are: fit them on data from
before the logged searches, or the purchases leak into the personal part.
"""

from __future__ import annotations

import copy
import itertools
import math
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np

from .._validate import check_int
from ..errors import InvalidArgumentError
from ..tune import GridSearchResult
from .blend import Weights

__all__ = ["tune_weights"]

_METRICS = ("ndcg", "hit_rate", "mrr")


def _rows(searches: Any) -> List[Tuple[str, Any, Any, Optional[Mapping[str, Any]]]]:
    """``(query, user, item, filters)`` from a DataFrame or records with columns ``query``,
    ``user`` (optional), ``item`` and ``filters`` (optional)."""
    if hasattr(searches, "to_dict") and hasattr(searches, "columns"):
        searches = searches.to_dict("records")
    rows = []
    for row in searches:
        if not isinstance(row, Mapping) or "query" not in row or "item" not in row:
            raise InvalidArgumentError("each logged search needs 'query' and 'item' (and optionally 'user', 'filters')")
        user = row.get("user")
        if isinstance(user, float) and math.isnan(user):
            user = None
        rows.append((str(row["query"]), user, row["item"], row.get("filters")))
    if not rows:
        raise InvalidArgumentError("searches is empty")
    return rows


def tune_weights(
    index: Any,
    searches: Any,
    param_grid: Mapping[str, Sequence[Any]],
    *,
    cv: int = 5,
    metric: str = "ndcg@10",
    seed: int = 0,
) -> GridSearchResult:
    """Score every combination of blend weights on logged searches.

    Parameters
    ----------
    index : SearchIndex
        With the recommender (and popularity) to blend; it is not changed (the search runs on
        a copy sharing the same engine, so it can keep serving).
    searches : DataFrame or list of dict
        One logged search per row: ``query``, ``item`` (the product bought or clicked after it),
        and optionally ``user`` and ``filters``.
    param_grid : mapping of str to sequence
        Values to try for fields of :class:`shoprec.search.Weights`, e.g.
        ``{"personal": [0, 0.35, 1], "popularity": [0, 0.15]}``.
    cv : int
        Number of folds (>= 2) the searches are split into (seeded).
    metric : str
        ``"ndcg@k"``, ``"hit_rate@k"`` or ``"mrr@k"`` of the bought item in the results.

    Returns
    -------
    shoprec.tune.GridSearchResult
        Mean, std and per-fold scores of every combination, and the best weights
        (``Weights(**result.best_params)`` or ``index.set_weights(**result.best_params)``).
    """
    name, _, k_text = metric.partition("@") if isinstance(metric, str) else ("", "", "")
    if name not in _METRICS or not k_text.isdigit() or int(k_text) < 1:
        raise InvalidArgumentError(f"unknown metric {metric!r}: use one of {_METRICS} with '@k', e.g. 'ndcg@10'")
    k = int(k_text)
    cv = check_int(cv, "cv", minimum=2)
    rows = _rows(searches)
    if cv > len(rows):
        raise InvalidArgumentError(f"cv={cv} folds need at least {cv} searches, got {len(rows)}")
    fields = set(Weights.__dataclass_fields__)
    for key in param_grid:
        if key not in fields:
            raise InvalidArgumentError(f"param_grid: {key!r} is not a blend weight ({sorted(fields)})")
        if isinstance(param_grid[key], (str, bytes)) or not hasattr(param_grid[key], "__iter__"):
            raise InvalidArgumentError(f"param_grid[{key!r}] must be a sequence of values")
    keys = list(param_grid)
    combos = [dict(zip(keys, values)) for values in itertools.product(*(param_grid[key] for key in keys))] or [{}]
    folds = np.array_split(np.random.default_rng(seed).permutation(len(rows)), cv)
    trial = copy.copy(index)
    table: List[Dict[str, Any]] = []
    for params in combos:
        trial.weights = index.weights.replace(**params)
        per_search = np.empty(len(rows))
        for i, (query, user, item, filters) in enumerate(rows):
            ranked = [found for found, _ in trial.search(query, k, user=user, filters=filters)]
            rank = ranked.index(item) if item in ranked else None
            if rank is None:
                per_search[i] = 0.0
            elif name == "ndcg":
                per_search[i] = 1.0 / math.log2(rank + 2)
            elif name == "mrr":
                per_search[i] = 1.0 / (rank + 1)
            else:
                per_search[i] = 1.0
        scores = [float(per_search[fold].mean()) for fold in folds]
        table.append({"params": params, "mean": float(np.mean(scores)), "std": float(np.std(scores)), "folds": scores})
    return GridSearchResult(table, metric, lower_is_better=False)
