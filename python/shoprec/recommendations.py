"""The value every recommender returns: a ranked list of ``(id, score)`` pairs.

At the bottom of the package (it imports nothing of shoprec), so models, re-ranking, search
and the Shop can all return it without importing each other.
"""

from __future__ import annotations

from typing import Any, Iterator, List, Sequence, Tuple, Union, overload

import numpy as np

__all__ = ["Recommendations"]


class Recommendations(Sequence):
    """A ranked list of ``(id, score)`` pairs, best first.

    Behaves as a sequence of tuples (``list(recs)``, ``recs[0]``, ``len(recs)``) and exposes
    the columns as arrays: ``recs.items`` (shop ids) and ``recs.scores`` (float32).
    """

    __slots__ = ("items", "scores")

    def __init__(self, items: np.ndarray, scores: np.ndarray) -> None:
        self.items = items
        self.scores = scores

    def __len__(self) -> int:
        return len(self.items)

    @overload
    def __getitem__(self, index: int) -> Tuple[Any, float]: ...
    @overload
    def __getitem__(self, index: slice) -> "Recommendations": ...
    def __getitem__(self, index: Union[int, slice]) -> Any:
        if isinstance(index, slice):
            return Recommendations(self.items[index], self.scores[index])
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
        return f"Recommendations({self.to_list()!r})"
