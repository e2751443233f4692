"""Re-ranking a recommendation list after the model: spreading it across the shoppers' tastes."""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from .errors import DTypeError, InvalidArgumentError
from .recommendations import Recommendations
from .segments.model import InterestSegments

__all__ = ["diversify_recommendations"]


def diversify_recommendations(recommendations: Any, segments: InterestSegments, k: Optional[int] = None) -> Any:
    """Re-rank a recommendation list so that its first items spread across the segments' tastes.

    Ask the model for more candidates than you show (e.g. ``model.recommend(user, 3 * k)``) and
    keep the ``k`` this returns. The order is :meth:`InterestSegments.diversify`'s: each item's
    taste is the segment in which the largest share of shoppers interacted with it
    (:meth:`InterestSegments.item_tastes`; items no segment reached form one group of their
    own), and the tastes take turns, in the order of their best-ranked item, each giving its
    next item in the model's order.

    What it optimises: coverage first. Every prefix of the result shows as many different
    tastes as the candidates allow (the first ``m`` items cover ``min(m, number of tastes)``
    tastes), and among the orders that do, it keeps the model's ranking within each taste and
    lets the taste of the best item lead every round. Scores are not traded off against
    coverage: a taste's first item comes before another taste's second, however the scores
    compare. Nothing is added, and nothing dropped but what ``k`` cuts.

    Parameters
    ----------
    recommendations : Recommendations or sequence of (item id, score)
        The model's ranked list, best first.
    segments : InterestSegments
        Fitted segments (:class:`NotFittedError` otherwise) that know the items;
        :class:`InvalidArgumentError` when they know none of them (fitted on another catalogue).
    k : int, optional
        How many to keep; all by default.

    Returns
    -------
    Recommendations
        The kept items in the new order, each with its score from ``recommendations`` (so the
        scores are no longer sorted).
    """
    if not isinstance(segments, InterestSegments):
        raise DTypeError(f"segments must be a shoprec.InterestSegments, got {type(segments).__name__}")
    if isinstance(recommendations, Recommendations):
        items, scores = list(recommendations.items), np.asarray(recommendations.scores, dtype=np.float32)
    else:
        if recommendations is None or isinstance(recommendations, (str, bytes)) or not hasattr(recommendations, "__iter__"):
            raise DTypeError(f"recommendations must be a Recommendations or a sequence of (item id, score) pairs, "
                             f"got {type(recommendations).__name__}")
        pairs = list(recommendations)
        if any(not isinstance(pair, tuple) or len(pair) != 2 for pair in pairs):
            raise DTypeError("recommendations must be a Recommendations or a sequence of (item id, score) pairs")
        items = [item for item, _ in pairs]
        scores = np.asarray([score for _, score in pairs], dtype=np.float32)
    if len(set(items)) != len(items):
        raise InvalidArgumentError("recommendations list an item twice")
    if items and not np.any(segments.item_positions(np.asarray(items, dtype=object), "recommendations") >= 0):
        raise InvalidArgumentError(
            "the segments know none of the recommended items: were they fitted on another catalogue?"
        )
    position = {item: p for p, item in enumerate(items)}
    chosen = np.asarray([position[item] for item in segments.diversify(items, k)], dtype=np.int64)
    ids = np.empty(len(chosen), dtype=object)
    ids[:] = [items[p] for p in chosen]
    return Recommendations(ids, scores[chosen])
