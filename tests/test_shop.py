"""shoprec.Shop: the pipeline's answers against the parts it wires (fitted here independently),
marks of where answers came from, stock, coupons, restocking, persistence and monitoring."""

import json

import numpy as np
import pandas as pd
import pytest

import shoprec
from shoprec.datasets import demo_shop
from shoprec.shop.catalogue import Catalogue

CONFIG = {"keywords": False, "n_segments": 4}


@pytest.fixture(scope="module")
def data():
    return demo_shop(n_users=400, n_products=600, seed=1)


@pytest.fixture(scope="module")
def shop(data):
    return shoprec.Shop.build(data.products, data.events, config=CONFIG, sales=data.sales, coupons=data.coupons,
                              redemptions=data.redemptions, progress=False)


@pytest.fixture(scope="module")
def reference(data):
    """The same pipeline wired by hand from the public parts."""
    events, _ = shoprec.clean.dedupe_events(data.events, "10s", event="event")
    events, bots = shoprec.clean.drop_outlier_users(events, timestamp="timestamp")
    inter = shoprec.Interactions.from_pandas(events, event="event", timestamp="timestamp")
    segments = shoprec.InterestSegments(4, seed=0).fit(inter, data.products[["id", "category", "brand"]])
    popular = shoprec.Popular(within="segment").fit(inter, data.products.set_index("id")["category"], segments=segments)
    knn = shoprec.ItemKNN(50, similarity="cosine", shrinkage=10.0).fit(inter, fallback=popular)
    return {"inter": inter, "segments": segments, "popular": popular, "knn": knn, "bots": bots}


def out_of_stock(data):
    return set(data.products.loc[~data.products["in_stock"], "id"])


def test_build_reports(shop, reference):
    reports = shop.reports
    steps = [r["step"] for r in reports["cleaning"]]
    assert steps == ["dedupe_events", "drop_outlier_users", "fix_outliers", "smooth_series"]
    assert reports["cleaning"][1]["removed"] == dict(reference["bots"].removed)
    assert reports["build"]["shoppers"] == reference["inter"].n_users
    assert reports["build"]["interactions"] == len(reference["inter"])
    json.dumps(reports)  # everything in the manifest is JSON


def test_recommend_known_user_is_itemknn_without_out_of_stock(shop, reference, data):
    oos = sorted(out_of_stock(data))
    for user in ["u00001", "u00007", "u00042"]:
        got = shop.recommend(user, 10)
        want = reference["knn"].recommend(user, 10, exclude=oos)
        assert (got.part, got.source, got.reason) == ("itemknn", "model", None)
        assert got.to_list() == want.to_list()
        assert not set(got.items) & set(oos)
    with_oos = shop.recommend("u00001", 10, include_out_of_stock=True)
    assert with_oos.to_list() == reference["knn"].recommend("u00001", 10).to_list()


def test_recommend_unknown_user_falls_back_marked(shop, reference, data):
    got = shop.recommend("someone-new", 5)
    assert (got.part, got.source, got.reason, got.segment) == ("popular", "fallback", "unknown_user", -1)
    want = reference["popular"].recommend("someone-new", 5, exclude=sorted(out_of_stock(data)))
    assert got.to_list() == want.to_list()
    assert shop.stats()["methods"]["recommend"]["fallbacks"]["unknown_user"] >= 1


def test_recommend_filters(shop, data):
    got = shop.recommend("u00003", 10, filters={"category": "phone", "price": (None, 3000.0)})
    products = data.products.set_index("id")
    assert len(got) > 0
    for item in got.items:
        assert products.loc[item, "category"] == "phone" and products.loc[item, "price"] <= 3000
        assert products.loc[item, "in_stock"]
    with pytest.raises(shoprec.InvalidArgumentError, match="unknown filter"):
        shop.recommend("u00003", 5, filters={"colour": "red"})
    with pytest.raises(shoprec.InvalidArgumentError):
        shop.recommend("u00003", 5, filters={"price": "cheap"})
    with pytest.raises(shoprec.InvalidArgumentError):
        shop.recommend("u00003", 5, catalogue="cars")
    with pytest.raises(shoprec.DTypeError):
        shop.recommend("u00003", "ten")


def test_catalogue_mask_against_pandas(data):
    catalogue = Catalogue.from_products(data.products, "id", "title")
    p = data.products
    cases = [
        ({"category": ["phone", "tea"]}, p["category"].isin(["phone", "tea"])),
        ({"brand": "Apple", "in_stock": False}, (p["brand"] == "Apple") & ~p["in_stock"]),
        ({"price": {"min": 100, "max": 500}}, p["price"].between(100, 500)),
        ({"price": (1000, None)}, p["price"] >= 1000),
    ]
    for filters, expected in cases:
        assert np.array_equal(catalogue.mask(filters), expected.to_numpy())


def test_recommend_for_history(shop, reference):
    history = list(reference["inter"].item_ids[:3])
    got = shop.recommend_for_history(history, 5, include_out_of_stock=True)
    assert got.part == "itemknn" and not got.is_fallback
    assert got.to_list() == reference["knn"].recommend_for_history(history, 5).to_list()
    cold = shop.recommend_for_history(["not-a-product"], 5)
    assert (cold.part, cold.reason) == ("popular", "empty_history")


def test_similar(shop, reference, data):
    item = reference["inter"].item_ids[0]
    got = shop.similar(item, 5, include_out_of_stock=True)
    assert got.part == "similar-items" and got.source == "model"
    assert got.to_list() == reference["knn"].similar_items(item, 5).to_list()
    with pytest.raises(shoprec.UnknownIdError):
        shop.similar("no-such-product")
    # A product no shopper touched: popular in its category.
    untouched = sorted(set(data.products["id"]) - set(reference["inter"].item_ids))
    if untouched:
        answer = shop.similar(untouched[0], 5)
        assert answer.part == "popular-in-category" and answer.reason == "no_history"
        category = data.products.set_index("id").loc[untouched[0], "category"]
        assert all(data.products.set_index("id").loc[i, "category"] == category for i in answer.items)


def test_explain_and_segments(shop, reference):
    user = "u00001"
    top = shop.recommend(user, 1, include_out_of_stock=True).items[0]
    why = shop.explain(user, top)
    assert why["part"] == "itemknn"
    want = reference["knn"].explain(user, top)
    assert [b["id"] for b in why["because"]] == [i for i, _ in want[:5]]
    assert shop.segment_of(user) == reference["segments"].segment_of(user)
    assert shop.segment_of("nobody") == -1
    assert shop.explain("nobody", top)["part"] == "popular"
    assert str(shop.describe_segment(0)) == str(reference["segments"].describe(0, 5))
    with pytest.raises(shoprec.UnknownIdError):
        shop.explain(user, "no-such-product")


def test_coupons(shop, data):
    knows = data.redemptions["user"].iloc[0]
    answer = shop.recommend(knows, 3, catalogue="coupons")
    assert answer.part in ("coupons-itemknn", "coupons-popular-in-segment")
    assert set(answer.items) <= set(data.coupons["id"])
    assert not set(answer.items) & set(data.redemptions.loc[data.redemptions["user"] == knows, "coupon"])
    # A shopper without redemptions: the coupons most redeemed in their segment.
    redeemers = set(data.redemptions["user"])
    user = next(u for u in shop.parts.segments.user_ids if u not in redeemers and shop.segment_of(u) >= 0)
    segment = shop.segment_of(user)
    answer = shop.recommend(user, 3, catalogue="coupons")
    assert (answer.part, answer.reason) == ("coupons-popular-in-segment", "unknown_user")
    labels = dict(zip(shop.parts.segments.user_ids, shop.parts.segments.labels))
    in_segment = data.redemptions[data.redemptions["user"].map(labels) == segment]
    counts = in_segment["coupon"].value_counts()
    assert list(answer.scores) == sorted(counts.to_numpy(dtype=float)[:3].tolist(), reverse=True)
    assert counts[answer.items[0]] == counts.max()


def _reference_rates(sales, window=15, sigmas=3.0, smooth=7, lookback=28):
    """Hampel (windows cut short at the ends), then a median filter (edges: nearest value),
    then the mean of the last ``lookback`` days, with numpy's nanmedian over sliding windows."""
    from numpy.lib.stride_tricks import sliding_window_view

    rates = {}
    for item, g in sales.sort_values(["item", "date"]).groupby("item"):
        x = g["units"].to_numpy(dtype=float)
        h = window // 2
        win = sliding_window_view(np.pad(x, (h, h), constant_values=np.nan), window)
        med = np.nanmedian(win, axis=1)
        mad = np.nanmedian(np.abs(win - med[:, None]), axis=1)
        fixed = np.where(np.abs(x - med) > sigmas * 1.4826 * mad, med, x)
        h = smooth // 2
        smoothed = np.median(sliding_window_view(np.pad(fixed, (h, h), mode="edge"), smooth), axis=1)
        rates[item] = smoothed[-lookback:].mean()
    return rates


def test_restock_report_against_numpy(shop, data):
    rates = _reference_rates(data.sales)
    stock = data.products.set_index("id")["stock"]
    for days in (0, 5, 20):
        report = shop.restock_report(days=days)
        want = sorted((stock[i] / r, i) for i, r in rates.items() if r > 0 and stock[i] / r <= days)
        assert [r["id"] for r in report] == [i for _, i in want]
        for row in report:
            assert row["daily_sales"] == pytest.approx(rates[row["id"]], abs=1e-3)
            assert row["stock"] == stock[row["id"]]
    assert any(r["stock"] == 0 for r in shop.restock_report(days=0))
    with pytest.raises(shoprec.InvalidArgumentError):
        shop.restock_report(days=-1)


def test_set_stock(data):
    shop = shoprec.Shop.build(data.products, data.events, config=CONFIG, progress=False)
    top = shop.recommend("u00001", 3).items[0]
    assert shop.set_stock([top], False) == 1
    assert top not in shop.recommend("u00001", 3).items
    assert top in shop.recommend("u00001", 10, include_out_of_stock=True).items
    shop.set_stock([top], stock=[5])
    assert shop.product(top)["in_stock"]
    with pytest.raises(shoprec.InvalidArgumentError):
        shop.set_stock([top])


def test_set_stock_is_saved(data, tmp_path):
    """Stock set after the build survives save and load: the catalogue, recommend and search's
    in_stock filter agree with the products table with the same changes applied by hand."""
    shop = shoprec.Shop.build(data.products, data.events, config=CONFIG, progress=False)
    table = data.products.set_index("id")
    in_stock = sorted(table.index[table["in_stock"]])
    out = sorted(table.index[~table["in_stock"]])
    flags = dict(zip(table.index, table["in_stock"].astype(bool)))
    units = dict(zip(table.index, table["stock"].astype(int)))
    went_out, came_back, sold_out, restocked = in_stock[:3], out[:2], in_stock[3:5], out[2:4]
    assert shop.set_stock(went_out + ["no-such-product"], False) == 3
    shop.set_stock(came_back, True)
    shop.set_stock(sold_out, stock=np.array([0, 0]))
    shop.set_stock(restocked, stock=np.array([9, 4]))
    for p in went_out + sold_out:
        flags[p] = False
    for p in came_back + restocked:
        flags[p] = True
    units.update({p: 0 for p in went_out + sold_out})
    units.update(zip(restocked, [9, 4]))
    target = tmp_path / "shop"
    shop.save(target)
    for loaded in (shoprec.Shop.load(target), shop):
        if loaded is shop:
            loaded.reload(target)
        catalogue = loaded.parts.catalogue
        assert {i: bool(f) for i, f in zip(catalogue.ids.tolist(), catalogue.in_stock)} == flags
        assert {i: int(u) for i, u in zip(catalogue.ids.tolist(), catalogue.stock)} == units
        assert all(loaded.product(p)["in_stock"] == flags[p] for p in went_out + came_back + sold_out + restocked)
        wanted_out = {p for p, f in flags.items() if not f}
        for user in ("u00001", "u00002", "nobody"):
            assert not wanted_out & set(loaded.recommend(user, 50).items.tolist())
        if loaded.has_search:
            n = len(flags)
            assert set(loaded.search("", k=n, filters={"in_stock": False}).items.tolist()) == wanted_out
            assert set(loaded.search("", k=n, filters={"in_stock": True}).items.tolist()) == set(flags) - wanted_out
            assert set(loaded.search("", k=n).items.tolist()) == set(flags) - wanted_out
            assert {p["id"]: p["in_stock"] for p in loaded.parts.search.products()} == flags


def test_save_load_equal_answers(shop, tmp_path):
    target = tmp_path / "shop"
    shop.save(target)
    manifest = json.loads((target / "manifest.json").read_text())
    assert manifest["type"] == "Shop"
    meta = manifest["meta"]
    assert meta["config"]["n_segments"] == 4 and meta["reports"]["evaluation"]["models"]
    assert {"tables.shoprec", "interactions.shoprec", "recommender.shoprec"} <= set(manifest["files"])
    loaded = shoprec.Shop.load(target)
    assert shoprec.load(target).__class__ is shoprec.Shop
    for user in ["u00001", "u00002", "nobody"]:
        for catalogue in ("products", "coupons"):
            a, b = shop.recommend(user, 7, catalogue=catalogue), loaded.recommend(user, 7, catalogue=catalogue)
            assert a.to_list() == b.to_list() and (a.part, a.source, a.reason) == (b.part, b.source, b.reason)
    item = shop.parts.interactions.item_ids[5]
    assert shop.similar(item, 5).to_list() == loaded.similar(item, 5).to_list()
    assert shop.restock_report(7) == loaded.restock_report(7)
    assert shop.evaluate() == loaded.evaluate()
    # The model files are memory-mapped, not copied: their arrays are read-only views of a map.
    import mmap

    values = loaded.parts.interactions.values
    base = values
    while getattr(base, "base", None) is not None:
        base = base.base
    assert not values.flags.writeable and isinstance(getattr(base, "obj", base), mmap.mmap)
    # Saving over it replaces it atomically; reload switches.
    shop.save(target)
    loaded.reload()
    assert loaded.recommend("u00001", 5).to_list() == shop.recommend("u00001", 5).to_list()


def test_load_errors(tmp_path):
    with pytest.raises(FileNotFoundError):
        shoprec.Shop.load(tmp_path / "missing")
    (tmp_path / "x").mkdir()
    with pytest.raises(shoprec.ModelFileError):
        shoprec.Shop.load(tmp_path / "x")


def test_build_errors(data):
    with pytest.raises(shoprec.InvalidArgumentError, match="no column"):
        shoprec.Shop.build(data.products, data.events.rename(columns={"user": "shopper"}), config=CONFIG, progress=False)
    with pytest.raises(shoprec.InvalidArgumentError, match="unique"):
        shoprec.Shop.build(pd.concat([data.products, data.products.head(1)]), data.events, config=CONFIG, progress=False)
    with pytest.raises(shoprec.InvalidArgumentError, match="unknown config"):
        shoprec.Shop.build(data.products, data.events, config={"n_segmentz": 3}, progress=False)
    with pytest.raises(shoprec.InvalidArgumentError, match="together"):
        shoprec.Shop.build(data.products, data.events, config=CONFIG, coupons=data.coupons, progress=False)


def test_search_unavailable_or_works(shop):
    if not shop.has_search:
        with pytest.raises(shoprec.UnavailableError, match="search is not available"):
            shop.search("phone")
    else:
        results = shop.search("phone", k=5)
        assert len(results) > 0


def test_stats_count_calls(data):
    shop = shoprec.Shop.build(data.products, data.events, config=dict(CONFIG, evaluate=False), progress=False)
    for _ in range(3):
        shop.recommend("nobody", 3)
    with pytest.raises(shoprec.UnknownIdError):
        shop.similar("nope")
    stats = shop.stats()
    assert stats["methods"]["recommend"]["calls"] == 3
    assert stats["methods"]["recommend"]["fallbacks"] == {"unknown_user": 3}
    assert stats["methods"]["similar"]["errors"] == 1
    assert stats["methods"]["recommend"]["latency_buckets"][-1][1] == 3
    with pytest.raises(shoprec.UnavailableError):
        shop.evaluate()
    with pytest.raises(shoprec.UnavailableError):
        shop.restock_report()
    with pytest.raises(shoprec.UnavailableError):
        shop.recommend("u00001", 3, catalogue="coupons")


def _ratings_shop_data(seed=7):
    rng = np.random.default_rng(seed)
    n_users, n_items, n = 80, 60, 2400
    products = pd.DataFrame({"id": np.arange(n_items), "title": [f"film {i}" for i in range(n_items)],
                             "category": [f"genre{i % 4}" for i in range(n_items)]})
    # Users and items with their own leanings, so the biases (the baseline) carry signal.
    users, items = rng.integers(n_users, size=n), rng.integers(n_items, size=n)
    raw = 3.0 + rng.normal(0, 0.8, n_users)[users] + rng.normal(0, 0.8, n_items)[items] + rng.normal(0, 0.5, n)
    ratings = pd.DataFrame({"user": users, "item": items, "rating": np.clip(np.round(raw * 2) / 2, 0.5, 5.0),
                            "timestamp": 1_000_000 + rng.permutation(n) * 100})
    return products, ratings


def test_a_ratings_shop_uses_itemknn_with_baselines():
    products, ratings = _ratings_shop_data()
    config = {"rating": "rating", "event": None, "keywords": False, "search": False, "n_segments": 2, "drop_bots": False}
    shop = shoprec.Shop.build(products, ratings, config=config, progress=False)
    plain = shoprec.Shop.build(products, ratings, config=dict(config, baseline=False, evaluate=False), progress=False)
    assert shop.parts.recommender.baseline and not plain.parts.recommender.baseline
    inter = shop.parts.interactions
    # The reference: the same ItemKNN fitted by hand with and without baselines (KNNBaseline
    # against KNNWithMeans predictions); the ranking does not depend on it.
    with_b = shoprec.ItemKNN(50, similarity="cosine", shrinkage=10.0, baseline=True).fit(inter)
    without = shoprec.ItemKNN(50, similarity="cosine", shrinkage=10.0).fit(inter)
    differ = 0
    for user in inter.user_ids[:20].tolist():
        recs = shop.recommend(user, 5)
        if recs.part != "itemknn":
            continue
        item = recs.items[0]
        got = shop.explain(user, item)["predicted_rating"]
        assert got == pytest.approx(with_b.predict(user, item), abs=1e-4)
        assert plain.explain(user, item)["predicted_rating"] == pytest.approx(without.predict(user, item), abs=1e-4)
        differ += abs(with_b.predict(user, item) - without.predict(user, item)) > 1e-3
        assert recs.to_list() == plain.recommend(user, 5).to_list()
    assert differ > 0
    # evaluate(): the held-out ratings' RMSE / MAE of that ItemKNN and of the baseline alone,
    # against numpy on the same split (each shopper's latest rating held out).
    accuracy = shop.evaluate()["rating_accuracy"]
    train, test = shoprec.evaluate.leave_last_n(inter, 1)
    model = shoprec.ItemKNN(50, similarity="cosine", shrinkage=10.0, baseline=True).fit(train)
    users, items = test.user_ids[test.users], test.item_ids[test.items]
    errors = np.array([model.predict(u, i) for u, i in zip(users.tolist(), items.tolist())]) - test.values
    assert accuracy["ItemKNN (baseline=True)"]["rmse"] == pytest.approx(np.sqrt(np.mean(errors ** 2)), abs=1e-4)
    assert accuracy["ItemKNN (baseline=True)"]["mae"] == pytest.approx(np.mean(np.abs(errors)), abs=1e-4)
    assert set(accuracy) == {"ItemKNN (baseline=True)", "Baseline"}
    # A shop of events has no ratings to predict: no predicted rating, no rating accuracy.
    assert "predicted_rating" not in shoprec.Shop.build(
        products, ratings.drop(columns="rating").assign(event="view"),
        config={"keywords": False, "search": False, "n_segments": 2, "evaluate": False, "drop_bots": False},
        progress=False).explain(int(ratings["user"].iloc[0]), int(ratings["item"].iloc[0]))
