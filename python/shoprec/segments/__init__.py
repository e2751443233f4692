"""Shopper interest segments: groups of shoppers with similar tastes, and what sets each apart.

* :mod:`.profiles`: the vector of each shopper that is clustered (items or attributes);
* :mod:`.model`: :class:`InterestSegments` (fit, assign, describe, popular items, save);
* :mod:`.quality`: the silhouette of a labelling;
* :mod:`.selection`: :func:`choose_n_segments`, scores for several segment counts.

Re-ranking a recommendation list across the segments' tastes is in :mod:`shoprec.rerank`
(:func:`diversify_recommendations`, also importable from here).
"""

from __future__ import annotations

from .model import NEW_SHOPPERS, InterestSegments, SegmentDescription
from .selection import SegmentCountScores, choose_n_segments

__all__ = [
    "NEW_SHOPPERS",
    "InterestSegments",
    "SegmentDescription",
    "SegmentCountScores",
    "choose_n_segments",
    "diversify_recommendations",
]


def __getattr__(name: str) -> object:
    # shoprec.rerank stands above this package (it takes fitted segments); importing it here
    # eagerly would make the two import each other.
    if name == "diversify_recommendations":
        from ..rerank import diversify_recommendations

        return diversify_recommendations
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
