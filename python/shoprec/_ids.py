"""Maps between a shop's own ids (any hashable values) and the dense indices the core uses.

Ids are kept as one numpy array whose position is the index: an integer array when every id
is an integer, a unicode array for strings, object dtype only when the ids are mixed. Lookups
go through a dict built on first use; building it twice from two threads is harmless, so the
map needs no lock and a fitted model stays safe to share.
"""

from __future__ import annotations

import re
from itertools import repeat
from typing import Any, Dict, Hashable, Iterable, Optional, Tuple

import numpy as np

from . import _core
from .errors import DTypeError, InvalidArgumentError, UnknownIdError


_CANONICAL_INT = re.compile(r"-?(0|[1-9][0-9]*)")


def check_id_sequence(values: Any, name: str) -> Any:
    """``values`` if it is a sequence (or any iterable, e.g. a generator: then as a list) of
    ids; :class:`DTypeError` naming ``name`` for None, a single str or bytes (which would
    otherwise be iterated character by character) and anything that is not iterable."""
    if values is None:
        raise DTypeError(f"{name} must be a sequence of ids, got None")
    if isinstance(values, (str, bytes)):
        raise DTypeError(
            f"{name} must be a sequence of ids, got a single {type(values).__name__} {values[:40]!r}: "
            "wrap one id in a list"
        )
    if isinstance(values, np.ndarray):
        return values
    if not hasattr(values, "__len__") or not hasattr(values, "__getitem__"):
        if not hasattr(values, "__iter__"):
            raise DTypeError(f"{name} must be a sequence of ids, got {type(values).__name__}")
        values = list(values)  # generators, sets, dict views: read once, in their order
    return values


def filter_ids(values: Any, name: str) -> Any:
    """An ``items=`` / ``exclude=`` / ``history=`` argument as a sequence of ids: a single id
    (a str, bytes, number) is a list of one; any iterable (generators included) is read."""
    if values is None:
        raise DTypeError(f"{name} must be ids, got None")
    if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
        return [values]
    return check_id_sequence(values, name)


def _as_id_array(values: Any, name: str) -> np.ndarray:
    """The ids as a 1-D array with the narrowest faithful dtype (int64, float64, str or object)."""
    array: Any
    values = check_id_sequence(values, name)
    if isinstance(values, np.ndarray):
        array = values
    else:
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
        if array.dtype == np.uint64 and len(array) and int(array.max()) > np.iinfo(np.int64).max:
            out = np.empty(len(array), dtype=object)
            out[:] = array.tolist()
            return out
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
        if any(isinstance(v, (bool, np.bool_)) for v in array):
            raise DTypeError(f"{name} must hold ids, got booleans")
        if len(array) and all(isinstance(v, (int, np.integer)) for v in array):
            try:
                return array.astype(np.int64)
            except OverflowError:  # ids beyond 64 bits stay Python ints
                return array
        return array
    raise DTypeError(f"{name} must hold ids (integers or strings), got dtype {array.dtype}")


class IdMap:
    """Ids in index order. ``ids[index]`` is the id; :meth:`index` goes the other way."""

    __slots__ = ("ids", "_lookup", "_order", "_hashed")

    def __init__(self, ids: np.ndarray) -> None:
        self.ids = ids
        self._lookup: Optional[Dict[Hashable, int]] = None
        self._order: Optional[Tuple[np.ndarray, np.ndarray]] = None  # argsort, sorted ids
        self._hashed: Optional[np.ndarray] = None  # int64 ids: the core's hash table (empty: none)

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

    def _alternate(self, value: Any) -> Any:
        """The id ``value`` stands for under the documented matching rule, or None: the
        canonical decimal string of an integer ("1808", "-3"; not "01808", "1808.0", " 1808")
        matches the integer id in a map of integer ids, and an integer matches its decimal
        string in a map of string ids (ids from a CSV are ints, ids from a URL strings).
        Bytes never match str, and nothing is coerced in maps of mixed ids."""
        kind = self.ids.dtype.kind
        if kind in "iu" and isinstance(value, str) and len(value) <= 40 and _CANONICAL_INT.fullmatch(value):
            return int(value)
        if kind == "U" and isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_)):
            return str(int(value))
        return None

    def get(self, value: Hashable) -> int:
        """The index of one id, or -1 when the id is unknown (or unhashable, or a bool: True is
        not the id 1). See :meth:`_alternate` for the str/int matching rule."""
        if isinstance(value, (bool, np.bool_)):
            return -1
        table = self._table()
        try:
            position = table.get(value, -1)
        except TypeError:
            return -1
        if position < 0:
            alternate = self._alternate(value)
            if alternate is not None:
                position = table.get(alternate, -1)
        return position

    def index(self, value: Hashable, what: str) -> int:
        """The index of one id; :class:`UnknownIdError` naming ``what`` when it is unknown."""
        position = self.get(value)
        if position < 0:
            raise UnknownIdError(f"{what} {_short(value)} is unknown to this model{self._type_hint(value)}")
        return position

    def _type_hint(self, value: Any) -> str:
        kind = self.ids.dtype.kind
        if kind in "iu" and not isinstance(value, (int, np.integer)):
            return f" (its ids are integers, got {type(value).__name__})"
        if kind == "U" and not isinstance(value, str):
            return f" (its ids are strings, got {type(value).__name__})"
        return ""

    def _sorted_lookup(self, values: np.ndarray) -> Optional[np.ndarray]:
        """:meth:`indices` without a Python loop when ``values`` is an array of the map's own
        kind (strings for string ids, integers that fit int64 for int64 ids): then no id can
        match by the str/int rule, so an exact search is the answer. None otherwise. String
        ids by binary search; int64 ids through the core's hash table (``_core.id_table``,
        built at the first lookup; a binary search if it refuses the ids). A shop passes its
        in-stock or candidate arrays on every request: this keeps a request from looping over
        thousands of ids while holding the GIL."""
        kind, ids = values.dtype.kind, self.ids
        same_kind = (kind == "U" and ids.dtype.kind == "U") or (
            kind in "iu" and ids.dtype == np.int64 and np.can_cast(values.dtype, np.int64)
        )
        if not same_kind or values.ndim != 1:
            return None
        if len(ids) == 0:
            return np.full(len(values), -1, dtype=np.int32)
        if kind != "U":  # int64 ids: one or two cache lines per value instead of ~log2(n)
            table = getattr(self, "_hashed", None)  # (a map pickled before it had one)
            if table is None:  # built once; a race only builds the same table twice
                try:
                    table = _core.id_table(np.ascontiguousarray(ids, dtype=np.int64))
                except InvalidArgumentError:  # repeated ids (a damaged map): the search below
                    table = None
                table = self._hashed = np.zeros(0, np.int64) if table is None else table
            if len(table):
                return _core.id_lookup(table, np.ascontiguousarray(values, dtype=np.int64))
        cached = self._order
        if cached is None:  # computed once; a race only computes the same arrays twice
            order = np.argsort(ids, kind="stable")
            cached = self._order = (order, ids[order])
        order, sorted_ids = cached
        positions = np.minimum(np.searchsorted(sorted_ids, values), len(ids) - 1)
        found = sorted_ids[positions] == values
        return np.where(found, order[positions], -1).astype(np.int32)

    def indices(self, values: Iterable[Hashable], name: str) -> np.ndarray:
        """The index of every id as int32, -1 for unknown ids (same rules as :meth:`get`)."""
        values = check_id_sequence(values, name)
        if isinstance(values, np.ndarray):
            fast = self._sorted_lookup(values)
            if fast is not None:
                return fast
        integers = isinstance(values, np.ndarray) and values.dtype.kind in "iu"
        if isinstance(values, np.ndarray):
            if values.ndim == 0:
                values = values.reshape(1)
            if values.ndim != 1:
                raise DTypeError(f"{name} must be 1-D, got {values.ndim} dimensions")
            if values.dtype.kind in "bc":
                raise DTypeError(f"{name} must hold ids, got dtype {values.dtype}")
            values = values.tolist()
        elif not isinstance(values, list):
            values = list(values)
        get = self._table().get
        try:  # map: the loop runs in C, without a Python frame per id
            out = np.fromiter(map(get, values, repeat(-1)), np.int32, len(values))
        except TypeError:
            raise DTypeError(f"{name} contains an unhashable id") from None
        kind = self.ids.dtype.kind
        if kind in "iuU" and not (integers and kind in "iu"):  # an int array needs no rule
            # Misses may match by the str/int rule; a bool matches nothing (True is not 1).
            for position in np.flatnonzero(out < 0).tolist():
                out[position] = self.get(values[position])
            if kind in "iu" and any(isinstance(v, (bool, np.bool_)) for v in values):
                out[[isinstance(v, (bool, np.bool_)) for v in values]] = -1
        return out

    def exact_indices(self, positions: np.ndarray, values: Any) -> np.ndarray:
        """``positions`` (:meth:`indices` of ``values``) with -1 wherever the id found is not
        equal to the value looked up, i.e. was matched only by the str/int rule (the value "42"
        for the id 42); ``positions`` itself when no value can have been (a map without the
        rule, an array of the map's own kind or of floats, or str values in a map of str)."""
        kind = self.ids.dtype.kind
        if kind not in "iuU":
            return positions
        if isinstance(values, np.ndarray):
            given_kind = values.dtype.kind
            if given_kind == "f" or (given_kind in "iu" and kind in "iu") or (given_kind == "U" and kind == "U"):
                return positions
        elif kind == "U" and set(map(type, values)) == {str}:  # a search's all-str candidates
            return positions
        return self._exact_by_objects(positions, values)

    def _exact_by_objects(self, positions: np.ndarray, values: Any) -> np.ndarray:
        """:meth:`exact_indices` by comparing every found id with its value as objects."""
        found = np.flatnonzero(positions >= 0)
        if len(found) == 0:
            return positions
        if isinstance(values, np.ndarray):
            given = values.reshape(-1).astype(object)
        else:  # a sequence of ids (tuples included) as objects, without a Python loop
            given = np.fromiter(values, dtype=object, count=len(values))
        same = self.ids[positions[found]].astype(object) == given[found]
        exact = positions.copy()
        exact[found[~same]] = -1
        return exact

    def known_indices(self, values: Iterable[Hashable], name: str) -> np.ndarray:
        """The indices of the known ids among ``values`` (unknown ids are dropped)."""
        positions = self.indices(values, name)
        return positions[positions >= 0]


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
