"""shoprec.kernels.median_filter and hampel against scipy.ndimage and naive numpy references."""

import warnings

import numpy as np
import pytest
import scipy.ndimage as ndimage
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import shoprec
from shoprec.kernels import hampel, median_filter

MODES = ["nearest", "reflect", "mirror", "wrap", "constant"]
NUMPY_PAD = {"nearest": "edge", "reflect": "symmetric", "mirror": "reflect", "wrap": "wrap", "constant": "constant"}


def naive_median_filter(x, window, mode="nearest", cval=0.0):
    """numpy.pad by the mode, then nanmedian of every window (NaN for a window of NaN only)."""
    x = np.asarray(x, dtype=np.float64)
    if len(x) == 0:
        return x.copy()
    extra = dict(constant_values=cval) if mode == "constant" else {}
    padded = np.pad(x, window // 2, mode=NUMPY_PAD[mode], **extra)
    out = np.empty(len(x))
    for i in range(len(x)):
        win = padded[i : i + window]
        out[i] = np.nan if np.isnan(win).all() else np.nanmedian(win)
    return out


def naive_hampel(x, window, n_sigmas=3.0):
    x = np.asarray(x, dtype=np.float64)
    h = window // 2
    cleaned, flags = x.copy(), np.zeros(len(x), bool)
    for i in range(len(x)):
        win = x[max(0, i - h) : i + h + 1]
        win = win[~np.isnan(win)]
        m = np.median(win)
        mad = np.median(np.abs(win - m))
        if not np.isnan(x[i]) and abs(x[i] - m) > n_sigmas * 1.4826 * mad:
            cleaned[i], flags[i] = m, True
    return cleaned, flags


def bounds_of(lengths):
    return np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("window", [1, 3, 5, 31, 101])
def test_matches_scipy(rng, mode, window):
    x = rng.normal(size=2000)
    x[::37] = 5.0  # ties
    got = median_filter(x, window, mode=mode, cval=0.25, num_threads=2)
    np.testing.assert_array_equal(got, ndimage.median_filter(x, window, mode=mode, cval=0.25))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("window", [9, 11, 15, 17, 61, 63, 65, 125, 127, 129])
def test_windows_around_the_register_kernel_limits_match_scipy(rng, dtype, window):
    """Windows up to 127 run in vector registers (AVX-512; AVX2 up to 63), longer ones and
    machines without either on the sorted arrays and blocks: the same medians either side of
    every register count's limit, with many ties and infinities."""
    x = rng.integers(-20, 20, size=40_000).astype(dtype)
    x[::97] = np.inf
    x[::89] = -np.inf
    got = median_filter(x, window, mode="reflect", num_threads=2)
    assert got.dtype == dtype
    np.testing.assert_array_equal(got, ndimage.median_filter(x, window, mode="reflect"))


@pytest.mark.parametrize("mode", MODES)
def test_windows_longer_than_the_series_repeat_the_padding(rng, mode):
    for n in (1, 2, 3, 8):
        x = rng.integers(0, 9, n).astype(np.float64)
        for window in (5, 11, 41):
            np.testing.assert_array_equal(median_filter(x, window, mode=mode, cval=1.5), naive_median_filter(x, window, mode, 1.5))
            if window <= n:  # beyond that scipy's 1-D path is inconsistent (see the docstring)
                np.testing.assert_array_equal(median_filter(x, window, mode=mode, cval=1.5), ndimage.median_filter(x, window, mode=mode, cval=1.5))


def test_long_series_in_parallel_chunks_matches_scipy(rng):
    x = np.round(rng.normal(size=300_001), 2)
    for window in (7, 1001):
        want = ndimage.median_filter(x, window, mode="reflect")
        for threads in (1, 2, 3):
            np.testing.assert_array_equal(median_filter(x, window, mode="reflect", num_threads=threads), want)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("shape", ["normal", "offset", "heavy tail"])
def test_long_windows_sort_blocks_of_any_shape_of_data_as_scipy(rng, dtype, shape):
    """Windows beyond the registers sort blocks by packed integers (offsets from the block's
    least value, a fix-up for values the packing cannot tell apart): continuous values, values
    agreeing in their leading digits, and a heavy tail give scipy's medians in both types."""
    x = {
        "normal": rng.normal(size=60_000),
        "offset": 1e6 + rng.normal(size=60_000) * 1e-3,
        "heavy tail": rng.lognormal(0.0, 4.0, 60_000) * np.where(rng.random(60_000) < 0.3, -1.0, 1.0),
    }[shape].astype(dtype)
    for window in (255, 1001):
        got = median_filter(x, window, mode="nearest", num_threads=2)
        np.testing.assert_array_equal(got, ndimage.median_filter(x, window, mode="nearest"))


def test_float32_stays_float32(rng):
    x = rng.normal(size=500).astype(np.float32)
    got = median_filter(x, 9)
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, ndimage.median_filter(x, 9, mode="nearest"))
    cleaned, flags = hampel(x, 9)
    assert cleaned.dtype == np.float32 and flags.dtype == np.bool_


def test_nan_is_ignored_within_windows():
    x = np.array([1.0, np.nan, 3.0, np.nan, np.nan, np.nan, 7.0, 2.0])
    got = median_filter(x, 3)
    np.testing.assert_array_equal(got, naive_median_filter(x, 3))
    assert got[0] == 1.0 and got[1] == 2.0 and np.isnan(got[4])
    x = np.full(5, np.nan)
    assert np.isnan(median_filter(x, 3)).all()


def test_groups_filter_each_series_alone(rng):
    lengths = [0, 1, 5, 365, 2, 40]
    x = rng.normal(size=sum(lengths))
    groups = bounds_of(lengths)
    got = median_filter(x, 7, mode="mirror", groups=groups)
    cleaned, flags = hampel(x, 7, groups=groups)
    for a, b in zip(groups[:-1], groups[1:]):
        np.testing.assert_array_equal(got[a:b], naive_median_filter(x[a:b], 7, "mirror"))
        want_c, want_f = naive_hampel(x[a:b], 7)
        np.testing.assert_array_equal(cleaned[a:b], want_c)
        np.testing.assert_array_equal(flags[a:b], want_f)
    # A Python list of boundaries works too.
    np.testing.assert_array_equal(median_filter(x, 7, mode="mirror", groups=groups.tolist()), got)


def test_hampel_finds_the_spike_and_replaces_it_by_the_median(rng):
    x = np.sin(np.arange(200) / 10.0) + rng.normal(scale=0.01, size=200)
    x[50] += 5.0
    x[120] -= 3.0
    cleaned, flags = hampel(x, 11)
    assert set(np.flatnonzero(flags)) >= {50, 120}
    want_c, want_f = naive_hampel(x, 11)
    np.testing.assert_array_equal(flags, want_f)
    np.testing.assert_array_equal(cleaned, want_c)
    assert abs(cleaned[50] - np.sin(5.0)) < 0.05


def test_hampel_mad_zero_and_nan():
    x = np.array([2.0, 2.0, 2.0, 2.5, 2.0, 2.0, np.nan, 2.0])
    cleaned, flags = hampel(x, 5)
    assert flags.tolist() == [False, False, False, True, False, False, False, False]
    assert cleaned[3] == 2.0 and np.isnan(cleaned[6])
    _, none = hampel(x, 5, n_sigmas=1e9)
    assert none[3]  # MAD = 0: any deviation is an outlier, whatever n_sigmas
    cleaned, flags = hampel(np.full(4, np.nan), 3)
    assert np.isnan(cleaned).all() and not flags.any()


def test_strided_and_integer_inputs(rng):
    base = rng.integers(0, 100, 1001)
    view = base[::-3]
    np.testing.assert_array_equal(median_filter(view, 5), ndimage.median_filter(view.astype(float), 5, mode="nearest"))
    got_c, got_f = hampel(view, 5)
    want_c, want_f = naive_hampel(view, 5)
    np.testing.assert_array_equal(got_c, want_c)
    np.testing.assert_array_equal(got_f, want_f)


def test_empty_series():
    assert median_filter(np.zeros(0), 3).shape == (0,)
    cleaned, flags = hampel([], 3)
    assert cleaned.shape == (0,) and flags.shape == (0,)


@pytest.mark.parametrize("fn", [median_filter, hampel])
@pytest.mark.parametrize(
    "kwargs, error, named",
    [
        (dict(x=[1.0, 2.0], window=2), shoprec.InvalidArgumentError, "window"),
        (dict(x=[1.0, 2.0], window=0), shoprec.InvalidArgumentError, "window"),
        (dict(x=[1.0, 2.0], window=-3), shoprec.InvalidArgumentError, "window"),
        (dict(x=[1.0, 2.0], window=3.0), shoprec.DTypeError, "window"),
        (dict(x=[[1.0, 2.0]], window=3), shoprec.DTypeError, "x"),
        (dict(x=["a", "b"], window=3), shoprec.DTypeError, "x"),
        (dict(x=[1.0, 2.0], window=3, groups=[1, 2]), shoprec.InvalidArgumentError, "groups"),
        (dict(x=[1.0, 2.0], window=3, groups=[0, 1]), shoprec.ShapeMismatchError, "groups"),
        (dict(x=[1.0, 2.0], window=3, groups=[0, 2, 1, 2]), shoprec.InvalidArgumentError, "groups"),
        (dict(x=[1.0, 2.0], window=3, groups=[0.0, 2.0]), shoprec.DTypeError, "groups"),
        (dict(x=[1.0, 2.0], window=3, groups=[[0, 2]]), shoprec.DTypeError, "groups"),
        (dict(x=[1.0, 2.0], window=3, num_threads=-1), shoprec.InvalidArgumentError, "num_threads"),
    ],
)
def test_bad_input_raises_named_errors(fn, kwargs, error, named):
    with pytest.raises(error, match=named):
        fn(**kwargs)


def test_bad_mode_cval_and_n_sigmas():
    with pytest.raises(shoprec.InvalidArgumentError, match="mode"):
        median_filter([1.0], 1, mode="same")
    with pytest.raises(shoprec.InvalidArgumentError, match="cval"):
        median_filter([1.0], 1, mode="constant", cval=np.nan)
    with pytest.raises(shoprec.InvalidArgumentError, match="n_sigmas"):
        hampel([1.0], 1, n_sigmas=-1.0)
    with pytest.raises(shoprec.InvalidArgumentError, match="n_sigmas"):
        hampel([1.0], 1, n_sigmas=np.inf)


_values = st.one_of(st.integers(-4, 4).map(float), st.just(np.nan), st.floats(-10, 10, allow_nan=False))


@settings(max_examples=80, deadline=None)
@given(
    x=hnp.arrays(np.float64, st.integers(0, 60), elements=_values),
    half=st.integers(0, 35),
    mode=st.sampled_from(MODES),
)
def test_hypothesis_median_against_naive(x, half, mode):
    window = 2 * half + 1
    view = x[::-1]
    np.testing.assert_array_equal(median_filter(view, window, mode=mode, cval=-1.0), naive_median_filter(view, window, mode, -1.0))


@settings(max_examples=80, deadline=None)
@given(
    x=hnp.arrays(np.float64, st.integers(0, 60), elements=_values),
    half=st.integers(0, 10),
    n_sigmas=st.floats(0, 5),
)
def test_hypothesis_hampel_against_naive(x, half, n_sigmas):
    window = 2 * half + 1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # medians of all-NaN windows
        want_c, want_f = naive_hampel(x, window, n_sigmas)
    got_c, got_f = hampel(x, window, n_sigmas=n_sigmas)
    np.testing.assert_array_equal(got_f, want_f)
    np.testing.assert_array_equal(got_c, want_c)
