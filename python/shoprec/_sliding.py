"""Sliding medians and the Hampel filter (public as :func:`shoprec.kernels.median_filter`
and :func:`shoprec.kernels.hampel`)."""

from __future__ import annotations

from typing import Any, Tuple

import numpy as np

from . import _core
from ._validate import as_float_array, as_groups, check_choice, check_float, check_num_threads, check_odd_window

__all__ = ["median_filter", "hampel"]

MODES = ("nearest", "reflect", "mirror", "wrap", "constant")
_FLOATS = (np.float64, np.float32)  # the first is the default for other dtypes


def _series(x: Any) -> np.ndarray:
    return as_float_array(x, "x", ndim=(1,), dtypes=_FLOATS, allow_nan=True, allow_inf=True, allow_empty=True)


def median_filter(
    x: Any,
    window: int,
    *,
    mode: str = "nearest",
    cval: float = 0.0,
    groups: Any = None,
    num_threads: int = 0,
) -> np.ndarray:
    """Centred sliding median of one series, or of many series at once.

    ``out[i]`` is the median of ``x[i - window // 2 : i + window // 2 + 1]``, the series
    being extended beyond its ends as ``mode`` says (scipy.ndimage's modes, and the same
    results as ``scipy.ndimage.median_filter(x, window, mode=mode, cval=cval)``). A window
    longer than its series is defined by the same padding, repeated as often as needed
    (``numpy.pad``'s extension). scipy agrees whenever the window is no longer than the
    series; for longer windows on tiny series scipy 1.17's 1-D path pads differently in some
    modes, and reads uninitialised memory for one-value series with ``mirror``.

    NaN values are ignored within a window: the median of the others is taken (the mean of
    the two middle values when their count is even, as ``numpy.nanmedian``); a window of NaN
    only gives NaN. ``inf`` values are ordinary (very large) values.

    Runs in O(n log window) (J. Suomela's sorted-blocks method; series holding NaN use a
    sorted window buffer instead); windows up to 127 on x86-64 with AVX-512 (up to 63 with
    AVX2) keep the sorted window in vector registers, a few instructions per value. In
    parallel over series and over chunks of a long series.

    Parameters
    ----------
    x : array_like, 1-D, float32 or float64
        The values (other real dtypes become float64). Strided arrays are copied. May be empty.
    window : int
        Window length: a positive odd integer.
    mode : {"nearest", "reflect", "mirror", "wrap", "constant"}
        How each series is extended: ``nearest`` repeats the edge value (``a a | a b c``),
        ``reflect`` reflects about the edge (``b a | a b c``), ``mirror`` about the edge
        value (``c b | a b c``), ``wrap`` wraps around (``b c | a b c``), ``constant`` pads
        with ``cval``.
    cval : float
        The padding value of ``mode="constant"``; finite.
    groups : None or array_like of int, 1-D
        Series boundaries as an indptr: ``x[groups[i]:groups[i + 1]]`` is series ``i``, each
        filtered on its own (its own padding). Starts at 0, non-decreasing, ends at ``len(x)``.
    num_threads : int
        Threads to use; 0 means every core.

    Returns
    -------
    ndarray, the shape and dtype of ``x``

    Examples
    --------
    >>> from shoprec.kernels import median_filter
    >>> median_filter([1.0, 9.0, 2.0, 3.0, 4.0], 3).tolist()
    [1.0, 2.0, 3.0, 3.0, 4.0]
    """
    num_threads = check_num_threads(num_threads)
    window = check_odd_window(window)
    mode = check_choice(mode, "mode", MODES)
    cval = check_float(cval, "cval")
    values = _series(x)
    bounds = as_groups(groups, len(values))
    return _core.median_filter(values, window, mode, cval, bounds, num_threads)


def hampel(
    x: Any,
    window: int,
    *,
    n_sigmas: float = 3.0,
    groups: Any = None,
    num_threads: int = 0,
) -> Tuple[np.ndarray, np.ndarray]:
    """Hampel filter: find outliers against a sliding median and replace them by it.

    For each ``i``, with the window ``W`` of ``window`` values centred on ``i`` (clipped at
    the ends of the series: no padding, so edge windows are shorter):
    ``m = median(W)``, ``MAD = median(|W - m|)``; ``x[i]`` is an outlier when
    ``|x[i] - m| > n_sigmas * 1.4826 * MAD`` (1.4826 scales the MAD to a standard deviation
    for normal data) and is then replaced by ``m``. Medians of an even count are the mean of
    the two middle values.

    MAD = 0 (half of the window or more equal to ``m``): every value other than ``m`` is an
    outlier. NaN values are ignored within windows, are never outliers and stay NaN.

    Parameters
    ----------
    x : array_like, 1-D, float32 or float64
        The values (other real dtypes become float64). May be empty.
    window : int
        Window length: a positive odd integer.
    n_sigmas : float
        Threshold in (scaled) MADs, finite and at least 0.
    groups : None or array_like of int, 1-D
        Series boundaries as an indptr (see :func:`median_filter`); each series is cleaned on
        its own.
    num_threads : int
        Threads to use; 0 means every core.

    Returns
    -------
    cleaned : ndarray, the shape and dtype of ``x``
        ``x`` with the outliers replaced by their window medians.
    is_outlier : ndarray of bool, the shape of ``x``

    Examples
    --------
    >>> from shoprec.kernels import hampel
    >>> cleaned, is_outlier = hampel([1.0, 1.1, 0.9, 50.0, 1.0, 1.2, 0.8], 5)
    >>> is_outlier.tolist()
    [False, False, False, True, False, False, False]
    >>> float(cleaned[3])  # the median of [1.1, 0.9, 50.0, 1.0, 1.2]
    1.1
    """
    num_threads = check_num_threads(num_threads)
    window = check_odd_window(window)
    n_sigmas = check_float(n_sigmas, "n_sigmas", minimum=0.0)
    values = _series(x)
    bounds = as_groups(groups, len(values))
    return _core.hampel(values, window, n_sigmas, bounds, num_threads)
