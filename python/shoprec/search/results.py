"""The value a search returns: ranked ``(id, score)`` pairs like :class:`Recommendations`, with
each score's parts and what the search did to find them."""

from __future__ import annotations

from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple, Union, overload

import numpy as np

from ..recommendations import Recommendations
from .blend import PARTS

__all__ = ["SearchResults", "FALLBACKS"]

#: What :attr:`SearchResults.fallback` can say, and what it means.
FALLBACKS = {
    "empty-query": "the query has no word to search for: popular products (passing the filters)",
    "relaxed": "no product matched as asked: found by retrying with query expansion and typo tolerance",
    "popular": "no product matched even with expansion and typos: popular products (passing the filters)",
}


class SearchResults(Sequence):
    """The answer to :meth:`shoprec.SearchIndex.search`, best first.

    A sequence of ``(id, score)`` tuples exactly like :class:`shoprec.Recommendations`
    (``list(results)``, ``results[0]``, ``results.items``, ``results.scores``), plus:

    Attributes
    ----------
    items : ndarray
        Product ids, best first.
    scores : ndarray of float32
        The blended scores; each is the sum of its :attr:`parts`.
    parts : dict of str to ndarray of float32
        ``"text"`` (BM25 of the shopper's words, typo matches down-weighted), ``"expansion"``
        (BM25 of the expansion keywords), ``"personal"`` (the shopper's affinity from the
        attached recommender) and ``"popularity"``, each already multiplied by its weight.
    words : list of str
        The shopper's words as the index reads them.
    expansions : list of (str, float)
        The expansion keywords that matched products, with the weight they were searched with.
    corrections : list of (str, str)
        ``(word, catalogue term)`` for words found only with typo tolerance.
    facets : dict of str to dict of value to int
        For each requested facet field, the number of matching products (after filters) per
        value, most frequent first.
    total : int
        How many products matched (after filters), of which these are the best.
    fallback : str or None
        None for a normal answer, else a key of :data:`FALLBACKS` saying what was done instead.
    """

    __slots__ = ("items", "scores", "parts", "words", "expansions", "corrections", "facets", "total", "fallback")

    def __init__(
        self,
        items: np.ndarray,
        scores: np.ndarray,
        parts: Dict[str, np.ndarray],
        *,
        words: Optional[List[str]] = None,
        expansions: Optional[List[Tuple[str, float]]] = None,
        corrections: Optional[List[Tuple[str, str]]] = None,
        facets: Optional[Dict[str, Dict[Any, int]]] = None,
        total: int = 0,
        fallback: Optional[str] = None,
    ) -> None:
        self.items = items
        self.scores = scores
        self.parts = parts
        self.words = words or []
        self.expansions = expansions or []
        self.corrections = corrections or []
        self.facets = facets or {}
        self.total = total
        self.fallback = fallback

    def __len__(self) -> int:
        return len(self.items)

    @overload
    def __getitem__(self, index: int) -> Tuple[Any, float]: ...
    @overload
    def __getitem__(self, index: slice) -> "SearchResults": ...
    def __getitem__(self, index: Union[int, slice]) -> Any:
        if isinstance(index, slice):
            return SearchResults(
                self.items[index], self.scores[index], {k: v[index] for k, v in self.parts.items()},
                words=self.words, expansions=self.expansions, corrections=self.corrections,
                facets=self.facets, total=self.total, fallback=self.fallback,
            )
        item = self.items[index]
        return (item.item() if isinstance(item, np.generic) else item, float(self.scores[index]))

    def __iter__(self) -> Iterator[Tuple[Any, float]]:
        return iter(self.to_list())

    def to_list(self) -> List[Tuple[Any, float]]:
        """The pairs as a plain list of ``(id, score)`` tuples."""
        return list(zip(self.items.tolist(), self.scores.tolist()))

    def to_recommendations(self) -> Recommendations:
        """The ranking alone, as :class:`shoprec.Recommendations`."""
        return Recommendations(self.items, self.scores)

    def explain(self, index: int) -> Dict[str, float]:
        """The parts of the score of result ``index``: ``{"text": ..., "expansion": ...,
        "personal": ..., "popularity": ...}``; they add up to its score."""
        return {name: float(self.parts[name][index]) for name in PARTS}

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (SearchResults, Recommendations)):
            return self.to_list() == other.to_list()
        if isinstance(other, list):
            return self.to_list() == other
        return NotImplemented

    def __repr__(self) -> str:
        extra = f", fallback={self.fallback!r}" if self.fallback else ""
        return f"SearchResults({self.to_list()!r}, total={self.total}{extra})"
