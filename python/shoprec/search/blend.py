"""How a search ranks its candidates: text relevance blended with the shopper's affinity and
popularity.

Each part is scaled to [0, 1] over the candidates of one search, then weighted:

* text: BM25 of the shopper's words plus the (already down-weighted) BM25 of the expansion
  keywords, divided by the best candidate's;
* personal: the attached recommender's scores for this user or history, restricted to the
  candidates (``items=``), min-max scaled; zero for every candidate when the shopper is
  unknown to the recommender or no history item is known;
* popularity: ``log1p(popularity) / log1p(best popularity among the candidates)``.

The defaults (:data:`DEFAULT_WEIGHTS`) keep text relevance first: a product the shopper is
known to like (personal 1.0 x 0.35) and a best seller (0.15) together can overtake a candidate
whose text match is at most half a point better, never the clearly better text match. A shop
changes them with ``SearchIndex.weights = Weights(...)`` or ``index.set_weights(personal=...)``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Dict, Optional

import numpy as np

from .._validate import check_float, check_int

__all__ = ["Weights", "DEFAULT_WEIGHTS", "blend"]


@dataclass(frozen=True)
class Weights:
    """The blend's weights.

    Attributes
    ----------
    text : float
        Weight of text relevance (the shopper's words and the expansions).
    personal : float
        Weight of the shopper's affinity from the attached recommender.
    popularity : float
        Weight of popularity.
    expansion : float
        How much an expansion keyword counts relative to the shopper's own words (its BM25 is
        multiplied by this times its expansion score relative to the best expansion); below 1
        so that the shopper's words always weigh more.
    n_expansions : int
        How many keywords to ask the keyword model for.
    candidates : int
        How many of the best text matches are re-ranked (at least ``offset + k``).
    """

    text: float = 1.0
    personal: float = 0.35
    popularity: float = 0.15
    expansion: float = 0.3
    n_expansions: int = 5
    candidates: int = 100

    def __post_init__(self) -> None:
        for name in ("text", "personal", "popularity"):
            check_float(getattr(self, name), name, minimum=0.0)
        check_float(self.expansion, "expansion", minimum=0.0)
        if not self.expansion < 1.0:
            from ..errors import InvalidArgumentError

            raise InvalidArgumentError(f"expansion must be below 1 (the shopper's own words weigh 1), got {self.expansion}")
        check_int(self.n_expansions, "n_expansions", minimum=0)
        check_int(self.candidates, "candidates", minimum=1)

    def replace(self, **changes: Any) -> "Weights":
        """A copy with some weights changed."""
        return replace(self, **changes)


DEFAULT_WEIGHTS = Weights()


def _scale(values: np.ndarray) -> np.ndarray:
    top = values.max() if len(values) else 0.0
    return values / top if top > 0 else np.zeros_like(values)


def blend(
    text: np.ndarray,
    expansion: np.ndarray,
    personal: Optional[np.ndarray],
    popularity: np.ndarray,
    weights: Weights,
) -> Dict[str, np.ndarray]:
    """The weighted parts of every candidate's score (float64 arrays, same order as the input).

    ``personal`` is the recommender's raw scores (NaN where it gave none) or None.
    """
    relevance = text + expansion
    top = relevance.max() if len(relevance) else 0.0
    scale = weights.text / top if top > 0 else 0.0
    parts = {"text": text * scale, "expansion": expansion * scale}
    if personal is None or not np.isfinite(personal).any():
        parts["personal"] = np.zeros_like(text)
    else:
        low, high = np.nanmin(personal), np.nanmax(personal)
        scaled = (np.nan_to_num(personal, nan=low) - low) / (high - low) if high > low else np.zeros_like(text)
        parts["personal"] = weights.personal * scaled
    parts["popularity"] = weights.popularity * _scale(np.log1p(np.maximum(popularity, 0.0)))
    return parts
