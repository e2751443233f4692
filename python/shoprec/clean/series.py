"""Cleaning item time series with the Rust median-filter kernels: smoothing and outliers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, Optional, Tuple

import numpy as np

from .. import kernels
from .._validate import (
    as_float_array,
    as_groups,
    check_choice,
    check_float,
    check_num_threads,
    check_odd_window,
)
from ..errors import DTypeError, InvalidArgumentError
from ._frames import _pandas, _is_frame, _check_frame, _numeric_column
from .report import CleaningReport


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
