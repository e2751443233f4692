"""``shoprec.Interactions``: who did what with which item, on the shop's own ids.

An ``Interactions`` holds one entry per (user, item) pair, sorted by user then item, with a
value (an explicit rating, or the weight of implicit events) and optionally a timestamp. The
id maps live inside and travel with every model fitted on it. Instances are immutable.
"""

from __future__ import annotations

import numbers
import os
from typing import Any, Dict, Mapping, Optional, Tuple, Union

import numpy as np
import scipy.sparse as sp

from ._ids import IdMap
from .io import PicklesByValue, load_as, register, save
from ._validate import FLOAT32_MAX, as_index_array, check_path
from .errors import DTypeError, InvalidArgumentError, ShapeMismatchError

__all__ = ["Interactions", "DEFAULT_EVENT_WEIGHTS"]

#: The weight of each implicit event type when ``Interactions`` is built with ``event=``.
DEFAULT_EVENT_WEIGHTS: Dict[str, float] = {"view": 1.0, "favorite": 3.0, "cart": 4.0, "purchase": 5.0}

_COMBINE = ("max", "sum", "last", "mean")

# The models compute in float32: a value outside its range would become inf (or 0) there.
_FLOAT32_TINY = float(np.finfo(np.float32).tiny)


def _out_of_float32_range(values: np.ndarray) -> Optional[int]:
    """The first position whose value is not finite or cannot be held by a float32 without
    becoming inf or losing its normal precision (nonzero magnitudes below the smallest normal
    float32), or None."""
    magnitude = np.abs(values)
    bad = ~np.isfinite(magnitude) | (magnitude > FLOAT32_MAX) | ((magnitude != 0) & (magnitude < _FLOAT32_TINY))
    return int(np.flatnonzero(bad)[0]) if bad.any() else None


def _as_values(values: Any, n: int, name: str) -> np.ndarray:
    if values is not None and not isinstance(values, np.ndarray) and not hasattr(values, "__len__") \
            and hasattr(values, "__iter__"):
        values = list(values)  # a generator
    try:
        raw = np.asarray(values) if not isinstance(values, np.ndarray) else values
    except (TypeError, ValueError) as exc:
        raise DTypeError(f"{name} cannot be read as an array of numbers: {str(exc)[:200]}") from None
    if raw.dtype.kind not in "biuf" and not (raw.dtype.kind == "O" and all(
            isinstance(v, numbers.Real) for v in raw.reshape(-1).tolist())):
        raise DTypeError(f"{name} must hold real numbers, got dtype {raw.dtype}")
    try:
        array = np.asarray(raw, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        raise DTypeError(f"{name} must hold numbers") from None
    if len(array) != n:
        raise ShapeMismatchError(f"{name} has {len(array)} values but there are {n} interactions")
    if not np.all(np.isfinite(array)):
        bad = int(np.flatnonzero(~np.isfinite(array))[0])
        raise InvalidArgumentError(f"{name} contains NaN or infinite values (first at row {bad})")
    bad = _out_of_float32_range(array)
    if bad is not None:
        raise InvalidArgumentError(
            f"{name} holds {array[bad]!r} at row {bad}: values must lie within float32's range "
            f"(nonzero magnitudes {_FLOAT32_TINY:.3g} to {FLOAT32_MAX:.3g}), which the models compute in"
        )
    return array


def _as_timestamps(timestamps: Any, n: int) -> Tuple[np.ndarray, np.ndarray]:
    """(stored timestamps int64, order key): datetimes are stored in whole seconds and floats
    truncated, but the order of events within a pair uses the full precision (nanoseconds,
    fractions of a second), so the later of two events in the same second stays the later."""
    if not isinstance(timestamps, np.ndarray) and not hasattr(timestamps, "__len__") and hasattr(timestamps, "__iter__"):
        timestamps = list(timestamps)
    try:
        array = np.asarray(timestamps)
    except (TypeError, ValueError) as exc:
        raise DTypeError(f"timestamps cannot be read as an array: {exc}") from None
    if array.dtype.kind == "M":
        if np.isnat(array).any():
            raise InvalidArgumentError("timestamps contain missing values (NaT)")
        order = array.astype("datetime64[ns]").astype(np.int64)
        array = array.astype("datetime64[s]").astype(np.int64)
    elif array.dtype.kind in "iu":
        if array.dtype == np.uint64 and array.size and int(array.max()) > np.iinfo(np.int64).max:
            raise InvalidArgumentError("timestamps must fit in 64-bit signed integers")
        array = order = array.astype(np.int64)
    elif array.dtype.kind == "f":
        if not np.all(np.isfinite(array)):
            raise InvalidArgumentError("timestamps contain NaN or infinite values")
        if array.size and np.abs(array).max() >= 2.0**63:
            raise InvalidArgumentError("timestamps must fit in 64-bit signed integers")
        if array.dtype.itemsize < 4:
            raise DTypeError(f"timestamps of dtype {array.dtype} are too coarse for times (use int64 or float64)")
        order = array.astype(np.float64)
        array = np.floor(order).astype(np.int64)
    else:
        raise DTypeError(f"timestamps must be numbers or datetime64, got dtype {array.dtype}")
    array, order = array.reshape(-1), order.reshape(-1)
    if len(array) != n:
        raise ShapeMismatchError(f"timestamps has {len(array)} values but there are {n} interactions")
    return array, order


def _rating_column(column: Any, name: str) -> np.ndarray:
    try:
        return column.to_numpy(dtype=np.float64, na_value=np.nan)
    except (TypeError, ValueError):
        raise DTypeError(f"ratings: column {name!r} must hold numbers, got dtype {column.dtype}") from None


@register("Interactions")
class Interactions(PicklesByValue):
    """User-item interactions with the id maps that turn shop ids into indices.

    Build one with :meth:`from_arrays`, :meth:`from_pandas` or :meth:`from_csv`.

    Repeated (user, item) pairs are combined into one entry by ``combine``:

    * ``"last"`` (the default for explicit ratings): the latest rating, by timestamp when
      timestamps are given, else the last one in input order;
    * ``"max"`` (the default for implicit events): the strongest event, so that viewing an item
      after buying it does not lower its weight;
    * ``"sum"``: the sum of the weights, capped at ``cap`` when given (repeat purchases count
      more, but one obsessive user cannot dominate);
    * ``"mean"``: the mean.

    The kept timestamp is the latest of the pair.

    Attributes
    ----------
    user_ids, item_ids : ndarray
        The shop's ids in index order: ``user_ids[u]`` is the id of user index ``u``.
    users, items : ndarray of int32
        The user and item index of every entry (sorted by user, then item; pairs are unique).
    values : ndarray of float64
        The rating or combined event weight of every entry.
    timestamps : ndarray of int64 or None
        The latest timestamp of every entry (seconds for datetime input).
    explicit : bool
        True for ratings, False for implicit events.
    """

    __slots__ = ("_user_map", "_item_map", "users", "items", "values", "timestamps", "explicit", "_csr")

    def __init__(
        self,
        user_map: IdMap,
        item_map: IdMap,
        users: np.ndarray,
        items: np.ndarray,
        values: np.ndarray,
        timestamps: Optional[np.ndarray],
        explicit: bool,
    ) -> None:
        # Internal: callers pass canonical arrays (sorted, unique pairs). Use the from_* builders.
        self._user_map = user_map
        self._item_map = item_map
        self.users = users
        self.items = items
        self.values = values
        self.timestamps = timestamps
        self.explicit = bool(explicit)
        self._csr: Optional[sp.csr_matrix] = None
        for array in (users, items, values) + ((timestamps,) if timestamps is not None else ()):
            array.setflags(write=False)

    # ------------------------------------------------------------------ builders
    @classmethod
    def from_arrays(
        cls,
        users: Any,
        items: Any,
        ratings: Any = None,
        *,
        events: Any = None,
        weights: Optional[Mapping[str, float]] = None,
        timestamps: Any = None,
        combine: Optional[str] = None,
        cap: Optional[float] = None,
    ) -> "Interactions":
        """Interactions from parallel sequences.

        Parameters
        ----------
        users, items : sequence of hashable
            The user and item id of every interaction (ints, strings, any hashable).
        ratings : sequence of float, optional
            Explicit ratings. Without ``ratings`` and ``events`` every interaction weighs 1.
        events : sequence of str, optional
            Implicit event names, weighted by ``weights`` (default
            :data:`DEFAULT_EVENT_WEIGHTS`). Cannot be combined with ``ratings``.
        weights : mapping of str to float, optional
            Event weights; replaces the defaults entirely.
        timestamps : sequence of numbers or datetime64, optional
        combine : {"last", "max", "sum", "mean"}, optional
            How repeated (user, item) pairs merge (see the class docstring).
        cap : float, optional
            Upper bound of a combined weight with ``combine="sum"``.

        Raises
        ------
        InvalidArgumentError
            Empty data, NaN/inf values, unknown event names, missing ids.
        ShapeMismatchError
            Sequences of different lengths.
        """
        from ._ids import _as_id_array

        user_array = _as_id_array(users, "users")
        item_array = _as_id_array(items, "items")
        n = len(user_array)
        if len(item_array) != n:
            raise ShapeMismatchError(f"items has {len(item_array)} values but users has {n}")
        if n == 0:
            raise InvalidArgumentError("users and items are empty: no interactions")
        if ratings is not None and events is not None:
            raise InvalidArgumentError("give either ratings (explicit) or events (implicit), not both")
        explicit = ratings is not None
        if explicit:
            values = _as_values(ratings, n, "ratings")
        elif events is not None:
            values = cls._event_weights(events, n, weights)
        else:
            values = np.ones(n, dtype=np.float64)
        stamps, stamp_order = (None, None) if timestamps is None else _as_timestamps(timestamps, n)
        if combine is None:
            combine = "last" if explicit else "max"
        if combine not in _COMBINE:
            raise InvalidArgumentError(f"combine must be one of {_COMBINE}, got {combine!r}")
        if cap is not None:
            if isinstance(cap, (bool, np.bool_)) or not isinstance(cap, numbers.Real):
                raise DTypeError(f"cap must be a number, got {type(cap).__name__}")
            cap = float(cap)
            if not np.isfinite(cap) or cap <= 0:
                raise InvalidArgumentError(f"cap must be a positive number, got {cap}")
            if combine != "sum":
                raise InvalidArgumentError(f"cap applies to combine='sum' only, got combine={combine!r}")
        user_map, user_index = IdMap.factorize(user_array, "users")
        item_map, item_index = IdMap.factorize(item_array, "items")
        u, i, v, t = _combine_pairs(user_index, item_index, values, stamps, combine, cap, len(item_map), stamp_order)
        _check_combined(v, combine)
        return cls(user_map, item_map, u, i, v, t, explicit)

    @staticmethod
    def _event_weights(events: Any, n: int, weights: Optional[Mapping[str, float]]) -> np.ndarray:
        table = dict(DEFAULT_EVENT_WEIGHTS if weights is None else weights)
        for name, weight in table.items():
            if isinstance(weight, (bool, np.bool_)) or not (
                    isinstance(weight, (int, float, np.integer, np.floating)) and np.isfinite(weight)
                    and _FLOAT32_TINY <= weight <= FLOAT32_MAX):
                raise InvalidArgumentError(
                    f"weights: the weight of event {name!r} must be a positive number within float32's range "
                    f"({_FLOAT32_TINY:.3g} to {FLOAT32_MAX:.3g}), got {weight!r}"
                )
        array = np.asarray(events, dtype=object).reshape(-1)
        if len(array) != n:
            raise ShapeMismatchError(f"events has {len(array)} values but there are {n} interactions")
        names, inverse = np.unique(array.astype(str), return_inverse=True)
        unknown = [name for name in names.tolist() if name not in table]
        if unknown:
            raise InvalidArgumentError(
                f"unknown event names {unknown[:5]}; known events are {sorted(table)} (pass weights=...)"
            )
        return np.array([float(table[name]) for name in names.tolist()], dtype=np.float64)[inverse.reshape(-1)]

    @classmethod
    def from_pandas(
        cls,
        df: Any,
        user: str = "user",
        item: str = "item",
        rating: Optional[str] = None,
        event: Optional[str] = None,
        timestamp: Optional[str] = None,
        weights: Optional[Mapping[str, float]] = None,
        *,
        combine: Optional[str] = None,
        cap: Optional[float] = None,
    ) -> "Interactions":
        """Interactions from a pandas DataFrame, naming its columns.

        ``rating`` names a column of explicit ratings; ``event`` a column of implicit event
        names weighted by ``weights``; neither means every row weighs 1. See
        :meth:`from_arrays` for ``combine`` and ``cap``.

        Raises
        ------
        InvalidArgumentError
            A named column is missing, or any check of :meth:`from_arrays` fails.
        """
        columns = {"user": user, "item": item, "rating": rating, "event": event, "timestamp": timestamp}
        if not hasattr(df, "columns"):
            raise DTypeError(f"df must be a pandas DataFrame, got {type(df).__name__}")
        missing = [f"{role}={col!r}" for role, col in columns.items() if col is not None and col not in df.columns]
        if missing:
            raise InvalidArgumentError(f"df: missing columns {', '.join(missing)}; the frame has {list(df.columns)}")
        duplicated = sorted({str(col) for col in columns.values() if col is not None and list(df.columns).count(col) > 1})
        if duplicated:
            raise InvalidArgumentError(f"df: the column names {duplicated} appear more than once: rename them")
        used = [col for col in columns.values() if col is not None]
        if len(set(used)) != len(used):
            raise InvalidArgumentError(f"df: one column is named for two roles: {columns}")
        for role in ("user", "item"):
            if df[columns[role]].isna().any():
                raise InvalidArgumentError(f"df: column {columns[role]!r} ({role} ids) has missing values")
        stamps = None
        if timestamp is not None:
            col = df[timestamp]
            stamps = col.to_numpy() if col.dtype.kind != "M" else col.to_numpy(dtype="datetime64[ns]")
        return cls.from_arrays(
            df[user].to_numpy(),
            df[item].to_numpy(),
            None if rating is None else _rating_column(df[rating], rating),
            events=None if event is None else df[event].to_numpy(),
            weights=weights,
            timestamps=stamps,
            combine=combine,
            cap=cap,
        )

    @classmethod
    def from_csv(
        cls,
        path: Union[str, "os.PathLike[str]"],
        user: str = "user",
        item: str = "item",
        rating: Optional[str] = None,
        event: Optional[str] = None,
        timestamp: Optional[str] = None,
        weights: Optional[Mapping[str, float]] = None,
        *,
        combine: Optional[str] = None,
        cap: Optional[float] = None,
        **read_csv_kwargs: Any,
    ) -> "Interactions":
        """Interactions from a CSV file (read with pandas, which must be installed).

        Ids are read as they appear in the file (numbers stay numbers). Extra keyword
        arguments go to :func:`pandas.read_csv`.

        Raises
        ------
        FileNotFoundError
            No such file.
        InvalidArgumentError
            The file is empty, binary or not CSV, or a named column is missing.
        """
        try:
            import pandas as pd
        except ImportError:  # pragma: no cover - pandas is a test extra
            raise ImportError("Interactions.from_csv needs pandas: pip install pandas") from None
        if not hasattr(path, "read"):  # a file object is pandas' business
            path = check_path(path)
        try:
            df = pd.read_csv(path, **read_csv_kwargs)
        except FileNotFoundError:
            raise  # documented, as for shoprec.load
        except (OSError, UnicodeError, ValueError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
            # Not a CSV (binary, empty, a directory, a bad path): a clean error, never pandas'.
            raise InvalidArgumentError(f"path {str(path)[:200]!r}: cannot be read as CSV: {str(exc)[:300]}") from None
        except TypeError as exc:
            raise DTypeError(f"path must be a path or a file object, got {type(path).__name__}: {exc}") from None
        return cls.from_pandas(df, user, item, rating, event, timestamp, weights, combine=combine, cap=cap)

    # ------------------------------------------------------------------ views
    @property
    def user_ids(self) -> np.ndarray:
        return self._user_map.ids

    @property
    def item_ids(self) -> np.ndarray:
        return self._item_map.ids

    @property
    def user_map(self) -> IdMap:
        return self._user_map

    @property
    def item_map(self) -> IdMap:
        return self._item_map

    @property
    def n_users(self) -> int:
        return len(self._user_map)

    @property
    def n_items(self) -> int:
        return len(self._item_map)

    def __len__(self) -> int:
        return len(self.values)

    def __repr__(self) -> str:
        kind = "ratings" if self.explicit else "implicit"
        return f"Interactions({len(self)} {kind}, {self.n_users} users, {self.n_items} items)"

    @property
    def rating_scale(self) -> Tuple[float, float]:
        """The smallest and largest value, the range predictions are clipped to."""
        return float(self.values.min()), float(self.values.max())

    def to_csr(self) -> sp.csr_matrix:
        """The ``n_users x n_items`` matrix of values (float64, sorted indices; a cached,
        read-only matrix: copy it before modifying)."""
        csr = self._csr
        if csr is None:
            indptr = np.zeros(self.n_users + 1, dtype=np.int64)
            np.cumsum(np.bincount(self.users, minlength=self.n_users), out=indptr[1:])
            csr = sp.csr_matrix((self.values, self.items, indptr), shape=(self.n_users, self.n_items))
            csr.has_sorted_indices = True
            self._csr = csr
        return csr

    def select(self, rows: Any) -> "Interactions":
        """A subset of the entries (a boolean mask or positions), with the same id maps, so
        that indices of the subset and of the whole agree (this is how splits are made)."""
        if rows is None or isinstance(rows, (str, bytes)) or not hasattr(rows, "__iter__"):
            raise DTypeError(f"rows must be a boolean mask or a sequence of positions, got {type(rows).__name__}")
        if not isinstance(rows, np.ndarray) and not hasattr(rows, "__len__"):
            rows = list(rows)  # a generator
        mask = np.asarray(rows)
        if mask.dtype == bool:
            if mask.shape != (len(self),):
                raise ShapeMismatchError(f"rows: the mask has shape {mask.shape}, expected ({len(self)},)")
            positions = np.flatnonzero(mask)
        else:
            # Positions must be whole numbers in range: 1.7 is not a row (no silent truncation).
            positions = as_index_array(mask, "rows", upper=len(self), dtype=np.int64)
        rows = np.sort(positions.astype(np.int64))
        stamps = None if self.timestamps is None else self.timestamps[rows]
        return Interactions(
            self._user_map, self._item_map, self.users[rows], self.items[rows], self.values[rows], stamps, self.explicit
        )

    def user_index(self, user: Any) -> int:
        """The index of a user id; :class:`UnknownIdError` when unknown."""
        return self._user_map.index(user, "user")

    def item_index(self, item: Any) -> int:
        """The index of an item id; :class:`UnknownIdError` when unknown."""
        return self._item_map.index(item, "item")

    def merge(self, new: "Interactions", *, combine: Optional[str] = None, cap: Optional[float] = None) -> "Interactions":
        """These interactions followed by ``new`` ones: what a refit on all the events sees.

        ``new`` is an :class:`Interactions` built from the new events with the same builder
        arguments as these (same ``combine`` and ``cap``; ratings or events alike; timestamps
        on both or on neither). A pair present in both is combined by ``combine`` (default
        ``"last"`` for ratings, ``"max"`` for implicit events, as the builders):

        * ``"last"``: the new value, unless both have timestamps and the new one is older
          (the value with the latest timestamp wins; on equal timestamps the new one);
        * ``"max"``, ``"sum"`` (capped at ``cap``): of the old and the new value;
        * ``"mean"`` cannot be continued (the number of events behind each mean is not kept):
          :class:`InvalidArgumentError` when a pair repeats (new pairs are fine).

        The result equals ``Interactions.from_arrays`` on the old events followed by the new
        ones (``"sum"`` with ``cap``: for non-negative values), including the order of the ids:
        the union of the ids, sorted when they can be ordered (else the old ids in their order,
        then the new ones). Old ids keep their relative order, which is what lets the models'
        ``update`` keep their ties.
        """
        return _merge(self, new, combine, cap)[0]

    # ------------------------------------------------------------------ persistence
    def _to_state(self) -> Tuple[Dict[str, Any], Dict[str, np.ndarray]]:
        arrays = {
            "user_ids": self.user_ids, "item_ids": self.item_ids,
            "users": self.users, "items": self.items, "values": self.values,
        }
        if self.timestamps is not None:
            arrays["timestamps"] = self.timestamps
        return {"explicit": self.explicit}, arrays

    @classmethod
    def _from_state(cls, params: Dict[str, Any], arrays: Dict[str, np.ndarray]) -> "Interactions":
        n_users, n_items = len(arrays["user_ids"]), len(arrays["item_ids"])
        users, items = arrays["users"], arrays["items"]
        if not (len(users) == len(items) == len(arrays["values"])):
            from .errors import ModelFileError

            raise ModelFileError("interaction arrays of different lengths")
        if len(users) and (users.min() < 0 or users.max() >= n_users or items.min() < 0 or items.max() >= n_items):
            from .errors import ModelFileError

            raise ModelFileError("interaction indices out of range of the id maps")
        values = arrays["values"]
        # NaN, inf and magnitudes beyond float32 were refused for every stored float array by
        # the registry (io.registry._check_stored_floats) before this runs; what is left for
        # interactions is the dtype and the nonzero magnitudes below float32's normals.
        if values.dtype.kind != "f" or (((magnitude := np.abs(values)) != 0) & (magnitude < _FLOAT32_TINY)).any():
            from .errors import ModelFileError

            raise ModelFileError(
                "interaction values are not float32-range floats (a float dtype, no nonzero magnitude below float32's "
                "normals; the file is damaged: this is what the checksums catch when verify=True)"
            )
        return cls(
            IdMap(arrays["user_ids"]), IdMap(arrays["item_ids"]), users, items, arrays["values"],
            arrays.get("timestamps"), bool(params["explicit"]),
        )

    def save(self, path: Union[str, "os.PathLike[str]"]) -> None:
        """Save to one file in shoprec's model format (atomic; see :func:`shoprec.load`)."""
        save(path, self)

    @staticmethod
    def load(path: Union[str, "os.PathLike[str]"]) -> "Interactions":
        """Load interactions saved with :meth:`save` (arrays are mapped, not copied)."""
        return load_as(Interactions, path)


def _check_combined(values: np.ndarray, combine: str) -> None:
    """Inputs are checked one by one; a sum of them can still leave float32's range."""
    if _out_of_float32_range(values) is not None:
        raise InvalidArgumentError(
            f"combine={combine!r} overflows: a combined value of a (user, item) pair exceeds "
            f"float32's range ({FLOAT32_MAX:.3g}), which the models compute in "
            "(values too large to add up; pass cap=... or scale the values)"
        )


def _combine_pairs(
    users: np.ndarray,
    items: np.ndarray,
    values: np.ndarray,
    stamps: Optional[np.ndarray],
    combine: str,
    cap: Optional[float],
    n_items: int,
    stamp_order: Optional[np.ndarray] = None,
) -> Tuple[np.ndarray, np.ndarray, np.ndarray, Optional[np.ndarray]]:
    """Sorts by (user, item) and merges repeated pairs. Within a pair, events are in time
    order by ``stamp_order`` (full precision; ``stamps`` when None), ties in input order."""
    key = users.astype(np.int64) * max(n_items, 1) + items
    if stamps is None:
        order = np.argsort(key, kind="stable")  # input order within a pair: "last" = last given
    else:
        order = np.lexsort((stamps if stamp_order is None else stamp_order, key))  # time order within a pair
    key, values = key[order], values[order]
    stamps = None if stamps is None else stamps[order]
    starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    ends = np.r_[starts[1:], len(key)] - 1
    if len(starts) == len(key):
        merged = values
    elif combine == "last":
        merged = values[ends]
    elif combine == "max":
        merged = np.maximum.reduceat(values, starts)
    elif combine == "sum":
        with np.errstate(over="ignore"):  # an overflow to inf is refused by the caller
            merged = np.add.reduceat(values, starts)
    else:
        # The mean of huge values must not overflow through their sum: add them scaled.
        counts = np.diff(np.r_[starts, len(key)])
        scale = np.maximum.reduceat(np.abs(values), starts)
        scale = np.where(scale > 0, scale, 1.0)
        merged = np.add.reduceat(values / np.repeat(scale, counts), starts) / counts * scale
    if cap is not None and combine == "sum":
        merged = np.minimum(merged, cap)
    merged_stamps = None if stamps is None else np.maximum.reduceat(stamps, starts)
    unique_keys = key[starts]
    n = max(n_items, 1)
    return (
        (unique_keys // n).astype(np.int32),
        (unique_keys % n).astype(np.int32),
        np.ascontiguousarray(merged, dtype=np.float64),
        merged_stamps,
    )


def _union_ids(old: IdMap, new: IdMap, name: str) -> Tuple[IdMap, np.ndarray, np.ndarray]:
    """The ids of both maps as one map ordered as ``IdMap.factorize`` orders the ids of all
    events, and the new index of every id of ``old`` (increasing) and of ``new``."""
    from ._ids import _as_id_array

    a, b = old.ids, new.ids
    family = {"i": "int", "u": "int", "U": "str"}
    if len(a) and len(b) and a.dtype.kind in family and b.dtype.kind in family \
            and family[a.dtype.kind] != family[b.dtype.kind]:
        # "3" next to 3 would be a second user, and which one recommend("3") means would be a
        # guess: the new events must use the ids' type.
        raise DTypeError(f"new events' {name} are {family[b.dtype.kind]} ids but the old {name} are "
                         f"{family[a.dtype.kind]} ids: build the new events with the same id type")
    if a.dtype.kind == b.dtype.kind and a.dtype.kind != "O":
        both = np.concatenate([a, b])
    else:
        mixed = np.empty(len(a) + len(b), dtype=object)
        mixed[: len(a)] = a.tolist()
        mixed[len(a):] = b.tolist()
        both = _as_id_array(mixed, name)
    union, inverse = IdMap.factorize(both, name)
    return union, inverse[: len(a)], inverse[len(a):]


def _merge(
    old: Interactions, new: Interactions, combine: Optional[str], cap: Optional[float]
) -> Tuple[Interactions, np.ndarray, np.ndarray, np.ndarray]:
    """``(merged, old user -> merged, old item -> merged, changed)``: ``changed`` marks the
    merged entries that are new or whose value differs from the old one."""
    if not isinstance(new, Interactions):
        raise DTypeError(f"new events must be a shoprec.Interactions, got {type(new).__name__}")
    if new.explicit != old.explicit:
        kinds = {True: "ratings", False: "implicit events"}
        raise InvalidArgumentError(f"new events are {kinds[new.explicit]} but the old ones are {kinds[old.explicit]}")
    if (new.timestamps is None) != (old.timestamps is None):
        raise InvalidArgumentError(
            "new events need timestamps exactly when the old ones have them "
            f"(old: {'with' if old.timestamps is not None else 'without'}, "
            f"new: {'with' if new.timestamps is not None else 'without'})"
        )
    if combine is None:
        combine = "last" if old.explicit else "max"
    if combine not in _COMBINE:
        raise InvalidArgumentError(f"combine must be one of {_COMBINE}, got {combine!r}")
    if cap is not None:
        if isinstance(cap, (bool, np.bool_)) or not isinstance(cap, numbers.Real):
            raise DTypeError(f"cap must be a positive number, got {cap!r}")
        cap = float(cap)
        if not np.isfinite(cap) or cap <= 0:
            raise InvalidArgumentError(f"cap must be a positive number, got {cap}")
    user_map, old_users, new_users = _union_ids(old.user_map, new.user_map, "users")
    item_map, old_items, new_items = _union_ids(old.item_map, new.item_map, "items")
    n_items = max(len(item_map), 1)
    # Both key arrays are sorted: the old indices are mapped by increasing maps.
    key_old = old_users[old.users].astype(np.int64) * n_items + old_items[old.items]
    key_new = new_users[new.users].astype(np.int64) * n_items + new_items[new.items]
    order = np.argsort(key_new, kind="stable")  # new ids may interleave: re-sort the new pairs
    key_new = key_new[order]
    new_values = new.values[order]
    new_stamps = None if new.timestamps is None else new.timestamps[order]
    at = np.searchsorted(key_old, key_new)
    repeat = at < len(key_old)
    repeat[repeat] = key_old[at[repeat]] == key_new[repeat]
    values = old.values.copy()
    stamps = None if old.timestamps is None else old.timestamps.copy()
    changed = np.zeros(len(values), bool)
    if repeat.any():
        where, incoming = at[repeat], new_values[repeat]
        before = values[where]
        if combine == "mean":
            raise InvalidArgumentError(
                "combine='mean' cannot take repeated (user, item) pairs in an update: the number of "
                "events behind each mean is not kept; refit on all the events instead"
            )
        if combine == "max":
            after = np.maximum(before, incoming)
        elif combine == "sum":
            after = before + incoming
            if cap is not None:
                after = np.minimum(after, cap)
        elif stamps is not None and new_stamps is not None:
            after = np.where(new_stamps[repeat] >= stamps[where], incoming, before)
        else:
            after = incoming
        values[where] = after
        changed[where] = after != before
        if stamps is not None and new_stamps is not None:
            stamps[where] = np.maximum(stamps[where], new_stamps[repeat])
    fresh = ~repeat
    # Where the new pairs land in the merged arrays (both sides sorted): one scatter each.
    n_fresh = int(fresh.sum())
    landing = at[fresh] + np.arange(n_fresh)
    is_new = np.zeros(len(key_old) + n_fresh, bool)
    is_new[landing] = True

    def interleave(old_part: np.ndarray, new_part: Any) -> np.ndarray:
        out = np.empty(len(is_new), dtype=old_part.dtype)
        out[~is_new] = old_part
        out[is_new] = new_part
        return out

    keys = interleave(key_old, key_new[fresh])
    values = interleave(values, new_values[fresh])
    changed = interleave(changed, True)
    if stamps is not None and new_stamps is not None:
        stamps = interleave(stamps, new_stamps[fresh])
    _check_combined(values, combine)
    merged = Interactions(
        user_map, item_map, (keys // n_items).astype(np.int32), (keys % n_items).astype(np.int32),
        np.ascontiguousarray(values, dtype=np.float64), stamps, old.explicit,
    )
    return merged, old_users, old_items, changed
