"""The serving hot path of a Shop (shoprec.shop.plan: one Rust call per recommend / similar)
against the general path it short-cuts (ItemKNN.recommend with the out-of-stock ids excluded,
ItemKNN.similar_items, the popular fallbacks) on every shopper and product, and the two Rust
calls it uses against the calls and numpy code they replace."""

import numpy as np
import pytest

import shoprec
from shoprec.datasets import demo_shop
from shoprec.shop.plan import ServingPlan


@pytest.fixture(scope="module")
def shop():
    data = demo_shop(n_users=300, n_products=400, seed=3)
    return shoprec.Shop.build(data.products, data.events, config={"n_segments": 3, "evaluate": False,
                                                                  "keywords": False, "search": False},
                              progress=False)


def answer_key(answer):
    return (answer.to_list(), answer.items.dtype, answer.scores.dtype, answer.part, answer.source, answer.reason,
            answer.segment)


def general_recommend(shop, user, k, include_out_of_stock):
    """The general path, as Shop.recommend answered before the hot path."""
    return shop._recommend_products(shop.parts, user, k, None, include_out_of_stock)


def naive_similar(shop, item, k, include_out_of_stock):
    """ItemKNN's stored neighbour row of ``item``, out-of-stock products dropped, first ``k``."""
    state = shop.parts.recommender._fitted()
    position = state.items.get(item)
    indptr, indices, data = state.predict_neighbours
    row = np.asarray(indices[indptr[position]:indptr[position + 1]])
    sims = np.asarray(data[indptr[position]:indptr[position + 1]])
    if not include_out_of_stock:
        keep = ~np.isin(state.items.ids[row], shop.parts.catalogue.out_of_stock_ids())
        row, sims = row[keep], sims[keep]
    return list(zip(state.items.ids[row[:k]].tolist(), sims[:k].astype(np.float32).tolist()))


@pytest.mark.parametrize("k", [1, 10, 10**6])
@pytest.mark.parametrize("include_out_of_stock", [False, True])
def test_recommend_equals_general_path_for_every_shopper(shop, k, include_out_of_stock):
    users = list(shop.parts.interactions.user_ids) + ["stranger", 12345]
    plan = ServingPlan(shop.parts)
    fast_hits = 0
    for user in users:
        want = general_recommend(shop, user, k, include_out_of_stock)
        got = shop.recommend(user, k, include_out_of_stock=include_out_of_stock)
        assert answer_key(got) == answer_key(want), user
        fast = plan.recommend(user, k, include_out_of_stock)
        # The hot path answers exactly the shoppers ItemKNN answers itself; the rest fall back.
        assert (fast is None) == want.is_fallback, user
        if fast is not None:
            fast_hits += 1
            assert list(zip(fast[0].tolist(), fast[1].tolist())) == want.to_list()
    assert fast_hits > len(users) // 2
    if not include_out_of_stock:
        out = set(shop.parts.catalogue.out_of_stock_ids().tolist())
        assert out, "the demo shop has out-of-stock products"
        assert not out & {i for u in users[:50] for i in shop.recommend(u, k).items.tolist()}


@pytest.mark.parametrize("k", [1, 5, 10**6])
@pytest.mark.parametrize("include_out_of_stock", [False, True])
def test_similar_equals_general_path_for_every_product(shop, k, include_out_of_stock):
    knn = shop.parts.recommender
    oos = None if include_out_of_stock else shop.parts.catalogue.out_of_stock_ids()
    for item in shop.parts.catalogue.ids.tolist():
        got = shop.similar(item, k, include_out_of_stock=include_out_of_stock)
        if knn._fitted().items.get(item) >= 0 and len(knn.similar_items(item, k, exclude=oos)):
            assert (got.part, got.source, got.reason) == ("similar-items", "model", None)
            assert got.to_list() == knn.similar_items(item, k, exclude=oos).to_list()
            assert got.to_list() == naive_similar(shop, item, k, include_out_of_stock)
            assert got.scores.dtype == np.float32 and got.items.dtype == knn.item_ids.dtype
        else:
            assert (got.part, got.reason) == ("popular-in-category", "no_history")


def test_stock_changes_reach_the_hot_path(shop, tmp_path):
    shop.save(tmp_path / "shop")
    copy = shoprec.Shop.load(tmp_path / "shop")
    user = next(u for u in copy.parts.interactions.user_ids.tolist() if not copy.recommend(u, 5).is_fallback)
    first = copy.recommend(user, 5)
    top = first.items[0].item() if isinstance(first.items[0], np.generic) else first.items[0]
    assert copy.set_stock([top], False) == 1
    after = copy.recommend(user, 5)
    assert top not in after.items.tolist()
    assert answer_key(after) == answer_key(general_recommend(copy, user, 5, False))
    similar_to = copy.similar(top, 5, include_out_of_stock=True)
    assert similar_to.part == "similar-items"
    neighbour = similar_to.items[0].item() if isinstance(similar_to.items[0], np.generic) else similar_to.items[0]
    copy.set_stock([neighbour], False)
    assert neighbour not in copy.similar(top, 5).items.tolist()
    copy.set_stock([top, neighbour], True)
    assert copy.recommend(user, 5).to_list() == first.to_list()


def test_monitor_counts_the_hot_path(shop):
    fresh = shoprec.Shop(shop.parts)
    user = shop.parts.interactions.user_ids[0]
    for _ in range(3):
        fresh.recommend(user, 3)
    fresh.similar(shop.parts.interactions.item_ids[0], 3)
    with pytest.raises(shoprec.DTypeError):
        fresh.recommend(user, "three")
    methods = fresh.stats()["methods"]
    assert methods["recommend"]["calls"] == 4 and methods["recommend"]["errors"] == 1
    assert methods["similar"]["calls"] == 1 and methods["similar"]["errors"] == 0
    assert methods["recommend"]["latency_buckets"][-1][1] == 4


@pytest.mark.parametrize("detach_min_work", [0, 1, 10**9])
def test_rust_calls_against_the_calls_they_replace(shop, detach_min_work):
    state = shop.parts.recommender._fitted()
    index = state.index
    oos = np.unique(state.items.known_indices(shop.parts.catalogue.out_of_stock_ids(), "oos")).astype(np.int32)
    rng = np.random.default_rng(0)
    for user in list(range(-1, state.shape[0], 7)):
        for exclude in (None, oos):
            ids, scores = index.recommend(user, 10, None, exclude, True)
            valid = ids >= 0
            got_ids, got_scores = index.recommend_user(user, 10, exclude, detach_min_work)
            assert got_ids.dtype == np.int32 and got_scores.dtype == np.float32
            assert np.array_equal(got_ids, ids[valid]) and np.array_equal(got_scores, scores[valid])
    indptr, indices, data = state.predict_neighbours
    for item in rng.choice(state.shape[1], 40, replace=False).tolist():
        row, sims = np.asarray(indices[indptr[item]:indptr[item + 1]]), np.asarray(data[indptr[item]:indptr[item + 1]])
        for exclude in (None, oos, np.unique(row[::2]).astype(np.int32)):
            keep = np.ones(len(row), bool) if exclude is None else ~np.isin(row, exclude)
            got_ids, got_sims = index.similar_items(item, 7, exclude, detach_min_work)
            assert np.array_equal(got_ids, row[keep][:7]) and np.array_equal(got_sims, sims[keep][:7])


def test_rust_calls_refuse_bad_arguments(shop):
    state = shop.parts.recommender._fitted()
    index = state.index
    n_users, n_items = state.shape
    for user in (-2, n_users):
        with pytest.raises(shoprec.InvalidArgumentError, match="user"):
            index.recommend_user(user, 5)
    with pytest.raises(shoprec.InvalidArgumentError, match="exclude"):
        index.recommend_user(0, 5, np.array([n_items], np.int32))
    with pytest.raises(shoprec.InvalidArgumentError, match="k"):
        index.recommend_user(0, 0)
    for item in (-1, n_items):
        with pytest.raises(shoprec.InvalidArgumentError, match="item"):
            index.similar_items(item, 5)
    with pytest.raises(shoprec.InvalidArgumentError, match="sorted"):
        index.similar_items(0, 5, np.array([3, 1], np.int32))
    with pytest.raises(shoprec.InvalidArgumentError, match="k"):
        index.similar_items(0, 0)
    with pytest.raises(shoprec.InvalidArgumentError, match="contiguous"):
        index.similar_items(0, 5, np.arange(10, dtype=np.int32)[::2])
    inter = shop.parts.interactions
    user_knn = shoprec.UserKNN(10).fit(inter)
    with pytest.raises(shoprec.InvalidArgumentError, match="user-based"):
        user_knn._fitted().index.similar_items(0, 5)
