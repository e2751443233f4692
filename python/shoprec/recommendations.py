"""The value every recommender returns: a ranked list of ``(id, score)`` pairs.

At the bottom of the package (it imports only ``errors``), so models, re-ranking, search
and the Shop can all return it without importing each other.
"""

from __future__ import annotations

from typing import Any, Iterator, List, Optional, Sequence, Tuple, Union, overload

import numpy as np

from .errors import InvalidArgumentError

__all__ = ["Recommendations", "FALLBACK_REASONS"]


#: Why a list is a fallback rather than the model's own answer for this shopper.
FALLBACK_REASONS = (
    "unknown_user",       # the user id is not in the training data (check its type: "42" is not 42)
    "no_history",         # a known user without training interactions
    "no_positive_score",  # no candidate has a positive score from the model's evidence
    "empty_history",      # recommend_for_history: no known item in the history
)


class Recommendations(Sequence):
    """A ranked list of ``(id, score)`` pairs, best first, and where it came from.

    Behaves as a sequence of tuples (``list(recs)``, ``recs[0]``, ``len(recs)``) and exposes
    the columns as arrays: ``recs.items`` (shop ids) and ``recs.scores`` (float32).

    ``recs.source`` is ``"model"`` when the model answered for this shopper from its own
    evidence, ``"fallback"`` when it could not and the list is a fallback (most popular items,
    or the ``fallback=`` model given at fit); then ``recs.reason`` says why (one of
    :data:`FALLBACK_REASONS`) and the scores are the fallback's (popularity counts, not
    similarity sums). Equality compares the pairs only.
    """

    __slots__ = ("items", "scores", "source", "reason")

    def __init__(self, items: np.ndarray, scores: np.ndarray, source: str = "model",
                 reason: Optional[str] = None) -> None:
        if source not in ("model", "fallback"):
            raise InvalidArgumentError(f"source must be 'model' or 'fallback', got {source!r}")
        if (source == "fallback") != (reason is not None) or (reason is not None and reason not in FALLBACK_REASONS):
            raise InvalidArgumentError(f"a fallback needs one of {FALLBACK_REASONS} as reason (and a model answer none), got {reason!r}")
        self.items = items
        self.scores = scores
        self.source = source
        self.reason = reason

    @classmethod
    def because(cls, items: np.ndarray, scores: np.ndarray, reason: Optional[str]) -> "Recommendations":
        """A model answer (``reason`` None) or a fallback for ``reason``."""
        return cls(items, scores, "model" if reason is None else "fallback", reason)

    @property
    def is_fallback(self) -> bool:
        return self.source == "fallback"

    def __len__(self) -> int:
        return len(self.items)

    @overload
    def __getitem__(self, index: int) -> Tuple[Any, float]: ...
    @overload
    def __getitem__(self, index: slice) -> "Recommendations": ...
    def __getitem__(self, index: Union[int, slice]) -> Any:
        if isinstance(index, slice):
            return Recommendations(self.items[index], self.scores[index], self.source, self.reason)
        return (self.items[index].item() if isinstance(self.items[index], np.generic) else self.items[index],
                float(self.scores[index]))

    def __iter__(self) -> Iterator[Tuple[Any, float]]:
        return iter(self.to_list())

    def to_list(self) -> List[Tuple[Any, float]]:
        """The pairs as a plain list of ``(id, score)`` tuples with Python scalars."""
        return list(zip(self.items.tolist(), self.scores.tolist()))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Recommendations):
            return self.to_list() == other.to_list()
        if isinstance(other, list):
            return self.to_list() == other
        return NotImplemented

    def __repr__(self) -> str:
        if self.source == "fallback":
            return f"Recommendations({self.to_list()!r}, source='fallback', reason={self.reason!r})"
        return f"Recommendations({self.to_list()!r})"
