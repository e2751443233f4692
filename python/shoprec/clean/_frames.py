"""Shared helpers of the cleaning steps: pandas frames, columns, timestamps, Interactions."""

from __future__ import annotations

import numbers
from typing import Any, List, Optional, Sequence

import numpy as np

from .._validate import (
    check_float,
)
from ..errors import DTypeError, InvalidArgumentError


# ----------------------------------------------------------------------------------------------
# Edge checks shared by the steps


def _pandas():
    try:
        import pandas as pd
    except ImportError:  # pragma: no cover - pandas is a test extra
        raise ImportError("shoprec.clean needs pandas for DataFrame input: pip install pandas") from None
    return pd


def _is_frame(obj: Any) -> bool:
    # Only a DataFrame can come from pandas; avoid importing pandas just to say "no".
    return type(obj).__name__ == "DataFrame" and hasattr(obj, "columns")


def _check_frame(df: Any, name: str, columns: Sequence[Optional[str]]) -> None:
    if not _is_frame(df):
        raise DTypeError(f"{name} must be a pandas DataFrame (one row per event), got {type(df).__name__}")
    if len(df) == 0:
        raise InvalidArgumentError(f"{name} is empty")
    missing = [c for c in columns if c is not None and c not in df.columns]
    if missing:
        raise InvalidArgumentError(
            f"{name} has no column {', '.join(repr(c) for c in missing)}; "
            f"its columns are {list(df.columns)}"
        )
    names = list(df.columns)
    repeated = sorted({str(c) for c in columns if c is not None and names.count(c) > 1})
    if repeated:
        raise InvalidArgumentError(f"{name} has the column names {repeated} more than once: rename them")


def _numeric_column(df: Any, column: str, name: str, *, allow_nan: bool = False) -> np.ndarray:
    values = df[column].to_numpy()
    if values.dtype.kind not in "biuf":
        raise DTypeError(f"{name} column {column!r} must hold numbers, got dtype {values.dtype}")
    values = values.astype(np.float64)
    if not allow_nan and not np.all(np.isfinite(values)):
        raise InvalidArgumentError(f"{name} column {column!r} contains NaN or infinite values")
    return values


def _timedelta_ns(window: Any, name: str) -> int:
    """A duration as nanoseconds: a pandas offset string (``"30min"``), a timedelta, or seconds."""
    pd = _pandas()
    if isinstance(window, (bool, np.bool_)):
        raise DTypeError(f"{name} must be a duration, got bool")
    if isinstance(window, numbers.Real):
        seconds = check_float(window, name, minimum=0.0)
        if seconds > 9.2e9:  # int64 nanoseconds end in 2262: longer than any log
            raise InvalidArgumentError(f"{name} must be at most 9.2e9 seconds (292 years), got {seconds}")
        return int(round(seconds * 1e9))
    try:
        delta = pd.Timedelta(window)
    except (TypeError, ValueError) as exc:
        raise InvalidArgumentError(f"{name} must be a duration such as '30min', got {window!r}: {exc}") from None
    if pd.isna(delta) or delta.value < 0:
        raise InvalidArgumentError(f"{name} must be a non-negative duration, got {window!r}")
    return int(delta.value)


def _timestamps_ns(df: Any, column: str, name: str) -> np.ndarray:
    """Event times as int64 nanoseconds. Numbers are read as Unix seconds (as in MovieLens)."""
    pd = _pandas()
    values = df[column]
    if values.dtype.kind in "iuf":
        if not np.all(np.isfinite(values.to_numpy(dtype=np.float64))):
            raise InvalidArgumentError(f"{name} column {column!r} contains NaN or infinite times")
        return np.round(values.to_numpy(dtype=np.float64) * 1e9).astype(np.int64)
    if values.dtype.kind != "M":
        try:
            values = pd.to_datetime(values)
        except (TypeError, ValueError) as exc:
            raise DTypeError(
                f"{name} column {column!r} must hold datetimes or Unix seconds; parse it first "
                f"(pd.to_datetime): {exc}"
            ) from None
    if values.isna().any():
        raise InvalidArgumentError(f"{name} column {column!r} contains missing times")
    # Time zones do not matter for gaps and buckets; drop them to get plain nanoseconds.
    if getattr(values.dt, "tz", None) is not None:
        values = values.dt.tz_convert(None)
    return values.to_numpy(dtype="datetime64[ns]").astype(np.int64)


def _group_codes(df: Any, columns: List[str]) -> np.ndarray:
    """One int64 code per row, equal for rows equal on ``columns`` (missing values count as equal)."""
    return df.groupby(columns, sort=False, dropna=False).ngroup().to_numpy(dtype=np.int64)


def _removed_rows(df: Any, positions: np.ndarray, reasons: Any) -> Any:
    rows = df.iloc[np.sort(positions)].copy()
    order = np.argsort(positions, kind="stable")
    rows["reason"] = np.asarray(reasons, dtype=object)[order] if not isinstance(reasons, str) else reasons
    return rows


def _is_interactions(obj: Any) -> bool:
    from ..interactions import Interactions

    return isinstance(obj, Interactions)


def _interactions_frame(interactions: Any) -> Any:
    """A ``shoprec.Interactions`` as a log: one row per (user, item) entry, in entry order,
    with the shop's ids and columns ``user``, ``item``, ``rating`` (the value) and, when
    present, ``timestamp`` (seconds)."""
    pd = _pandas()
    data = {
        "user": np.asarray(interactions.user_ids)[interactions.users],
        "item": np.asarray(interactions.item_ids)[interactions.items],
        "rating": np.asarray(interactions.values, dtype=np.float64),
    }
    if interactions.timestamps is not None:
        data["timestamp"] = np.asarray(interactions.timestamps)
    return pd.DataFrame(data)


def _kept_interactions(interactions: Any, cleaned: Any) -> Any:
    """The entries of ``interactions`` kept in ``cleaned`` (same id maps, so indices agree)."""
    return interactions.select(cleaned.index.to_numpy())


def _revalued_interactions(interactions: Any, cleaned: Any) -> Any:
    """``interactions`` with the values of ``cleaned`` (same entries, same id maps)."""
    from ..interactions import Interactions

    values = np.ascontiguousarray(cleaned["rating"].to_numpy(dtype=np.float64))
    return Interactions(
        interactions.user_map, interactions.item_map, interactions.users, interactions.items,
        values, interactions.timestamps, interactions.explicit,
    )
