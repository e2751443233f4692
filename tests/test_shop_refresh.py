"""Shop.record_event / Shop.refresh: the refreshed shop answers as a shop whose models were
updated directly and as an ItemKNN refitted on all the interactions; concurrent readers see
the old or the new answers, never an error; save after refresh then load answers the same."""

import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import pytest

import shoprec
from shoprec import Interactions, ItemKNN, Popular
from shoprec.datasets import demo_shop
from shoprec.errors import DTypeError, InvalidArgumentError

CONFIG = {"evaluate": False, "n_segments": 3}


@pytest.fixture(scope="module")
def data():
    return demo_shop(n_users=150, n_products=300, seed=0)


@pytest.fixture(scope="module")
def saved(data, tmp_path_factory):
    shop = shoprec.Shop.build(data.products, data.events, config=CONFIG, progress=False)
    target = tmp_path_factory.mktemp("refresh") / "shop"
    shop.save(target)
    return target


def new_events(shop, data, seed=1, n=120):
    """Old and new shoppers, repeated pairs, products without events yet, unknown products."""
    rng = np.random.default_rng(seed)
    inter = shop.parts.interactions
    old_users = inter.user_ids.tolist()
    untouched = sorted(set(data.products["id"]) - set(inter.item_ids.tolist()))
    catalogue = data.products["id"].tolist()
    start = int(pd.Timestamp(data.events["timestamp"].max()).timestamp()) + 60
    rows = []
    for n_event in range(n):
        user = old_users[rng.integers(len(old_users))] if rng.random() < 0.7 else f"new-{rng.integers(8)}"
        draw = rng.random()
        if draw < 0.1 and untouched:
            item = untouched[rng.integers(len(untouched))]
        elif draw < 0.15:
            item = f"missing-{rng.integers(3)}"
        else:
            item = catalogue[rng.integers(len(catalogue))]
        event = ["view", "cart", "purchase"][rng.integers(3)]
        rows.append((user, item, event, start + n_event))
    # A pair seen at build, seen again.
    first = inter.user_ids[inter.users[0]], inter.item_ids[inter.items[0]]
    rows.append((first[0], first[1], "purchase", start + n + 1))
    return rows


def as_interactions(rows, config):
    frame = pd.DataFrame(rows, columns=[config.user, config.item, config.event, config.timestamp])
    return Interactions.from_pandas(frame, user=config.user, item=config.item, event=config.event,
                                    timestamp=config.timestamp, weights=dict(config.event_weights))


def test_refresh_equals_direct_update_and_refit(saved, data):
    shop = shoprec.Shop.load(saved)
    before = shop.parts
    rows = new_events(shop, data)
    for row in rows:
        shop.record_event(*row)
    assert shop.pending_events == len(rows)
    report = shop.refresh()
    after = shop.parts
    assert shop.pending_events == 0

    known = [r for r in rows if r[1] in set(data.products["id"])]
    old_users = set(before.interactions.user_ids.tolist())
    old_items = set(before.interactions.item_ids.tolist())
    assert report["events"] == len(rows)
    assert report["ignored_unknown_products"] == len(rows) - len(known) > 0
    assert report["applied"] == len(known)
    assert report["new_shoppers"] == len({r[0] for r in known} - old_users) > 0
    assert report["new_products"] == len({r[1] for r in known} - old_items) > 0

    # The merged interactions: the old ones followed by the new, as one from_arrays call.
    config = before.config
    new = as_interactions(known, config)
    old = before.interactions
    reference = Interactions.from_arrays(
        np.concatenate([old.user_ids[old.users], new.user_ids[new.users]]),
        np.concatenate([old.item_ids[old.items], new.item_ids[new.items]]),
        np.concatenate([old.values, new.values]), timestamps=np.concatenate([old.timestamps, new.timestamps]))
    assert np.array_equal(after.interactions.user_ids, reference.user_ids)
    assert np.array_equal(after.interactions.item_ids, reference.item_ids)
    assert (after.interactions.to_csr() != reference.to_csr()).nnz == 0

    # Models updated directly: the same segments, the same popular-in-category answers.
    categories = dict(zip(data.products["id"], data.products["category"]))
    segments = before.segments.update(new)
    users = after.interactions.user_ids.tolist() + ["stranger"]
    assert [shop.segment_of(u) for u in users] == [segments.segment_of(u) for u in users]
    popular = Popular(within="segment").fit(reference, categories, segments=segments)
    for category in sorted(set(categories.values())):
        got = after.popular.recommend(None, 10, category=category)
        want = popular.recommend(None, 10, category=category)
        assert got.items.tolist() == want.items.tolist(), category
        np.testing.assert_allclose(got.scores, want.scores)
    # Products with their first events are listed in their category (a refit's categories).
    first = sorted({r[1] for r in known} - old_items)
    for item in first:
        assert item in after.popular.recommend(None, 300, category=categories[item]).items.tolist()

    # ItemKNN refitted on all the interactions: the same recommendations and neighbours.
    refit = ItemKNN(config.k_neighbours, similarity=config.similarity, shrinkage=config.shrinkage).fit(
        reference, fallback=popular)
    for user in users:
        got = shop.recommend(user, 10, include_out_of_stock=True)
        want = refit.recommend(user, 10)
        assert got.items.tolist() == want.items.tolist(), user
        np.testing.assert_allclose(got.scores, want.scores, rtol=1e-6)
        assert got.reason == want.reason
    for item in after.interactions.item_ids.tolist():
        got = shop.similar(item, 5, include_out_of_stock=True)
        if got.part == "similar-items":
            want = refit.similar_items(item, 5)
            assert got.items.tolist() == want.items.tolist(), item
            np.testing.assert_allclose(got.scores, want.scores, rtol=1e-6)

    # Search: popularity is the products' reach over all shoppers in the updated segments.
    if after.search is not None:
        reach = dict(segments.popular_items(-1, k=len(segments.item_ids)))
        for product in after.search.products():
            assert product["popularity"] == pytest.approx(reach.get(product["id"], 0.0), rel=1e-6)
        assert after.search.recommender is after.recommender
        assert after.search is not before.search


def test_purchases_take_stock_and_sell_out(saved, data):
    shop = shoprec.Shop.load(saved)
    before = shop.parts
    stock = dict(zip(data.products["id"], data.products["stock"]))
    product = min((p for p, s in stock.items() if s > 0), key=lambda p: (stock[p], p))
    other = max(stock, key=lambda p: (stock[p], p))
    for _ in range(int(stock[product])):
        shop.record_event("buyer", product, "purchase")
    shop.record_event("buyer", other, "purchase")
    shop.record_event("buyer", other, "view")
    report = shop.refresh()
    assert report["out_of_stock"] == 1
    assert shop.product(product)["in_stock"] is False or not shop.product(product)["in_stock"]
    position = shop.parts.catalogue.position(product)
    assert shop.parts.catalogue.stock[position] == 0
    assert shop.parts.catalogue.stock[shop.parts.catalogue.position(other)] == stock[other] - 1
    assert product not in shop.recommend("buyer", 300).items.tolist()
    if shop.has_search:
        flags = {p["id"]: p["in_stock"] for p in shop.parts.search.products()}
        assert flags[product] is False
        # The old parts' index was not written to.
        assert {p["id"]: p["in_stock"] for p in before.search.products()}[product] is True
        title = data.products.set_index("id").loc[product, "title"]
        assert product not in shop.search(title, k=50).items.tolist()
        assert product in shop.search(title, k=50, include_out_of_stock=True).items.tolist()


def test_record_event_checks_and_empty_refresh(saved):
    shop = shoprec.Shop.load(saved)
    with pytest.raises(InvalidArgumentError):
        shop.record_event("u1", "p00001", "teleport")
    with pytest.raises(DTypeError):
        shop.record_event(17, "p00001", "view")
    with pytest.raises(DTypeError):
        shop.record_event("u1", "p00001", "view", timestamp="not a time")
    assert shop.pending_events == 0
    parts = shop.parts
    assert shop.refresh()["events"] == 0
    assert shop.parts is parts
    shop.record_event("u1", "no-such-product", "view")
    report = shop.refresh()
    assert (report["events"], report["applied"], report["ignored_unknown_products"]) == (1, 0, 1)
    assert shop.parts is parts


def test_failed_refresh_keeps_the_events(saved, monkeypatch):
    shop = shoprec.Shop.load(saved)
    shop.record_event("u1", "p00001", "view")
    parts = shop.parts
    import shoprec.shop.serve as serve

    def broken(parts, events):
        raise RuntimeError("boom")

    monkeypatch.setattr(serve, "refreshed_parts", broken)
    with pytest.raises(RuntimeError):
        shop.refresh()
    assert shop.pending_events == 1 and shop.parts is parts
    monkeypatch.undo()
    assert shop.refresh()["applied"] == 1


def workload(shop, data):
    users = sorted(set(data.events["user"]))[:12] + ["new-1", "new-3", "stranger"]
    items = sorted(set(data.events["item"]))[:8]
    work = [(f"recommend {u}", lambda u=u: shop.recommend(u, 10)) for u in users]
    work += [(f"similar {i}", lambda i=i: shop.similar(i, 5)) for i in items]
    if shop.has_search:
        for query in ("tea", "running shoes", "", "coffee"):
            for user in (None, users[0], "new-1"):
                work.append((f"search {query!r} {user}", lambda q=query, u=user: shop.search(q, user=u, k=10)))
    return work


def key(answer):
    return [answer.items.tolist(), np.round(np.asarray(answer.scores, dtype=np.float64), 5).tolist(),
            getattr(answer, "part", None), getattr(answer, "reason", None), getattr(answer, "fallback", None)]


def test_refresh_under_concurrent_reads(saved, data):
    reference = shoprec.Shop.load(saved)
    rows = new_events(reference, data, seed=2)
    old = {name: key(fn()) for name, fn in workload(reference, data)}
    for row in rows:
        reference.record_event(*row)
    reference.refresh()
    new = {name: key(fn()) for name, fn in workload(reference, data)}
    assert old != new

    shop = shoprec.Shop.load(saved)
    for row in rows:
        shop.record_event(*row)
    work = workload(shop, data)
    done = threading.Event()
    started = threading.Barrier(9)

    def reader(seed):
        bad, n = [], 0
        started.wait()
        while not done.is_set() or n < 50:
            name, fn = work[(seed * 7919 + n * 31) % len(work)]
            got = key(fn())
            if got != old[name] and got != new[name]:
                bad.append((name, got, old[name], new[name]))
            n += 1
        return bad

    with ThreadPoolExecutor(8) as pool:
        futures = [pool.submit(reader, s) for s in range(8)]
        started.wait()
        shop.refresh()
        done.set()
        bad = [b for f in futures for b in f.result()]
    assert bad == []
    assert {name: key(fn()) for name, fn in work} == new
    assert sum(m["errors"] for m in shop.stats()["methods"].values()) == 0


def test_save_after_refresh_then_load(saved, data, tmp_path):
    shop = shoprec.Shop.load(saved)
    for row in new_events(shop, data, seed=3):
        shop.record_event(*row)
    shop.refresh()
    target = tmp_path / "refreshed"
    shop.save(target)
    loaded = shoprec.Shop.load(target)
    assert {name: key(fn()) for name, fn in workload(loaded, data)} == {name: key(fn()) for name, fn in workload(shop, data)}
    users = shop.parts.interactions.user_ids.tolist()
    assert [loaded.segment_of(u) for u in users] == [shop.segment_of(u) for u in users]
    assert np.array_equal(loaded.parts.catalogue.stock, shop.parts.catalogue.stock)
    assert loaded.reports["refresh"]["count"] == 1
    # And the loaded shop keeps refreshing.
    loaded.record_event(users[0], data.products["id"].iloc[0], "cart")
    assert loaded.refresh()["applied"] == 1


def test_refresh_of_a_ratings_shop_with_integer_ids():
    """A MovieLens-like shop: integer ids, ratings; a re-rated pair takes the latest rating."""
    rng = np.random.default_rng(5)
    n_users, n_items, n = 60, 80, 1500
    products = pd.DataFrame({"id": np.arange(n_items), "title": [f"film {i}" for i in range(n_items)],
                             "category": [f"genre{i % 4}" for i in range(n_items)]})
    ratings = pd.DataFrame({"user": rng.integers(n_users, size=n), "item": rng.integers(n_items - 5, size=n),
                            "rating": rng.integers(1, 11, size=n) / 2.0,
                            "timestamp": 1_000_000 + rng.permutation(n) * 100})
    config = {"rating": "rating", "event": None, "evaluate": False, "keywords": False, "n_segments": 2,
              "similarity": "pearson", "shrinkage": 0.0}
    shop = shoprec.Shop.build(products, ratings, config=config, progress=False)
    before = shop.parts
    with pytest.raises(InvalidArgumentError):
        shop.record_event(1, 2, "view")
    with pytest.raises(DTypeError):
        shop.record_event("1", 2, 4.0)
    pair = (int(ratings["user"].iloc[0]), int(ratings["item"].iloc[0]))
    rows = [(pair[0], pair[1], 0.5, 3_000_000), (n_users + 1, 3, 5.0, 3_000_001), (2, n_items - 1, 4.5, 3_000_002),
            (3, n_items - 1, 4.0, 3_000_003), (3, 10_000, 4.0, 3_000_004)]
    for row in rows:
        shop.record_event(*row)
    report = shop.refresh()
    assert (report["applied"], report["ignored_unknown_products"], report["new_shoppers"],
            report["new_products"]) == (4, 1, 1, 1)
    old = before.interactions
    known = [r for r in rows if r[1] < n_items]
    reference = Interactions.from_arrays(
        np.concatenate([old.user_ids[old.users], [r[0] for r in known]]),
        np.concatenate([old.item_ids[old.items], [r[1] for r in known]]),
        np.concatenate([old.values, [r[2] for r in known]]),
        timestamps=np.concatenate([old.timestamps, [r[3] for r in known]]))
    assert (shop.parts.interactions.to_csr() != reference.to_csr()).nnz == 0
    assert shop.parts.interactions.to_csr()[reference.user_map.get(pair[0]), reference.item_map.get(pair[1])] == 0.5
    cfg = before.config
    refit = ItemKNN(cfg.k_neighbours, similarity=cfg.similarity, shrinkage=cfg.shrinkage).fit(reference)
    compared = 0
    for user in reference.user_ids.tolist():
        got = shop.recommend(user, 10, include_out_of_stock=True)
        if got.part == "itemknn":
            want = refit.recommend(user, 10)
            assert got.items.tolist() == want.items.tolist(), user
            np.testing.assert_allclose(got.scores, want.scores, rtol=1e-6)
            compared += 1
    assert compared > n_users // 2
