"""shoprec.clean: every step on hand-built data with known answers, the series steps against a
sort-per-window reference, and every report's counts adding up."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import shoprec
from shoprec import clean


def window_median(x, window):
    """Sort-per-window centred median, the window clamped at the ends ("nearest" padding)."""
    half = window // 2
    n = len(x)
    return np.array([np.median(x[np.clip(np.arange(i - half, i + half + 1), 0, n - 1)]) for i in range(n)])


def window_hampel(x, window, n_sigmas):
    """Sort-per-window Hampel; windows are cut at the series ends (no padding)."""
    half = window // 2
    n = len(x)
    cleaned, flags = x.astype(float).copy(), np.zeros(n, bool)
    for i in range(n):
        values = x[max(0, i - half) : i + half + 1]
        median = np.median(values)
        sigma = 1.4826 * np.median(np.abs(values - median))
        if abs(x[i] - median) > n_sigmas * sigma:
            cleaned[i], flags[i] = median, True
    return cleaned, flags


def per_group(fn, x, indptr, *args):
    parts = [fn(x[a:b], *args) for a, b in zip(indptr[:-1], indptr[1:])]
    if isinstance(parts[0], tuple):
        return tuple(np.concatenate(p) for p in zip(*parts))
    return np.concatenate(parts)


def assert_report_adds_up(report, n_in):
    assert report.n_in == n_in
    assert report.n_in - report.n_out == report.n_removed == sum(report.removed.values())
    assert str(report).startswith(report.step)


def unchanged(before, after):
    pd.testing.assert_frame_equal(before, after)


# ------------------------------------------------------------------ dedupe_events


def clicks():
    t0 = pd.Timestamp("2024-03-01 10:00")
    minutes = lambda m: t0 + pd.Timedelta(minutes=m)  # noqa: E731
    return pd.DataFrame(
        {
            "user": ["a", "a", "a", "a", "a", "b", "b", "a"],
            "item": [1, 1, 1, 1, 2, 1, 1, 1],
            "event": ["view", "view", "view", "view", "view", "view", "cart", "cart"],
            "timestamp": [minutes(0), minutes(10), minutes(35), minutes(100), minutes(5), minutes(0), minutes(1), minutes(2)],
        },
        index=[10, 11, 12, 13, 14, 15, 16, 17],
    )


def test_dedupe_collapses_runs_within_the_gap():
    log = clicks()
    before = log.copy()
    cleaned, report = clean.dedupe_events(log, "30min", event="event")
    unchanged(before, log)
    # a/1/view at 0, 10, 35 (gaps 10 and 25 min) is one run; 100 starts another.
    assert list(cleaned.index) == [10, 13, 14, 15, 16, 17]
    assert list(cleaned["count"]) == [3, 1, 1, 1, 1, 1]
    assert report.removed == {"repeat within window": 2}
    assert list(report.details.index) == [11, 12] and list(report.details["merged_into"]) == [10, 10]
    assert cleaned["count"].sum() == len(log)
    assert_report_adds_up(report, len(log))


def test_dedupe_without_event_column_merges_event_types_and_sums_old_counts():
    log = clicks()
    cleaned, report = clean.dedupe_events(log, "5min")
    # Without the event column a/1 events at 0, 2 (cart), 10, 35, 100: 0 and 2 merge only.
    assert report.n_removed == 2  # a/1 at 2 joins 0; b/1 at 1 joins 0
    again, second = clean.dedupe_events(cleaned, None)
    assert second.n_removed == len(cleaned) - 3  # a/1, a/2, b/1
    assert again["count"].sum() == len(log)


def test_dedupe_exact_duplicates_with_window_zero_and_numeric_seconds():
    log = pd.DataFrame({"user": [1, 1, 1, 2, 2], "item": [5, 5, 5, 5, 5], "timestamp": [100, 100, 101, 100, 100]})
    cleaned, report = clean.dedupe_events(log, 0)
    assert report.n_removed == 2 and list(cleaned["count"]) == [2, 1, 2]


def test_dedupe_keys_make_rows_distinct():
    log = pd.DataFrame({"user": [1, 1], "item": [5, 5], "timestamp": [0, 0], "price": [9.5, 9.9]})
    assert clean.dedupe_events(log, 0)[1].n_removed == 1
    assert clean.dedupe_events(log, 0, keys=["price"])[1].n_removed == 0


# ------------------------------------------------------------------ drop_outlier_users


def activity(rng):
    rows = []
    for user in range(60):
        for _ in range(rng.integers(5, 15)):
            rows.append((f"shopper{user}", int(rng.integers(0, 100)), int(rng.integers(0, 30 * 86400))))
    for _ in range(600):  # a crawler: many events
        rows.append(("crawler", int(rng.integers(0, 100)), int(rng.integers(0, 30 * 86400))))
    for _ in range(12):  # a script: an ordinary volume, all in one minute
        rows.append(("burst", int(rng.integers(0, 100)), 86400 * 3 + int(rng.integers(0, 60))))
    return pd.DataFrame(rows, columns=["user", "item", "timestamp"])


def test_drop_outlier_users_finds_crawler_by_volume_and_burst_by_rate(rng):
    log = activity(rng)
    before = log.copy()
    cleaned, report = clean.drop_outlier_users(log, timestamp="timestamp")
    unchanged(before, log)
    assert set(report.details["user"]) == {"crawler", "burst"}
    reasons = dict(zip(report.details["user"], report.details["reason"]))
    assert reasons["crawler"] in ("volume", "volume and rate") and reasons["burst"] == "rate"
    assert report.n_removed == (log["user"].isin(["crawler", "burst"])).sum()
    assert not cleaned["user"].isin(["crawler", "burst"]).any()
    assert report.extra["users_removed"] == 2 and report.extra["users_in"] == 62
    assert_report_adds_up(report, len(log))
    _, volume_only = clean.drop_outlier_users(log)
    assert list(volume_only.details["user"]) == ["crawler"]


def test_robust_z_scores_by_hand():
    x = np.array([1.0, 2.0, 3.0, 4.0, 100.0])
    # median 3, MAD = median(|x - 3|) = median(2, 1, 0, 1, 97) = 1
    np.testing.assert_allclose(clean.robust_z_scores(x), 0.6745 * (x - 3.0))
    y = np.array([5.0, 5.0, 5.0, 9.0])  # MAD 0: mean absolute deviation 1 stands in
    np.testing.assert_allclose(clean.robust_z_scores(y), (y - 5.0) / 1.2533)
    assert not clean.robust_z_scores(np.ones(4)).any()


# ------------------------------------------------------------------ ratings


def ratings():
    return pd.DataFrame({"user": [1, 1, 2, 2, 3, 3], "item": [1, 2, 1, 3, 2, 3], "rating": [0.0, 5.5, 3.0, 4.25, 4.5, np.nan]})


def test_check_rating_scale_counts_each_problem_once():
    log = ratings()
    report = clean.check_rating_scale(log, 0.5, 5.0, step=0.5)
    assert report.extra == {"missing": 1, "below scale": 1, "above scale": 1, "off step": 1, "ok": 2}
    assert sum(report.extra.values()) == report.n_in == len(log) == report.n_out
    assert list(report.details["reason"]) == ["below scale", "above scale", "off step", "missing"]


def test_clip_ratings():
    log = ratings().dropna()
    before = log.copy()
    cleaned, report = clean.clip_ratings(log, 0.5, 5.0)
    unchanged(before, log)
    assert list(cleaned["rating"]) == [0.5, 5.0, 3.0, 4.25, 4.5]
    assert report.changed == {"below low": 1, "above high": 1} and report.n_changed == len(report.details)
    assert_report_adds_up(report, len(log))


# ------------------------------------------------------------------ balance and augment


def test_balance_caps_users_then_items_on_hand_built_data():
    # user a: 10 rows on items 0..9; users b..e: 1 row each on item 0; item 0 thus has 5 rows.
    log = pd.DataFrame({"user": ["a"] * 10 + ["b", "c", "d", "e"], "item": list(range(10)) + [0, 0, 0, 0]})
    cleaned, report = clean.balance(log, max_per_user=4, max_per_item=3, seed=1)
    assert report.removed["user over max_per_user"] == 6
    counts = cleaned.groupby("user").size()
    assert counts["a"] <= 4 and cleaned.groupby("item").size().max() <= 3
    details = report.details
    a_item0_cut_by_user_cap = ((details["user"] == "a") & (details["item"] == 0)).any()
    item0_after_user_cap = 4 + (0 if a_item0_cut_by_user_cap else 1)
    assert report.removed["item over max_per_item"] == item0_after_user_cap - 3
    assert_report_adds_up(report, len(log))
    assert list(cleaned.index) == sorted(cleaned.index)
    again, _ = clean.balance(log, max_per_user=4, max_per_item=3, seed=1)
    pd.testing.assert_frame_equal(cleaned, again)


def test_balance_user_cap_exact_counts(rng):
    log = pd.DataFrame({"user": rng.integers(0, 20, 1000), "item": rng.integers(0, 50, 1000)})
    sizes = log.groupby("user").size()
    cleaned, report = clean.balance(log, max_per_user=30, seed=3)
    assert report.n_removed == int(np.maximum(sizes - 30, 0).sum())
    pd.testing.assert_series_equal(cleaned.groupby("user").size(), np.minimum(sizes, 30))
    assert (report.details["reason"] == "user over max_per_user").all()


def test_augment_is_bounded_seeded_and_leaves_input(rng):
    log = pd.DataFrame({"user": range(500), "item": range(500), "rating": rng.integers(1, 6, 500).astype(float)})
    before = log.copy()
    noisy, report = clean.augment(log, 0.3, low=1.0, high=5.0, seed=4)
    unchanged(before, log)
    change = noisy["rating"].to_numpy() - log["rating"].to_numpy()
    assert np.abs(change).max() <= 0.3 and noisy["rating"].between(1.0, 5.0).all()
    assert report.changed["jittered"] == int((change != 0).sum()) and report.n_removed == 0
    pd.testing.assert_frame_equal(noisy, clean.augment(log, 0.3, low=1.0, high=5.0, seed=4)[0])


# ------------------------------------------------------------------ series


@pytest.mark.parametrize("window", [1, 3, 7])
def test_smooth_series_matches_sort_per_window(rng, window):
    lengths = [9, 20, 7, 31]
    indptr = np.r_[0, np.cumsum(lengths)]
    x = rng.normal(size=indptr[-1])
    smoothed, report = clean.smooth_series(x, window, groups=indptr)
    np.testing.assert_allclose(smoothed, per_group(window_median, x, indptr, window))
    assert report.n_changed == int(np.sum(smoothed != x)) == len(report.details)
    assert report.extra["series"] == 4 and report.extra["series_too_short"] == 0


def test_fix_outliers_matches_reference_and_flags_spike(rng):
    lengths = [40, 25, 60]
    indptr = np.r_[0, np.cumsum(lengths)]
    x = 100 + rng.normal(size=indptr[-1])
    x[[10, 50, 100]] = [5.0, 400.0, -50.0]
    cleaned, report = clean.fix_outliers(x, 7, 3.0, groups=indptr)
    ref_cleaned, ref_flags = per_group(window_hampel, x, indptr, 7, 3.0)
    np.testing.assert_allclose(cleaned, ref_cleaned)
    np.testing.assert_array_equal(report.extra["is_outlier"], ref_flags)
    assert ref_flags[[10, 50, 100]].all()
    assert report.n_changed == int(ref_flags.sum())


def test_series_dataframe_in_any_order_keeps_rows_and_adds_flag(rng):
    dates = pd.date_range("2024-01-01", periods=30)
    frame = pd.DataFrame(
        {"sku": np.repeat(["x", "y", "z"], 30), "day": np.tile(dates, 3), "sales": rng.poisson(50, 90).astype(float)}
    )
    frame.loc[frame.index[45], "sales"] = 999.0  # y, day 15
    shuffled = frame.sample(frac=1.0, random_state=3)
    before = shuffled.copy()
    cleaned, report = clean.fix_outliers(shuffled, 5, item="sku", date="day", value="sales")
    unchanged(before, shuffled)
    assert list(cleaned.index) == list(shuffled.index) and list(cleaned.columns) == ["sku", "day", "sales", "is_outlier"]
    assert cleaned.loc[45, "is_outlier"] and cleaned.loc[45, "sales"] < 100
    for sku, part in frame.groupby("sku"):
        want, flags = window_hampel(part["sales"].to_numpy(), 5, 3.0)
        np.testing.assert_allclose(cleaned.loc[part.index, "sales"], want)
        np.testing.assert_array_equal(cleaned.loc[part.index, "is_outlier"], flags)
    assert report.n_changed == int(cleaned["is_outlier"].sum()) == len(report.details)
    assert list(report.details) == list(cleaned.index[cleaned["is_outlier"]])
    in_order, _ = clean.fix_outliers(frame, 5, item="sku", date="day", value="sales")
    pd.testing.assert_frame_equal(in_order.loc[shuffled.index], cleaned)
    smoothed, _ = clean.smooth_series(shuffled, 5, item="sku", date="day", value="sales")
    for sku, part in frame.groupby("sku"):
        np.testing.assert_allclose(smoothed.loc[part.index, "sales"], window_median(part["sales"].to_numpy(), 5))


def test_series_shorter_than_window_raise_or_keep(rng):
    indptr = np.array([0, 10, 13, 30])
    x = rng.normal(size=30)
    with pytest.raises(shoprec.InvalidArgumentError, match="longer than 1 series"):
        clean.smooth_series(x, 5, groups=indptr)
    smoothed, report = clean.smooth_series(x, 5, groups=indptr, short_series="keep")
    np.testing.assert_array_equal(smoothed[10:13], x[10:13])
    np.testing.assert_allclose(smoothed[:10], window_median(x[:10], 5))
    np.testing.assert_allclose(smoothed[13:], window_median(x[13:], 5))
    assert report.extra["series_too_short"] == 1


def test_missing_values_are_ignored_in_windows_and_reported():
    x = np.array([10.0, np.nan, 12.0, 11.0, 500.0, 13.0, np.nan])
    smoothed, report = clean.smooth_series(x, 3)
    # Windows with a NaN take the median of the rest: [nan, 12, 11] -> 11.5, [500, 13, nan] ->
    # 256.5; the last value's window is [13, nan, nan] (nearest padding) -> 13.
    np.testing.assert_allclose(smoothed, [10.0, 11.0, 11.5, 12.0, 13.0, 256.5, 13.0])
    assert report.n_changed == 6  # all but the first, the two NaN filled included
    frame = pd.DataFrame({"item": ["a"] * 7, "date": range(7), "value": x})
    cleaned, report = clean.fix_outliers(frame, 5)
    assert cleaned["is_outlier"].tolist() == [False, False, False, False, True, False, False]
    # value 4's window, cut at the end: [12, 11, 500, 13, nan] -> median 12.5, MAD 1.
    assert np.isnan(cleaned["value"][1]) and cleaned["value"][4] == 12.5 and report.n_changed == 1


@settings(max_examples=40, deadline=None)
@given(
    lengths=st.lists(st.integers(1, 25), min_size=1, max_size=6),
    window=st.sampled_from([1, 3, 5]),
    seed=st.integers(0, 1000),
)
def test_hypothesis_hampel_against_reference(lengths, window, seed):
    rng = np.random.default_rng(seed)
    indptr = np.r_[0, np.cumsum(lengths)]
    x = np.round(rng.normal(size=indptr[-1]) * 3)  # rounding makes ties and zero MADs common
    cleaned, report = clean.fix_outliers(x, window, 2.5, groups=indptr, short_series="keep")

    def reference(part, window, n_sigmas):  # series shorter than the window stay as they are
        return window_hampel(part, window, n_sigmas) if len(part) >= window else (part, np.zeros(len(part), bool))

    ref_cleaned, ref_flags = per_group(reference, x, indptr, window, 2.5)
    np.testing.assert_allclose(cleaned, ref_cleaned)
    np.testing.assert_array_equal(report.extra["is_outlier"], ref_flags)


# ------------------------------------------------------------------ bad input


@pytest.mark.parametrize(
    "call, error",
    [
        (lambda: clean.dedupe_events(pd.DataFrame({"user": [], "item": [], "timestamp": []})), shoprec.InvalidArgumentError),
        (lambda: clean.dedupe_events(pd.DataFrame({"user": [1], "item": [1]})), shoprec.InvalidArgumentError),
        (lambda: clean.dedupe_events([[1, 2]]), shoprec.DTypeError),
        (lambda: clean.dedupe_events(pd.DataFrame({"user": [1], "item": [1], "timestamp": [0]}), "soon"), shoprec.InvalidArgumentError),
        (lambda: clean.dedupe_events(pd.DataFrame({"user": [1], "item": [1], "timestamp": ["x"]})), shoprec.DTypeError),
        (lambda: clean.dedupe_events(pd.DataFrame({"user": [1], "item": [1], "timestamp": [0]}), "-5min"), shoprec.InvalidArgumentError),
        (lambda: clean.clip_ratings(pd.DataFrame({"rating": ["good"]}), 1, 5), shoprec.DTypeError),
        (lambda: clean.clip_ratings(pd.DataFrame({"rating": [np.nan]}), 1, 5), shoprec.InvalidArgumentError),
        (lambda: clean.clip_ratings(pd.DataFrame({"rating": [1.0]}), 5, 1), shoprec.InvalidArgumentError),
        (lambda: clean.balance(pd.DataFrame({"user": [1], "item": [1]})), shoprec.InvalidArgumentError),
        (lambda: clean.balance(pd.DataFrame({"user": [1], "item": [1]}), max_per_user=0), shoprec.InvalidArgumentError),
        (lambda: clean.augment(pd.DataFrame({"rating": [1.0]}), -1), shoprec.InvalidArgumentError),
        (lambda: clean.drop_outlier_users(pd.DataFrame({"user": [1]}), threshold=0), shoprec.InvalidArgumentError),
        (lambda: clean.smooth_series([], 3), shoprec.InvalidArgumentError),
        (lambda: clean.smooth_series(["a", "b"], 3), shoprec.DTypeError),
        (lambda: clean.smooth_series([1.0, np.inf, 2.0], 3), shoprec.InvalidArgumentError),
        (lambda: clean.smooth_series([1.0, 2.0, 3.0], 2), shoprec.InvalidArgumentError),
        (lambda: clean.smooth_series([1.0, 2.0, 3.0], 3, groups=[0, 2]), shoprec.ShapeMismatchError),
        (lambda: clean.smooth_series([1.0, 2.0, 3.0], 3, groups=[0, 2, 1, 3]), shoprec.InvalidArgumentError),
        (lambda: clean.smooth_series([1.0, 2.0, 3.0], 5), shoprec.InvalidArgumentError),
        (lambda: clean.fix_outliers([1.0, 2.0, 3.0], 3, 0), shoprec.InvalidArgumentError),
        (lambda: clean.fix_outliers(pd.DataFrame({"item": [1, 1], "date": [1, 1], "value": [1.0, 2.0]}), 1), shoprec.InvalidArgumentError),
        (lambda: clean.fix_outliers(pd.DataFrame({"item": [1], "date": [1]}), 1), shoprec.InvalidArgumentError),
    ],
)
def test_bad_input_raises_named_errors(call, error):
    with pytest.raises(error):
        call()


# ------------------------------------------------------------------ shoprec.Interactions in, Interactions out


@pytest.fixture
def small_interactions(rng):
    users = np.repeat(["ann", "bob", "cy", "dee"], [12, 3, 4, 2])
    items = np.concatenate([np.arange(12), [0, 1, 2], [0, 3, 4, 5], [0, 6]])
    ratings = np.concatenate([np.full(12, 4.0), [0.0, 6.0, 3.0], [5.0, 2.5, 1.0, 4.5], [3.5, 5.0]])
    return shoprec.Interactions.from_arrays(users, items, ratings)


def test_balance_on_interactions_keeps_id_maps(small_interactions):
    inter = small_interactions
    balanced, report = clean.balance(inter, max_per_user=5, seed=2)
    assert isinstance(balanced, shoprec.Interactions)
    assert report.removed["user over max_per_user"] == 7 == len(inter) - len(balanced)
    np.testing.assert_array_equal(balanced.user_ids, inter.user_ids)
    np.testing.assert_array_equal(balanced.item_ids, inter.item_ids)
    counts = np.bincount(balanced.users, minlength=inter.n_users)
    assert counts.tolist() == [5, 3, 4, 2]
    assert set(report.details["user"]) == {"ann"}


def test_clip_augment_and_scale_check_on_interactions(small_interactions):
    inter = small_interactions
    clipped, report = clean.clip_ratings(inter, 0.5, 5.0)
    assert report.changed == {"below low": 1, "above high": 1}
    np.testing.assert_array_equal(clipped.values, np.clip(inter.values, 0.5, 5.0))
    np.testing.assert_array_equal(clipped.users, inter.users)
    assert inter.values.max() == 6.0  # the input is untouched
    scale = clean.check_rating_scale(inter, 0.5, 5.0, step=0.5)
    assert scale.extra["below scale"] == 1 and scale.extra["above scale"] == 1 and scale.extra["ok"] == len(inter) - 2
    noisy, report = clean.augment(clipped, 0.2, low=0.5, high=5.0, seed=1)
    assert np.abs(noisy.values - clipped.values).max() <= 0.2 and report.n_changed > 0


def test_drop_outlier_users_on_interactions(rng):
    users = np.concatenate([np.repeat(np.arange(40), 5), np.full(300, 99)])
    items = np.concatenate([rng.integers(0, 400, 200), np.arange(300)])
    inter = shoprec.Interactions.from_arrays(users, items)
    cleaned, report = clean.drop_outlier_users(inter)
    assert list(report.details["user"]) == [99]
    assert len(cleaned) == len(inter) - 300 == report.n_out
    assert not np.isin(cleaned.users, [inter.user_index(99)]).any()


def test_dedupe_refuses_combined_interactions(small_interactions):
    with pytest.raises(shoprec.DTypeError, match="raw event log"):
        clean.dedupe_events(small_interactions)


def test_a_report_whose_counts_do_not_add_up_is_a_bug():
    with pytest.raises(shoprec.InternalError):
        clean.CleaningReport("made_up", n_in=10, n_out=7, removed={"reason": 2})
    report = clean.CleaningReport("made_up", n_in=10, n_out=7, removed={"a": 2, "b": 1}, changed={"c": 4})
    assert report.n_removed == 3 and report.n_changed == 4 and "removed 2: a" in str(report)
