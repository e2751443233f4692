"""Offline evaluation: train/test splits and accuracy metrics for ratings and rankings.

Splits return :class:`~shoprec.Interactions` that share the id maps of the whole data, so a
model fitted on the training part knows every id (users or items that only occur in the
test part simply have no training interactions and get the fallback).

Metric definitions (``k`` = list length, ``R_u`` = relevant test items of user ``u``, ``hits``
= recommended items in ``R_u``); every ranking metric is averaged over the users with at
least one relevant test item:

* ``precision@k`` = hits / k; ``recall@k`` = hits / |R_u|; ``hit_rate@k`` = 1 if hits > 0;
* ``ndcg@k`` = DCG / ideal DCG with binary gains and discount ``1 / log2(rank + 1)`` (rank 1
  is the top), the ideal placing ``min(k, |R_u|)`` hits first;
* ``map@k`` = sum over hit ranks r of precision@r, divided by ``min(k, |R_u|)``;
* ``coverage@k`` = distinct items recommended to the evaluated users / items in the model.
"""

from __future__ import annotations

import numbers
from typing import Any, Dict, Iterator, Optional, Sequence, Tuple

import numpy as np

from ._validate import check_float, check_int, check_k, check_num_threads
from .errors import DTypeError, InvalidArgumentError, NotFittedError, ShapeMismatchError
from .interactions import Interactions

__all__ = [
    "random_split", "leave_last_n", "time_split", "k_fold",
    "rmse", "mae", "rating_metrics", "ranking_metrics", "ranking_metrics_from_lists",
]


def _check(interactions: Any, name: str = "interactions") -> Interactions:
    if not isinstance(interactions, Interactions):
        raise DTypeError(f"{name} must be a shoprec.Interactions, got {type(interactions).__name__}")
    if len(interactions) == 0:
        raise InvalidArgumentError(f"{name} is empty (an empty selection or split)")
    return interactions


def _check_model(model: Any) -> Any:
    """A fitted shoprec model (anything else: DTypeError; unfitted: NotFittedError)."""
    fitted = getattr(model, "_fitted", None)
    if fitted is None or not callable(getattr(model, "_recommend_indices", None)):
        raise DTypeError(f"model must be a fitted shoprec model, got {type(model).__name__}")
    try:
        fitted()
    except NotFittedError as exc:
        raise NotFittedError(f"model: {exc}") from None
    return model


def _cutoff_seconds(cutoff: Any) -> float:
    """A time_split cutoff in the timestamps' unit: a real number (seconds for datetime
    input), or a ``datetime64``, ``datetime.datetime`` or ``pandas.Timestamp`` (converted to
    seconds since the epoch, fractions kept; naive times are UTC)."""
    import datetime

    if isinstance(cutoff, (bool, np.bool_)) or cutoff is None:
        raise DTypeError(f"cutoff must be a number or a datetime, got {type(cutoff).__name__}")
    if isinstance(cutoff, datetime.date) and not isinstance(cutoff, datetime.datetime):
        cutoff = datetime.datetime(cutoff.year, cutoff.month, cutoff.day)
    if isinstance(cutoff, datetime.datetime):  # pandas.Timestamp is one too
        if cutoff.tzinfo is not None:
            cutoff = cutoff.astimezone(datetime.timezone.utc).replace(tzinfo=None)
        to_datetime64 = getattr(cutoff, "to_datetime64", None)  # pandas.Timestamp: keeps nanoseconds
        cutoff = to_datetime64() if to_datetime64 is not None else np.datetime64(cutoff, "us")
    if isinstance(cutoff, np.datetime64):
        if np.isnat(cutoff):
            raise InvalidArgumentError("cutoff is NaT (a missing time)")
        return float(cutoff.astype("datetime64[ns]").astype(np.int64)) / 1e9
    if isinstance(cutoff, numbers.Real):
        value = float(cutoff)
        if np.isnan(value):
            raise InvalidArgumentError("cutoff is NaN")
        return value
    raise DTypeError(f"cutoff must be a number or a datetime, got {type(cutoff).__name__}")


def random_split(interactions: Interactions, test_size: float = 0.2, *, seed: int = 0) -> Tuple[Interactions, Interactions]:
    """A random holdout of exactly ``round(test_size * len(interactions))`` entries, chosen
    by a generator seeded with ``seed`` (the same seed gives the same split)."""
    inter = _check(interactions)
    test_size = check_float(test_size, "test_size", minimum=0.0, strict=True)
    if test_size >= 1:
        raise InvalidArgumentError(f"test_size must be below 1, got {test_size}")
    rng = np.random.default_rng(seed)
    n_test = int(round(test_size * len(inter)))
    test_rows = rng.permutation(len(inter))[:n_test]
    mask = np.zeros(len(inter), bool)
    mask[test_rows] = True
    return inter.select(~mask), inter.select(mask)


def leave_last_n(interactions: Interactions, n: int = 1) -> Tuple[Interactions, Interactions]:
    """Per user, the ``n`` latest entries (by timestamp, ties by item index) go to the test
    part; users with ``n`` entries or fewer stay entirely in training."""
    inter = _check(interactions)
    n = check_int(n, "n", minimum=1)
    if inter.timestamps is None:
        raise InvalidArgumentError("leave_last_n needs timestamps")
    order = np.lexsort((inter.items, inter.timestamps, inter.users))
    counts = np.bincount(inter.users, minlength=inter.n_users)
    sorted_users = inter.users[order]
    starts = np.r_[0, np.cumsum(counts)[:-1]]
    rank_from_end = counts[sorted_users] - (np.arange(len(order)) - starts[sorted_users])  # 1 = latest
    test_sorted = (rank_from_end <= n) & (counts[sorted_users] > n)
    mask = np.zeros(len(inter), bool)
    mask[order[test_sorted]] = True
    return inter.select(~mask), inter.select(mask)


def time_split(interactions: Interactions, cutoff: Any) -> Tuple[Interactions, Interactions]:
    """Entries before ``cutoff`` train; the rest test. ``cutoff`` is a number in the
    timestamps' unit, or a ``datetime64`` / ``datetime.datetime`` / ``pandas.Timestamp`` for
    timestamps given as datetimes (compared in seconds since the epoch, UTC). None, NaN and
    NaT are refused (they would silently put everything on one side)."""
    inter = _check(interactions)
    if inter.timestamps is None:
        raise InvalidArgumentError("time_split needs timestamps")
    mask = inter.timestamps >= _cutoff_seconds(cutoff)
    return inter.select(~mask), inter.select(mask)


def k_fold(interactions: Interactions, n_splits: int = 5, *, seed: int = 0) -> Iterator[Tuple[Interactions, Interactions]]:
    """``n_splits`` (train, test) pairs; the test parts are disjoint and cover every entry."""
    inter = _check(interactions)
    n_splits = check_int(n_splits, "n_splits", minimum=2)
    if n_splits > len(inter):
        raise InvalidArgumentError(f"n_splits={n_splits} is more than the {len(inter)} interactions")
    rng = np.random.default_rng(seed)
    folds = np.array_split(rng.permutation(len(inter)), n_splits)
    for fold in folds:
        mask = np.zeros(len(inter), bool)
        mask[fold] = True
        yield inter.select(~mask), inter.select(mask)


def _test_ids(test: Interactions) -> Tuple[np.ndarray, np.ndarray]:
    return test.user_ids[test.users], test.item_ids[test.items]


def rmse(model: Any, test: Interactions, *, num_threads: int = 0) -> float:
    """Root mean squared error of ``model.predict_many`` on the test entries."""
    return rating_metrics(model, test, num_threads=num_threads)["rmse"]


def mae(model: Any, test: Interactions, *, num_threads: int = 0) -> float:
    """Mean absolute error of ``model.predict_many`` on the test entries."""
    return rating_metrics(model, test, num_threads=num_threads)["mae"]


def rating_metrics(model: Any, test: Interactions, *, num_threads: int = 0) -> Dict[str, float]:
    """``{"rmse": ..., "mae": ...}`` of the model's predictions of the test values."""
    test = _check(test, "test")
    users, items = _test_ids(test)
    errors = model.predict_many(users, items, num_threads=check_num_threads(num_threads)) - test.values
    return {"rmse": float(np.sqrt(np.mean(errors**2))), "mae": float(np.mean(np.abs(errors)))}


def _lists(lists: Any, name: str) -> list:
    """One list of hashable ids per user (generators read once); DTypeError naming ``name``."""
    if lists is None or isinstance(lists, (str, bytes)) or not hasattr(lists, "__iter__"):
        raise DTypeError(f"{name} must be a sequence of id lists (one per user), got {type(lists).__name__}")
    out = []
    for position, ids in enumerate(lists):
        if ids is None or isinstance(ids, (str, bytes)) or not hasattr(ids, "__iter__"):
            raise DTypeError(f"{name}[{position}] must be a sequence of ids, got {type(ids).__name__}")
        ids = ids.tolist() if isinstance(ids, np.ndarray) else list(ids)
        for value in ids:
            try:
                hash(value)
            except TypeError:
                raise DTypeError(f"{name}[{position}] contains an unhashable id of type {type(value).__name__}") from None
        out.append(ids)
    return out


def ranking_metrics_from_lists(
    recommended: Sequence[Sequence[Any]], relevant: Sequence[Sequence[Any]], k: int, n_items: Optional[int] = None
) -> Dict[str, float]:
    """Ranking metrics of given lists (any comparable ids), one list per user, for comparing
    any recommender (peers included) with the same code.

    Users with no relevant item are skipped. ``coverage@k`` is reported when ``n_items`` is
    given. Returns ``{"precision@k", "recall@k", "ndcg@k", "map@k", "hit_rate@k",
    ["coverage@k"], "users"}``.
    """
    k = check_k(k)
    recommended = _lists(recommended, "recommended")
    relevant = _lists(relevant, "relevant")
    if len(recommended) != len(relevant):
        raise ShapeMismatchError(f"{len(recommended)} recommended lists for {len(relevant)} relevant lists")
    # A repeated id counts once, at its first rank: a list cannot hit the same item twice.
    tops = [list(dict.fromkeys(recs))[:k] for recs in recommended]
    rel_sets = [set(rel) for rel in relevant]
    longest = max([len(t) for t in tops] + [min(k, len(r)) for r in rel_sets] + [1])
    discounts = 1.0 / np.log2(np.arange(2, longest + 2))
    totals = np.zeros(5)
    users = 0
    shown: set = set()
    for top, rel_set in zip(tops, rel_sets):
        if not rel_set:
            continue
        shown.update(top)
        hits = np.array([item in rel_set for item in top], dtype=float)
        n_hits = hits.sum()
        ideal = discounts[: min(k, len(rel_set))].sum()
        precision_at = np.cumsum(hits) / np.arange(1, len(hits) + 1) if len(hits) else hits
        totals += (
            n_hits / k,
            n_hits / len(rel_set),
            (hits * discounts[: len(hits)]).sum() / ideal,
            (precision_at * hits).sum() / min(k, len(rel_set)),
            float(n_hits > 0),
        )
        users += 1
    names = ("precision", "recall", "ndcg", "map", "hit_rate")
    result = {f"{name}@{k}": float(total / users) if users else 0.0 for name, total in zip(names, totals)}
    if n_items:
        result[f"coverage@{k}"] = len(shown) / n_items
    result["users"] = users
    return result


def ranking_metrics(
    model: Any,
    test: Interactions,
    k: int = 10,
    *,
    threshold: Optional[float] = None,
    exclude_seen: bool = True,
    num_threads: int = 0,
) -> Dict[str, float]:
    """Top-``k`` ranking metrics of a fitted model on the test part of a split.

    Parameters
    ----------
    model : a fitted shoprec model
    test : Interactions
        The held-out entries; an entry is relevant when its value is at least ``threshold``
        (every entry when ``threshold`` is None), e.g. ``threshold=4`` for "liked".
    k : int
    exclude_seen : bool
        Leave the users' training items out of their lists (the usual protocol).

    Returns
    -------
    dict
        See the module docstring; also ``"users"``, the number of users evaluated.
    """
    test = _check(test, "test")
    model = _check_model(model)
    # No list is longer than the catalogue: a huge k is clamped (the @k in the names stays).
    k_asked = check_k(k)
    k = min(k_asked, max(1, len(model._fitted().items)))
    keep = np.ones(len(test), bool) if threshold is None else test.values >= float(threshold)
    users = test.users[keep]
    item_ids = test.item_ids[test.items[keep]]
    if len(users) == 0:
        raise InvalidArgumentError("no relevant test entries to evaluate")
    order = np.argsort(users, kind="stable")
    users, item_ids = users[order], item_ids[order]
    unique_users, starts = np.unique(users, return_index=True)
    relevant_ids = np.split(item_ids, starts[1:])
    user_indices = model._fitted().users.indices(test.user_ids[unique_users], "users")
    model_items = model._fitted().items
    relevant = [model_items.indices(ids, "items") for ids in relevant_ids]
    # Relevant items the model does not know can never be hit but still count in |R_u|.
    relevant = [np.where(r >= 0, r, -2 - np.arange(len(r))) for r in relevant]
    ids, _, _ = model._recommend_indices(user_indices, k, exclude_seen=exclude_seen, num_threads=num_threads)
    lists = [row[row >= 0] for row in ids]
    result = ranking_metrics_from_lists(lists, relevant, k, n_items=len(model_items))
    if k != k_asked:  # precision@k divides by the k asked for, as for any short list
        result = {name.replace(f"@{k}", f"@{k_asked}"): value for name, value in result.items()}
        result[f"precision@{k_asked}"] *= k / k_asked
    return result
