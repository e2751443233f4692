"""Cleaning of interaction logs and item time series before they reach a model.

Every step returns the cleaned data **and** a :class:`CleaningReport` saying what was removed
or changed and why. Nothing is dropped silently and the input is never modified in place: each
step works on a copy.

The log steps (:func:`dedupe_events`, :func:`drop_outlier_users`, :func:`clip_ratings`,
:func:`check_rating_scale`, :func:`balance`, :func:`augment`) take the raw event log as a
pandas DataFrame, one row per event, and name its columns with keyword arguments.
:func:`dedupe_events` must run *before* ``shoprec.Interactions.from_pandas``, which combines
repeated events of a user on an item and so can no longer tell a double click from two visits.
The other log steps also take a ``shoprec.Interactions`` and then return one (with the same id
maps, so indices agree with the input's): each of its (user, item) entries counts as one row,
with its value as the rating and its timestamp (if any) as the time; the report's rows hold the
shop's ids.

The series steps (:func:`smooth_series`, :func:`fix_outliers`) clean many per-item time
series at once (daily sales, prices) with the Rust kernels :func:`shoprec.kernels.median_filter`
and :func:`shoprec.kernels.hampel`, either on a flat array with ``groups`` boundaries or on a
long DataFrame with item, date and value columns.

pandas is needed only for DataFrame input; it is imported when a DataFrame is used.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np

from . import kernels
from ._validate import (
    as_float_array,
    as_groups,
    check_choice,
    check_float,
    check_int,
    check_num_threads,
    check_odd_window,
)
from .errors import DTypeError, InternalError, InvalidArgumentError

__all__ = [
    "CleaningReport",
    "dedupe_events",
    "drop_outlier_users",
    "smooth_series",
    "fix_outliers",
    "clip_ratings",
    "check_rating_scale",
    "balance",
    "augment",
]

# Iglewicz & Hoaglin: 0.6745 * (x - median) / MAD is a z-score for normal data; when the MAD is
# zero (over half the values equal) the mean absolute deviation times 1.2533 stands in for it.
_MAD_TO_SIGMA = 0.6745
_MEAN_AD_TO_SIGMA = 1.2533


@dataclass(frozen=True)
class CleaningReport:
    """What one cleaning step did.

    Attributes
    ----------
    step : str
        The name of the step (``"dedupe_events"``, ...).
    n_in, n_out : int
        Rows (or values) before and after the step. ``n_in - n_out == n_removed`` always.
    removed : dict of str to int
        Rows removed, by reason. Empty when the step never removes rows.
    changed : dict of str to int
        Rows kept but with a changed value, by reason.
    details : pandas.DataFrame or numpy.ndarray or None
        The rows concerned, with the reason (for DataFrame input: removed rows with a
        ``reason`` column, or the positions of changed values for array input).
    params : dict
        The parameters the step ran with, so a report is enough to reproduce it.
    extra : dict
        Step-specific numbers (e.g. users removed, series left too short to filter).
    """

    step: str
    n_in: int
    n_out: int
    removed: Mapping[str, int] = field(default_factory=dict)
    changed: Mapping[str, int] = field(default_factory=dict)
    details: Any = None
    params: Mapping[str, Any] = field(default_factory=dict)
    extra: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # The report is the promise that nothing vanished: make a broken promise a bug, loudly.
        if self.n_in - self.n_out != self.n_removed:
            raise InternalError(
                f"{self.step}: {self.n_in} rows in, {self.n_out} out, but {self.n_removed} reported removed"
            )

    @property
    def n_removed(self) -> int:
        """Rows removed, all reasons together."""
        return int(sum(self.removed.values()))

    @property
    def n_changed(self) -> int:
        """Rows whose value changed, all reasons together."""
        return int(sum(self.changed.values()))

    def __str__(self) -> str:
        lines = [f"{self.step}: {self.n_in} in, {self.n_out} out"]
        for reason, count in self.removed.items():
            lines.append(f"  removed {count}: {reason}")
        for reason, count in self.changed.items():
            lines.append(f"  changed {count}: {reason}")
        for key, value in self.extra.items():
            lines.append(f"  {key}: {value}")
        return "\n".join(lines)


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
    from .interactions import Interactions

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
    from .interactions import Interactions

    values = np.ascontiguousarray(cleaned["rating"].to_numpy(dtype=np.float64))
    return Interactions(
        interactions.user_map, interactions.item_map, interactions.users, interactions.items,
        values, interactions.timestamps, interactions.explicit,
    )


# ----------------------------------------------------------------------------------------------
# Event logs


def dedupe_events(
    interactions: Any,
    window: Any = "30min",
    *,
    user: str = "user",
    item: str = "item",
    event: Optional[str] = None,
    timestamp: Optional[str] = "timestamp",
    keys: Sequence[str] = (),
    count: str = "count",
) -> Tuple[Any, CleaningReport]:
    """Collapse repeated identical events of a user on an item within ``window`` to one row.

    Two events are *identical* when they agree on ``user``, ``item``, ``event`` (when given)
    and every column in ``keys``. Sorted by time, an identical event joins the run of the one
    before it when it follows it by at most ``window`` (a gap rule, as sessions are cut: a
    stream of clicks each less than ``window`` apart is one run however long it lasts). The
    first event of each run is kept, with the number of events it stands for in ``count``.

    Parameters
    ----------
    interactions : pandas.DataFrame
        The raw event log, one row per event. Not modified.
    window : str, timedelta, float or None
        The largest gap inside a run: a pandas duration (``"30min"``, ``"1D"``), a timedelta,
        or seconds. ``0`` collapses only events at the very same time (exact duplicate rows when
        ``keys`` lists the other columns). ``None`` collapses every repeat whatever its time,
        and then ``timestamp`` may be ``None``.
    user, item, event, timestamp : str
        Column names. Numeric timestamps are read as Unix seconds.
    keys : sequence of str
        Further columns that must agree for two events to be identical (e.g. a price).
    count : str
        The output column with the number of events each kept row stands for. If the input
        already has it (a log deduplicated before), the counts of a run are summed.

    Returns
    -------
    cleaned : pandas.DataFrame
        The kept rows, in their original order and with their original index, plus ``count``.
    report : CleaningReport
        ``removed == {"repeat within window": n}``; ``details`` holds the removed rows with the
        index label of the row they were merged into (``merged_into``).
    """
    if _is_interactions(interactions):
        raise DTypeError(
            "dedupe_events needs the raw event log (a DataFrame): shoprec.Interactions has already "
            "combined the repeated events of a user on an item"
        )
    columns = [user, item] + ([event] if event is not None else []) + list(keys)
    _check_frame(interactions, "interactions", columns + ([timestamp] if window is not None else []))
    if window is not None and timestamp is None:
        raise InvalidArgumentError("dedupe_events needs a timestamp column unless window is None")
    df = interactions
    n = len(df)
    codes = _group_codes(df, columns)
    if window is None:
        times = np.zeros(n, dtype=np.int64)
        window_ns = 0
    else:
        window_ns = _timedelta_ns(window, "window")
        times = _timestamps_ns(df, timestamp, "interactions")
    order = np.lexsort((times, codes))  # stable: ties keep their file order
    sorted_codes, sorted_times = codes[order], times[order]
    continues_run = np.zeros(n, dtype=bool)
    continues_run[1:] = (sorted_codes[1:] == sorted_codes[:-1]) & (np.diff(sorted_times) <= window_ns)
    run_of_sorted = np.cumsum(~continues_run) - 1
    first_of_run = order[~continues_run]
    if count in df.columns:
        previous = _numeric_column(df, count, "interactions")
        run_counts = np.bincount(run_of_sorted, weights=previous[order])
    else:
        run_counts = np.bincount(run_of_sorted).astype(np.float64)

    keep_order = np.argsort(first_of_run, kind="stable")
    kept_positions = first_of_run[keep_order]
    cleaned = df.iloc[kept_positions].copy()
    counts = run_counts[keep_order]
    cleaned[count] = counts.astype(np.int64) if np.all(counts == np.round(counts)) else counts

    removed_positions = order[continues_run]
    details = _removed_rows(df, removed_positions, "repeat within window")
    merged_into = first_of_run[run_of_sorted[continues_run]]
    details["merged_into"] = df.index.to_numpy()[merged_into[np.argsort(removed_positions, kind="stable")]]
    report = CleaningReport(
        step="dedupe_events",
        n_in=n,
        n_out=len(cleaned),
        removed={"repeat within window": int(continues_run.sum())},
        details=details,
        params=dict(window=window, user=user, item=item, event=event, timestamp=timestamp, keys=list(keys)),
    )
    return cleaned, report


def robust_z_scores(values: Any) -> np.ndarray:
    """Robust z-scores ``0.6745 * (x - median) / MAD`` (Iglewicz & Hoaglin).

    When the MAD is zero (more than half the values equal) the mean absolute deviation times
    1.2533 replaces ``MAD / 0.6745``; when that is zero too, every value is equal and every
    score is 0.
    """
    x = np.asarray(values, dtype=np.float64)
    median = np.median(x)
    deviation = np.abs(x - median)
    mad = np.median(deviation)
    if mad > 0:
        return _MAD_TO_SIGMA * (x - median) / mad
    mean_ad = deviation.mean()
    if mean_ad > 0:
        return (x - median) / (_MEAN_AD_TO_SIGMA * mean_ad)
    return np.zeros_like(x)


def drop_outlier_users(
    interactions: Any,
    *,
    user: str = "user",
    timestamp: Optional[str] = None,
    threshold: float = 3.5,
    rate_window: Any = "1h",
    min_ratio: float = 3.0,
) -> Tuple[Any, CleaningReport]:
    """Remove the events of users whose activity is abnormally high: crawlers, bots, scripts.

    Two measures per user, each scored with a robust z-score (median and MAD over users, see
    :func:`robust_z_scores`) on a log scale, since activity is heavy-tailed:

    - *volume*: the user's number of events;
    - *rate* (only with ``timestamp``): the user's largest number of events inside one
      ``rate_window`` bucket (buckets aligned on the epoch), which catches bursts.

    A user is removed when, for either measure, the score exceeds ``threshold`` **and** the
    value is at least ``min_ratio`` times the median user's. (Counts are small integers: when
    most shoppers have one event an hour the MAD is 0, and without the ratio a shopper with two
    would look as odd as a script with fifty.) Only high activity is flagged: quiet users are
    ordinary shoppers.

    Parameters
    ----------
    interactions : pandas.DataFrame or shoprec.Interactions
        The event log (or interactions: see the module docstring). Not modified.
    user, timestamp : str
        Column names; without ``timestamp`` only volume is scored.
    threshold : float
        The robust z-score above which a user is removed; 3.5 is Iglewicz & Hoaglin's advice.
    rate_window : str, timedelta or float
        The bucket for the rate (seconds when a number).
    min_ratio : float
        How many times the median user's value a flagged value must be at least, >= 1.

    Returns
    -------
    cleaned : pandas.DataFrame or shoprec.Interactions
        The events of the other users, in their original order (as the input's type).
    report : CleaningReport
        ``removed`` counts rows by reason (``"volume"``, ``"rate"``, ``"volume and rate"``);
        ``details`` has one row per removed user (events, peak rate, both scores, reason);
        ``extra["users_removed"]`` and ``extra["users_in"]`` count users.
    """
    if _is_interactions(interactions):
        frame = _interactions_frame(interactions)
        cleaned, report = drop_outlier_users(
            frame, user="user", timestamp="timestamp" if "timestamp" in frame else None,
            threshold=threshold, rate_window=rate_window, min_ratio=min_ratio,
        )
        return _kept_interactions(interactions, cleaned), report
    pd = _pandas()
    _check_frame(interactions, "interactions", [user, timestamp])
    threshold = check_float(threshold, "threshold", minimum=0.0, strict=True)
    min_ratio = check_float(min_ratio, "min_ratio", minimum=1.0)
    df = interactions
    codes = _group_codes(df, [user])
    n_users = int(codes.max()) + 1
    volume = np.bincount(codes, minlength=n_users)
    z_volume = robust_z_scores(np.log1p(volume))
    flagged_volume = (z_volume > threshold) & (volume >= min_ratio * np.median(volume))
    if timestamp is not None:
        bucket = _timestamps_ns(df, timestamp, "interactions") // max(_timedelta_ns(rate_window, "rate_window"), 1)
        pair = pd.DataFrame({"u": codes, "b": bucket}).groupby(["u", "b"], sort=False).size()
        peak = np.zeros(n_users, dtype=np.int64)
        np.maximum.at(peak, pair.index.get_level_values("u").to_numpy(), pair.to_numpy())
        z_rate = robust_z_scores(np.log1p(peak))
        flagged_rate = (z_rate > threshold) & (peak >= min_ratio * np.median(peak))
    else:
        peak = np.full(n_users, -1, dtype=np.int64)
        z_rate = np.full(n_users, np.nan)
        flagged_rate = np.zeros(n_users, dtype=bool)

    user_reason = np.full(n_users, "", dtype=object)
    user_reason[flagged_volume & ~flagged_rate] = "volume"
    user_reason[flagged_rate & ~flagged_volume] = "rate"
    user_reason[flagged_volume & flagged_rate] = "volume and rate"
    flagged = flagged_volume | flagged_rate
    row_flagged = flagged[codes]
    removed: Dict[str, int] = {}
    for reason in ("volume", "rate", "volume and rate"):
        rows = int(np.sum(volume[user_reason == reason]))
        if rows:
            removed[reason] = rows

    first_row = np.full(n_users, -1, dtype=np.int64)
    positions = np.arange(len(df))
    first_row[codes[::-1]] = positions[::-1]  # the last write wins: the first row of each user
    bad = np.flatnonzero(flagged)
    details = pd.DataFrame(
        {
            user: df[user].to_numpy()[first_row[bad]],
            "n_events": volume[bad],
            "peak_rate": peak[bad],
            "z_volume": z_volume[bad],
            "z_rate": z_rate[bad],
            "reason": user_reason[bad],
        }
    )
    cleaned = df.iloc[np.flatnonzero(~row_flagged)].copy()
    report = CleaningReport(
        step="drop_outlier_users",
        n_in=len(df),
        n_out=len(cleaned),
        removed=removed,
        details=details,
        params=dict(user=user, timestamp=timestamp, threshold=threshold, rate_window=rate_window, min_ratio=min_ratio),
        extra=dict(users_in=n_users, users_removed=int(flagged.sum())),
    )
    return cleaned, report


def _rating_values(interactions: Any, rating: str) -> np.ndarray:
    _check_frame(interactions, "interactions", [rating])
    return _numeric_column(interactions, rating, "interactions")


def clip_ratings(
    interactions: Any, low: float, high: float, *, rating: str = "rating"
) -> Tuple[Any, CleaningReport]:
    """Clip ratings (or weights) into ``[low, high]``.

    Parameters
    ----------
    interactions : pandas.DataFrame or shoprec.Interactions
        Not modified. The rating column must be numeric without NaN.
    low, high : float
        The declared scale, ``low < high``.
    rating : str
        The column to clip.

    Returns
    -------
    cleaned : pandas.DataFrame or shoprec.Interactions
        The same rows with clipped ratings (as float64), as the input's type.
    report : CleaningReport
        ``changed == {"below low": a, "above high": b}``; ``details`` has the changed rows
        with their original rating.
    """
    if _is_interactions(interactions):
        cleaned, report = clip_ratings(_interactions_frame(interactions), low, high, rating="rating")
        return _revalued_interactions(interactions, cleaned), report
    low = check_float(low, "low")
    high = check_float(high, "high")
    if not low < high:
        raise InvalidArgumentError(f"low must be below high, got low={low}, high={high}")
    values = _rating_values(interactions, rating)
    below, above = values < low, values > high
    cleaned = interactions.copy()
    cleaned[rating] = np.clip(values, low, high)
    changed_positions = np.flatnonzero(below | above)
    details = interactions.iloc[changed_positions].copy()
    details["reason"] = np.where(below[changed_positions], "below low", "above high")
    report = CleaningReport(
        step="clip_ratings",
        n_in=len(interactions),
        n_out=len(cleaned),
        changed={"below low": int(below.sum()), "above high": int(above.sum())},
        details=details,
        params=dict(low=low, high=high, rating=rating),
    )
    return cleaned, report


def check_rating_scale(
    interactions: Any,
    low: float,
    high: float,
    *,
    step: Optional[float] = None,
    rating: str = "rating",
) -> CleaningReport:
    """Find ratings off the declared scale, without changing anything.

    A rating is off the scale when it is missing (NaN), below ``low``, above ``high``, or (with
    ``step``) not on the grid ``low, low + step, ...`` (to within 1e-9 of a step).

    Returns
    -------
    CleaningReport
        ``n_in == n_out`` and nothing removed or changed; ``extra`` counts each kind of
        problem (``"missing"``, ``"below scale"``, ``"above scale"``, ``"off step"``; a rating
        has exactly one kind) and ``extra["ok"]`` the rest, so they add up to ``n_in``;
        ``details`` lists the offending rows with a ``reason`` column.
    """
    low = check_float(low, "low")
    high = check_float(high, "high")
    if not low < high:
        raise InvalidArgumentError(f"low must be below high, got low={low}, high={high}")
    if step is not None:
        step = check_float(step, "step", minimum=0.0, strict=True)
    if _is_interactions(interactions):
        interactions, rating = _interactions_frame(interactions), "rating"
    _check_frame(interactions, "interactions", [rating])
    values = _numeric_column(interactions, rating, "interactions", allow_nan=True)
    reason = np.full(len(values), "", dtype=object)
    missing = ~np.isfinite(values)
    below = ~missing & (values < low)
    above = ~missing & (values > high)
    reason[missing], reason[below], reason[above] = "missing", "below scale", "above scale"
    if step is not None:
        with np.errstate(invalid="ignore"):
            steps = (values - low) / step
        off = (reason == "") & (np.abs(steps - np.round(steps)) > 1e-9)
        reason[off] = "off step"
    bad = np.flatnonzero(reason != "")
    details = interactions.iloc[bad].copy()
    details["reason"] = reason[bad]
    counts = {kind: int(np.sum(reason == kind)) for kind in ("missing", "below scale", "above scale", "off step")}
    counts["ok"] = int(np.sum(reason == ""))
    return CleaningReport(
        step="check_rating_scale",
        n_in=len(values),
        n_out=len(values),
        details=details,
        params=dict(low=low, high=high, step=step, rating=rating),
        extra=counts,
    )


def _cap_per_group(codes: np.ndarray, cap: int, rng: np.random.Generator) -> np.ndarray:
    """A mask keeping at most ``cap`` rows per code, chosen uniformly at random."""
    order = np.lexsort((rng.random(len(codes)), codes))
    sorted_codes = codes[order]
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_codes)) + 1]
    lengths = np.diff(np.r_[starts, len(codes)])
    rank = np.arange(len(codes)) - np.repeat(starts, lengths)
    keep = np.zeros(len(codes), dtype=bool)
    keep[order[rank < cap]] = True
    return keep


def balance(
    interactions: Any,
    *,
    max_per_user: Optional[int] = None,
    max_per_item: Optional[int] = None,
    user: str = "user",
    item: str = "item",
    seed: int = 0,
) -> Tuple[Any, CleaningReport]:
    """Downsample heavy users and blockbuster items, at random but reproducibly for a seed.

    Users with more than ``max_per_user`` rows keep that many, chosen uniformly; then, on what
    remains, items with more than ``max_per_item`` rows keep that many. (Users are capped first
    so a blockbuster is not cut mostly from light users.) After the item cap a user may hold
    fewer rows than the cap, never more.

    Parameters
    ----------
    interactions : pandas.DataFrame or shoprec.Interactions
        The log (or interactions: see the module docstring). Not modified.
    max_per_user, max_per_item : int, optional
        The caps, each at least 1; at least one must be given.
    user, item : str
        Column names (DataFrame input).
    seed : int
        The same seed keeps the same rows.

    Returns
    -------
    cleaned : pandas.DataFrame or shoprec.Interactions
        The kept rows in their original order (as the input's type).
    report : CleaningReport
        ``removed == {"user over max_per_user": a, "item over max_per_item": b}``; ``details``
        has the removed rows with their reason.
    """
    if max_per_user is None and max_per_item is None:
        raise InvalidArgumentError("balance needs max_per_user, max_per_item, or both")
    if max_per_user is not None:
        max_per_user = check_int(max_per_user, "max_per_user", minimum=1)
    if max_per_item is not None:
        max_per_item = check_int(max_per_item, "max_per_item", minimum=1)
    seed = check_int(seed, "seed", minimum=0)
    if _is_interactions(interactions):
        cleaned, report = balance(
            _interactions_frame(interactions), max_per_user=max_per_user, max_per_item=max_per_item, seed=seed
        )
        return _kept_interactions(interactions, cleaned), report
    _check_frame(interactions, "interactions", [user if max_per_user else None, item if max_per_item else None])
    df = interactions
    rng = np.random.default_rng(seed)
    n = len(df)
    reason = np.full(n, "", dtype=object)
    alive = np.arange(n)
    if max_per_user is not None:
        keep = _cap_per_group(_group_codes(df, [user]), max_per_user, rng)
        reason[~keep] = "user over max_per_user"
        alive = np.flatnonzero(keep)
    if max_per_item is not None:
        codes = _group_codes(df.iloc[alive], [item])
        keep = _cap_per_group(codes, max_per_item, rng)
        reason[alive[~keep]] = "item over max_per_item"
        alive = alive[keep]
    gone = np.flatnonzero(reason != "")
    cleaned = df.iloc[alive].copy()
    removed = {
        "user over max_per_user": int(np.sum(reason == "user over max_per_user")),
        "item over max_per_item": int(np.sum(reason == "item over max_per_item")),
    }
    report = CleaningReport(
        step="balance",
        n_in=n,
        n_out=len(cleaned),
        removed=removed,
        details=_removed_rows(df, gone, reason[gone]),
        params=dict(max_per_user=max_per_user, max_per_item=max_per_item, user=user, item=item, seed=seed),
    )
    return cleaned, report


def augment(
    interactions: Any,
    noise: float = 0.1,
    *,
    rating: str = "rating",
    low: Optional[float] = None,
    high: Optional[float] = None,
    seed: int = 0,
) -> Tuple[Any, CleaningReport]:
    """Jitter ratings or weights with bounded uniform noise, **for robustness experiments only**.

    Each value gets ``u * noise`` added, ``u`` uniform in ``[-1, 1]``, then is clipped to
    ``[low, high]`` when given. Use it to test how a model's results move when its input moves;
    never to train the model a shop serves from (it adds noise, not information).

    Parameters
    ----------
    interactions : pandas.DataFrame or shoprec.Interactions
        Not modified.
    noise : float
        The largest change of a value (before clipping), at least 0.
    rating : str
        The column to jitter; numeric, without NaN.
    low, high : float, optional
        Bounds to clip the jittered values to (e.g. the rating scale).
    seed : int
        The same seed gives the same noise.

    Returns
    -------
    cleaned : pandas.DataFrame or shoprec.Interactions
        The same rows with jittered values (float64), as the input's type.
    report : CleaningReport
        ``changed == {"jittered": n}`` (values that actually moved) and
        ``extra["max_abs_change"]``.
    """
    noise = check_float(noise, "noise", minimum=0.0)
    seed = check_int(seed, "seed", minimum=0)
    if _is_interactions(interactions):
        cleaned, report = augment(_interactions_frame(interactions), noise, low=low, high=high, seed=seed)
        return _revalued_interactions(interactions, cleaned), report
    values = _rating_values(interactions, rating)
    rng = np.random.default_rng(seed)
    jittered = values + noise * rng.uniform(-1.0, 1.0, size=len(values))
    if low is not None or high is not None:
        lo = -np.inf if low is None else check_float(low, "low")
        hi = np.inf if high is None else check_float(high, "high")
        if not lo < hi:
            raise InvalidArgumentError(f"low must be below high, got low={low}, high={high}")
        jittered = np.clip(jittered, lo, hi)
    cleaned = interactions.copy()
    cleaned[rating] = jittered
    moved = jittered != values
    report = CleaningReport(
        step="augment",
        n_in=len(values),
        n_out=len(values),
        changed={"jittered": int(moved.sum())},
        params=dict(noise=noise, rating=rating, low=low, high=high, seed=seed),
        extra=dict(max_abs_change=float(np.max(np.abs(jittered - values))) if len(values) else 0.0),
    )
    return cleaned, report


# ----------------------------------------------------------------------------------------------
# Time series


@dataclass
class _SeriesLayout:
    """Values in series order, the boundaries, and the way back to the caller's order."""

    values: np.ndarray
    indptr: np.ndarray
    to_input: Optional[np.ndarray]  # position in the input of each sorted value (None: identity)
    series_names: Optional[np.ndarray]


def _layout_from_order(items: Any, values: np.ndarray, codes: np.ndarray, order: np.ndarray) -> _SeriesLayout:
    sorted_codes = codes[order]
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_codes)) + 1]
    indptr = np.r_[starts, len(order)].astype(np.int64)
    names = items.to_numpy()[order[starts]]
    return _SeriesLayout(values[order], indptr, order, names)


def _series_layout(
    series: Any, groups: Any, *, item: str, date: str, value: str
) -> Tuple[_SeriesLayout, bool]:
    if _is_frame(series):
        if groups is not None:
            raise InvalidArgumentError("groups is for array input; a DataFrame is split by its item column")
        _check_frame(series, "series", [item, date, value])
        df = series
        values = _numeric_column(df, value, "series", allow_nan=True)
        if np.isinf(values).any():
            raise InvalidArgumentError(f"series column {value!r} contains infinite values")
        pd = _pandas()
        codes, _ = pd.factorize(df[item], use_na_sentinel=False)  # items by first appearance
        dates = df[date]
        if dates.isna().any():
            raise InvalidArgumentError(f"series column {date!r} contains missing dates")
        if dates.dtype.kind in "iufM":
            raw = dates.to_numpy(dtype="datetime64[ns]").view(np.int64) if dates.dtype.kind == "M" else dates.to_numpy()
            same_item = codes[1:] == codes[:-1]
            if np.all(codes[1:] >= codes[:-1]) and np.all(raw[1:][same_item] > raw[:-1][same_item]):
                # Already in (item, date) order, as most tables are: nothing to sort.
                return _layout_from_order(df[item], values, codes, np.arange(len(codes))), True
        try:
            # Dense date ranks through the sorted distinct dates: a hash pass, not a sort of n.
            date_codes, distinct_dates = pd.factorize(dates, sort=True)
        except TypeError as exc:
            raise DTypeError(f"series column {date!r} cannot be ordered: {exc}") from None
        key = codes.astype(np.int64) * len(distinct_dates) + date_codes
        n_keys = (int(codes.max()) + 1) * len(distinct_dates)
        if n_keys <= 4 * len(key) + 1024:
            # Few possible (item, date) keys: place each row in its key's slot, O(n + keys).
            counts = np.bincount(key, minlength=n_keys)
            n_repeats = int(np.sum(counts[counts > 1] - 1))
            if n_repeats == 0:
                slots = np.full(n_keys, -1, dtype=np.int64)
                slots[key] = np.arange(len(key))
                order = slots[slots >= 0]
        else:
            order = np.argsort(key, kind="stable")
            n_repeats = int(np.sum(np.diff(key[order]) == 0))
        if n_repeats:
            raise InvalidArgumentError(
                f"series repeats an ({item}, {date}) pair {n_repeats} times; "
                "aggregate to one value per item and date first"
            )
        return _layout_from_order(df[item], values, codes, order), True
    values = as_float_array(series, "series", allow_nan=True)
    indptr = as_groups(groups, len(values))
    if indptr is None:
        indptr = np.array([0, len(values)], dtype=np.int64)
    return _SeriesLayout(values, indptr, None, None), False


def _run_on_long_series(
    layout: _SeriesLayout,
    window: int,
    short_series: str,
    kernel: Any,
) -> Tuple[Any, np.ndarray]:
    """Apply ``kernel(values, indptr)`` to every series at least ``window`` long.

    Returns the kernel's output, scattered back over all series (short series get ``None``
    marks in the mask), and the mask of values that belong to a filtered series.
    """
    lengths = np.diff(layout.indptr)
    too_short = (lengths < window) & (lengths > 0)
    if too_short.any() and short_series == "raise":
        shortest = int(np.argmin(np.where(too_short, lengths, np.iinfo(np.int64).max)))
        name = f" ({layout.series_names[shortest]!r})" if layout.series_names is not None else ""
        raise InvalidArgumentError(
            f"window {window} is longer than {int(too_short.sum())} series (the shortest, number "
            f"{shortest}{name}, has {int(lengths[shortest])} values); pass short_series='keep' to "
            "leave such series unchanged"
        )
    filtered = np.repeat(~too_short, lengths)
    if not filtered.any():
        return None, filtered
    if filtered.all():
        return kernel(layout.values, layout.indptr), filtered
    kept_lengths = lengths[~too_short]
    sub_indptr = np.r_[0, np.cumsum(kept_lengths)].astype(np.int64)
    return kernel(layout.values[filtered], sub_indptr), filtered


def smooth_series(
    series: Any,
    window: int,
    *,
    groups: Any = None,
    mode: str = "nearest",
    item: str = "item",
    date: str = "date",
    value: str = "value",
    short_series: str = "raise",
    num_threads: int = 0,
) -> Tuple[Any, CleaningReport]:
    """Smooth many time series at once with a centred sliding median of odd ``window``.

    Parameters
    ----------
    series : 1-D array_like or pandas.DataFrame
        Either the values of all series back to back (with ``groups``), or a long DataFrame with
        ``item``, ``date`` and ``value`` columns, one row per item and date, in any order. Each
        item's rows are taken in date order; missing dates are not filled in (the window runs
        over the rows that exist). Values must be numeric and finite, except NaN for a
        missing value: NaN is ignored within a window (the median of the others is taken), so
        :func:`smooth_series` fills it (counted as changed) and :func:`fix_outliers` leaves it
        NaN and never flags it.
    window : int
        The odd window length. Every series must be at least this long unless ``short_series``
        is ``"keep"``. The window is centred; at the series ends it is padded as ``mode`` says.
    groups : 1-D int array, optional
        For array input: series boundaries as an indptr (``groups[0] == 0``,
        ``groups[-1] == len(series)``); without it the array is one series.
    mode : str
        How the window is padded at the series ends; see :func:`shoprec.kernels.median_filter`.
    short_series : {"raise", "keep"}
        A series shorter than ``window`` raises :class:`shoprec.InvalidArgumentError` (the
        default), or with ``"keep"`` is left unchanged and counted in
        ``report.extra["series_too_short"]``.
    num_threads : int
        Threads for the kernel; 0 means every core.

    Returns
    -------
    cleaned : numpy.ndarray or pandas.DataFrame
        The smoothed values (float64), in the input's order; a DataFrame comes back as a copy
        with its ``value`` column replaced and the same rows and index.
    report : CleaningReport
        ``changed == {"replaced by window median": n}`` (values that differ from their input);
        ``details`` the positions (array input) or index labels (DataFrame input) of the
        changed values.
    """
    window = check_odd_window(window)
    # The kernel owns the list of padding modes and names a bad one itself.
    if not isinstance(mode, str):
        raise DTypeError(f"mode must be a string, got {type(mode).__name__}")
    short_series = check_choice(short_series, "short_series", ("raise", "keep"))
    num_threads = check_num_threads(num_threads)
    layout, is_frame = _series_layout(series, groups, item=item, date=date, value=value)

    def kernel(values: np.ndarray, indptr: np.ndarray) -> np.ndarray:
        return kernels.median_filter(values, window, mode=mode, groups=indptr, num_threads=num_threads)

    smoothed_part, filtered = _run_on_long_series(layout, window, short_series, kernel)
    smoothed = layout.values.copy()
    if smoothed_part is not None:
        smoothed[filtered] = smoothed_part
    changed = (smoothed != layout.values) & ~(np.isnan(smoothed) & np.isnan(layout.values))
    return _series_result(
        "smooth_series", series, is_frame, layout, smoothed, changed, None, value,
        "replaced by window median", filtered,
        dict(window=window, mode=mode, short_series=short_series),
    )


def fix_outliers(
    series: Any,
    window: int,
    n_sigmas: float = 3.0,
    *,
    groups: Any = None,
    item: str = "item",
    date: str = "date",
    value: str = "value",
    short_series: str = "raise",
    outlier_column: str = "is_outlier",
    num_threads: int = 0,
) -> Tuple[Any, CleaningReport]:
    """Find and replace outliers in many time series at once (the Hampel filter).

    A value is an outlier when it lies more than ``n_sigmas`` robust standard deviations
    (``1.4826 * MAD`` of its centred window) from its window's median; it is replaced by that
    median. Other values are left exactly as they were. Windows are cut short at the series
    ends (no padding), and a window whose MAD is 0 flags every value other than its median.
    See :func:`shoprec.kernels.hampel`.

    Parameters
    ----------
    series, window, groups, item, date, value, short_series, num_threads
        As for :func:`smooth_series`.
    n_sigmas : float
        The threshold in robust standard deviations, above 0.
    outlier_column : str
        For DataFrame input: the name of the added boolean column.

    Returns
    -------
    cleaned : numpy.ndarray or pandas.DataFrame
        Array input: the cleaned values (float64). DataFrame input: a copy with ``value``
        cleaned and an added ``outlier_column`` marking the replaced values.
    report : CleaningReport
        ``changed == {"outlier replaced by window median": n}``; ``details`` the positions
        (array input) or index labels (DataFrame input) of the outliers, and for array input
        the boolean outlier mask in ``extra["is_outlier"]``.
    """
    window = check_odd_window(window)
    n_sigmas = check_float(n_sigmas, "n_sigmas", minimum=0.0, strict=True)
    short_series = check_choice(short_series, "short_series", ("raise", "keep"))
    num_threads = check_num_threads(num_threads)
    layout, is_frame = _series_layout(series, groups, item=item, date=date, value=value)

    def kernel(values: np.ndarray, indptr: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        return kernels.hampel(values, window, n_sigmas=n_sigmas, groups=indptr, num_threads=num_threads)

    parts, filtered = _run_on_long_series(layout, window, short_series, kernel)
    cleaned = layout.values.copy()
    is_outlier = np.zeros(len(cleaned), dtype=bool)
    if parts is not None:
        cleaned[filtered] = parts[0]
        is_outlier[filtered] = np.asarray(parts[1], dtype=bool)
    return _series_result(
        "fix_outliers", series, is_frame, layout, cleaned, is_outlier, outlier_column, value,
        "outlier replaced by window median", filtered,
        dict(window=window, n_sigmas=n_sigmas, short_series=short_series),
    )


def _series_result(
    step: str,
    series: Any,
    is_frame: bool,
    layout: _SeriesLayout,
    new_values: np.ndarray,
    changed: np.ndarray,
    flag_column: Optional[str],
    value: str,
    reason: str,
    filtered: np.ndarray,
    params: Dict[str, Any],
) -> Tuple[Any, CleaningReport]:
    lengths = np.diff(layout.indptr)
    extra: Dict[str, Any] = dict(
        series=int(np.sum(lengths > 0)),
        series_too_short=int(np.sum((lengths < params["window"]) & (lengths > 0))),
    )
    if is_frame:
        # Back from (item, date) order to the caller's row order.
        out_values = np.empty_like(new_values)
        out_values[layout.to_input] = new_values
        out_changed = np.zeros(len(changed), dtype=bool)
        out_changed[layout.to_input] = changed
        cleaned = series.copy()
        cleaned[value] = out_values
        if flag_column is not None:
            cleaned[flag_column] = out_changed
        details = series.index[out_changed]
    else:
        cleaned = new_values
        details = np.flatnonzero(changed)
        if flag_column is not None:
            extra["is_outlier"] = changed
    report = CleaningReport(
        step=step,
        n_in=len(new_values),
        n_out=len(new_values),
        changed={reason: int(changed.sum())},
        details=details,
        params=params,
        extra=extra,
    )
    return cleaned, report
