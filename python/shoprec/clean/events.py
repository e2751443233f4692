"""Cleaning an event log: duplicates, bot-like users, rating scales, balance and augmentation."""

from __future__ import annotations

from typing import Any, Dict, Optional, Sequence, Tuple

import numpy as np

from .._validate import (
    as_float_array,
    check_float,
    check_int,
)
from ..errors import DTypeError, InvalidArgumentError
from ._frames import _pandas, _check_frame, _numeric_column, _timedelta_ns, _timestamps_ns, _group_codes, _removed_rows, _is_interactions, _interactions_frame, _kept_interactions, _revalued_interactions
from .report import CleaningReport


# Iglewicz & Hoaglin: 0.6745 * (x - median) / MAD is a z-score for normal data; when the MAD is
# zero (over half the values equal) the mean absolute deviation times 1.2533 stands in for it.
_MAD_TO_SIGMA = 0.6745
_MEAN_AD_TO_SIGMA = 1.2533


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
    score is 0. ``values`` is a 1-D array of finite real numbers (NaN, inf: InvalidArgumentError).
    """
    x = as_float_array(values, "values", ndim=(1,), allow_empty=True)
    if x.size == 0:
        return x
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
