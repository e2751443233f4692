"""How a search ranks its candidates: text relevance blended with the shopper's affinity and
popularity.

Each part is scaled to [0, 1] over the candidates of one search, then weighted:

* text: BM25 of the shopper's words plus the (already down-weighted) BM25 of the expansion
  keywords, divided by the best candidate's;
* personal: the attached recommender's scores for this user or history, restricted to the
  candidates (``items=``), min-max scaled; zero for every candidate when the shopper is
  unknown to the recommender or no history item is known;
* popularity: ``log1p(popularity) / log1p(best popularity among the candidates)``.

The blend runs in Rust (``shoprec-search``'s ``blend``), float64 throughout as written here.

The defaults (:data:`DEFAULT_WEIGHTS`) keep text relevance first: a product the shopper is
known to like (personal 1.0 x 0.35) and a best seller (0.15) together can overtake a candidate
whose text match is at most half a point better, never the clearly better text match. A shop
changes them with ``SearchIndex.weights = Weights(...)`` or ``index.set_weights(personal=...)``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Dict, Optional, Tuple

import numpy as np

from .. import _core
from .._validate import K_LIMIT, check_float, check_int, check_k

__all__ = ["Weights", "DEFAULT_WEIGHTS", "PARTS", "rank"]

#: The parts of a blended score, in the order :func:`rank` gives them.
PARTS = ("text", "expansion", "personal", "popularity")


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
        # Counts of any size, clamped as every k is (found by fuzz_search_directory: a stored
        # candidates of 2**64 loaded, then overflowed the engine call at the first search).
        object.__setattr__(self, "n_expansions", min(check_int(self.n_expansions, "n_expansions", minimum=0), K_LIMIT))
        object.__setattr__(self, "candidates", check_k(self.candidates, "candidates"))

    def replace(self, **changes: Any) -> "Weights":
        """A copy with some weights changed."""
        return replace(self, **changes)


DEFAULT_WEIGHTS = Weights()


def rank(
    text: np.ndarray,
    expansion: np.ndarray,
    personal: Optional[np.ndarray],
    popularity: np.ndarray,
    weights: Weights,
    offset: int = 0,
    k: Optional[int] = None,
) -> Tuple[np.ndarray, np.ndarray, Dict[str, np.ndarray]]:
    """Blend and rank the candidates of one search (in Rust, the GIL released).

    ``text`` and ``expansion`` are the engine's float32 scores, ``popularity`` float64,
    ``personal`` the recommender's raw scores as float64 (NaN where it gave none) or None.
    Returns ``(order, scores, parts)`` for the candidates ``offset:offset + k`` of the ranking:
    their positions in the inputs (best blended score first, ties in input order), their
    blended scores and each weighted part (float32; the parts add up to the score).
    """
    order, score, *parts = _core.blend(
        np.ascontiguousarray(text, dtype=np.float32), np.ascontiguousarray(expansion, dtype=np.float32),
        None if personal is None else np.ascontiguousarray(personal, dtype=np.float64),
        np.ascontiguousarray(popularity, dtype=np.float64),
        (float(weights.text), float(weights.personal), float(weights.popularity)),
        check_int(offset, "offset", minimum=0), len(text) if k is None else check_int(k, "k", minimum=0),
    )
    return order, score, dict(zip(PARTS, parts))
