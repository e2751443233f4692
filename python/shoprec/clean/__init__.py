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

from .events import augment, balance, check_rating_scale, clip_ratings, dedupe_events, drop_outlier_users, robust_z_scores
from .report import CleaningReport
from .series import fix_outliers, smooth_series

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
    "robust_z_scores",
]
