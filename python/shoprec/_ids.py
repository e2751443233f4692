"""Maps between a shop's own ids (any hashable values) and the dense indices the core uses.

Ids are kept as one numpy array whose position is the index: an integer array when every id
is an integer, a unicode array for strings, object dtype only when the ids are mixed. Lookups
go through a dict built on first use; building it twice from two threads is harmless, so the
map needs no lock and a fitted model stays safe to share.
"""

from __future__ import annotations

from typing import Any, Dict, Hashable, Iterable, Optional, Tuple

import numpy as np

from .errors import DTypeError, InvalidArgumentError, UnknownIdError


def _as_id_array(values: Any, name: str) -> np.ndarray:
    """The ids as a 1-D array with the narrowest faithful dtype (int64, float64, str or object)."""
    array: Any
    if isinstance(values, np.ndarray):
        array = values
    else:
        values = list(values) if not hasattr(values, "__len__") or isinstance(values, (str, bytes)) else values
        try:
            array = np.asarray(values)
        except (TypeError, ValueError):
            array = None
        # numpy turns [1, "a"] into strings ("1", "a"): keep mixed ids as the objects they are.
        # Likewise [(1, 2), (3, 4)] would become a 2-D array: tuples are ids too.
        # Bytes are not text: b"u1" must not become the user "u1", so bytes stay objects.
        if (
            array is None
            or array.ndim > 1
            or array.dtype.kind == "S"
            or (array.dtype.kind == "U" and not all(isinstance(v, str) for v in values))
        ):
            array = np.empty(len(values), dtype=object)
            array[:] = list(values)
    if array.ndim != 1:
        if array.ndim == 0:
            array = array.reshape(1)
        else:
            raise DTypeError(f"{name} must be 1-D, got {array.ndim} dimensions")
    if array.dtype.kind in "iub":
        if array.dtype.kind == "b":
            raise DTypeError(f"{name} must hold ids, got booleans")
        return array.astype(np.int64, copy=False)
    if array.dtype.kind == "f":
        if not np.all(np.isfinite(array)):
            raise InvalidArgumentError(f"{name} contains NaN or infinite ids (missing values?)")
        return array
    if array.dtype.kind == "U":
        return array
    if array.dtype.kind == "S":  # a numpy bytes array given as such: its values are bytes ids
        out = np.empty(len(array), dtype=object)
        out[:] = array.tolist()
        array = out
    if array.dtype.kind == "O":
        for value in array:
            if value is None or (isinstance(value, float) and not np.isfinite(value)):
                raise InvalidArgumentError(f"{name} contains a missing id ({value!r})")
            try:
                hash(value)
            except TypeError:
                raise DTypeError(f"{name} contains an unhashable id of type {type(value).__name__}") from None
        if len(array) and all(isinstance(v, str) for v in array):
            return array.astype(str)
        if len(array) and all(isinstance(v, bytes) for v in array):
            return array  # bytes ids stay bytes (numpy's "S" dtype would strip trailing NULs)
        if len(array) and all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in array):
            return array.astype(np.int64)
        return array
    raise DTypeError(f"{name} must hold ids (integers or strings), got dtype {array.dtype}")


class IdMap:
    """Ids in index order. ``ids[index]`` is the id; :meth:`index` goes the other way."""

    __slots__ = ("ids", "_lookup")

    def __init__(self, ids: np.ndarray) -> None:
        self.ids = ids
        self._lookup: Optional[Dict[Hashable, int]] = None

    @classmethod
    def factorize(cls, values: Any, name: str) -> Tuple["IdMap", np.ndarray]:
        """The distinct ids of ``values`` (sorted when they can be ordered, else in order of
        first appearance) and the index of every value, as int32."""
        array = _as_id_array(values, name)
        try:
            uniques, inverse = np.unique(array, return_inverse=True)
        except TypeError:  # mixed types that cannot be ordered
            lookup: Dict[Hashable, int] = {}
            inverse = np.fromiter((lookup.setdefault(v, len(lookup)) for v in array), np.int64, len(array))
            uniques = np.empty(len(lookup), dtype=object)
            uniques[:] = list(lookup)
        if len(uniques) > np.iinfo(np.int32).max:
            raise InvalidArgumentError(f"{name} has more than 2^31 - 1 distinct ids")
        return cls(uniques), inverse.astype(np.int32).reshape(-1)

    def __len__(self) -> int:
        return len(self.ids)

    def _table(self) -> Dict[Hashable, int]:
        table = self._lookup
        if table is None:
            table = {v: i for i, v in enumerate(self.ids.tolist())}
            self._lookup = table
        return table

    def get(self, value: Hashable) -> int:
        """The index of one id, or -1 when the id is unknown (or unhashable)."""
        try:
            return self._table().get(value, -1)
        except TypeError:
            return -1

    def index(self, value: Hashable, what: str) -> int:
        """The index of one id; :class:`UnknownIdError` naming ``what`` when it is unknown."""
        position = self.get(value)
        if position < 0:
            raise UnknownIdError(f"{what} {value!r} is unknown to this model")
        return position

    def indices(self, values: Iterable[Hashable], name: str) -> np.ndarray:
        """The index of every id as int32, -1 for unknown ids."""
        array = values if isinstance(values, np.ndarray) else _as_id_array(values, name)
        if array.ndim == 0:
            array = array.reshape(1)
        table = self._table()
        get = table.get
        try:
            return np.fromiter((get(v, -1) for v in array.tolist()), np.int32, len(array))
        except TypeError:
            raise DTypeError(f"{name} contains an unhashable id") from None

    def known_indices(self, values: Iterable[Hashable], name: str) -> np.ndarray:
        """The indices of the known ids among ``values`` (unknown ids are dropped)."""
        positions = self.indices(values, name)
        return positions[positions >= 0]
