"""Restock planning from daily sales: clean the series, estimate each product's daily rate,
and list the products whose stock runs out within a given number of days.

Cleaning runs in the Rust kernels: outliers (bulk orders, data-entry errors) are replaced by
their window's median (:func:`shoprec.clean.fix_outliers`, the Hampel filter), then the series
is median-filtered (:func:`shoprec.clean.smooth_series`). A product's rate is the mean of its
cleaned series over the last ``lookback`` days of the data. Series shorter than a window are
kept as they are.
"""

from __future__ import annotations

from typing import Any, Dict, List, Tuple

import numpy as np

from ..clean import CleaningReport, fix_outliers, smooth_series
from ..errors import InvalidArgumentError
from .catalogue import Catalogue

__all__ = ["sales_rates", "restock_rows"]


def sales_rates(sales: Any, catalogue: Catalogue, *, item: str, date: str, value: str, window: int,
                n_sigmas: float, smooth_window: int, lookback: int,
                num_threads: int = 0) -> Tuple[np.ndarray, List[CleaningReport], Dict[str, Any]]:
    """The daily sales rate of every catalogue product (NaN without sales data), the cleaning
    reports, and a summary."""
    for column in (item, date, value):
        if column not in sales.columns:
            raise InvalidArgumentError(f"sales have no column {column!r}; columns: {list(sales.columns)}")
    frame = sales[[item, date, value]].copy()
    fixed, hampel = fix_outliers(frame, window, n_sigmas, item=item, date=date, value=value,
                                 short_series="keep", num_threads=num_threads)
    smoothed, median = smooth_series(fixed, smooth_window, item=item, date=date, value=value,
                                     short_series="keep", num_threads=num_threads)
    import pandas as pd

    dates = pd.to_datetime(smoothed[date])
    recent = smoothed[dates > dates.max() - pd.Timedelta(days=lookback)]
    means = recent.groupby(item, sort=False)[value].mean()
    rates = np.full(len(catalogue), np.nan)
    positions = catalogue.id_map.indices(means.index.to_numpy(), "sales items")
    known = positions >= 0
    rates[positions[known]] = means.to_numpy(dtype=np.float64)[known]
    summary = {"products_with_sales": int(known.sum()), "unknown_products": int((~known).sum()),
               "last_date": str(dates.max().date()), "lookback_days": lookback}
    return rates, [hampel, median], summary


def restock_rows(catalogue: Catalogue, rates: np.ndarray, days: float) -> List[Dict[str, Any]]:
    """Products with known stock and a positive rate whose stock lasts at most ``days``,
    soonest first."""
    # A rate so small that the stock outlasts float64 (found by fuzz_shop_directory: a
    # subnormal rate) lasts forever, which is what the overflow's inf says.
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        days_left = np.where(rates > 0, catalogue.stock / rates, np.inf)
    due = np.flatnonzero((catalogue.stock >= 0) & (days_left <= days))
    due = due[np.lexsort((due, days_left[due]))]
    return [
        {"id": catalogue.describe(catalogue.ids[i])["id"], "title": str(catalogue.titles[i]),
         "stock": int(catalogue.stock[i]), "daily_sales": round(float(rates[i]), 3),
         "days_left": round(float(days_left[i]), 2)}
        for i in due.tolist()
    ]
