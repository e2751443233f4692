"""Real-time updates: ``model.update(new_events)`` equals a refit on all the events, the merge
of interactions equals building them from all the raw events, and the subset kernel gives the
rows of the full kernel."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shoprec import Baseline, InterestSegments, Interactions, ItemKNN, Popular, UserKNN
from shoprec.errors import DTypeError, InvalidArgumentError
from shoprec.kernels import pearson_neighbours, pearson_neighbours_rows

SIMILARITIES = ("pearson", "cosine", "adjusted_cosine", "cosine_corated")


# ------------------------------------------------------------------ data
def events(rng, n, n_users, n_items, *, strings=False, t0=0):
    users = rng.integers(0, n_users, n)
    items = rng.integers(0, n_items, n)
    ratings = rng.integers(1, 11, n) / 2.0
    stamps = t0 + rng.integers(0, 1000, n)
    if strings:
        users = np.array([f"u{u}" for u in users])
        items = np.array([f"i{i}" for i in items])
    return users, items, ratings, stamps


def build(ev, *, stamps=True, implicit=False, combine=None, cap=None):
    users, items, ratings, ts = ev
    if implicit:
        names = np.array(["view", "cart", "purchase", "favorite"])[(ratings * 2).astype(int) % 4]
        return Interactions.from_arrays(users, items, events=names, timestamps=ts if stamps else None,
                                        combine=combine, cap=cap)
    return Interactions.from_arrays(users, items, ratings, timestamps=ts if stamps else None, combine=combine, cap=cap)


def concat(a, b):
    return tuple(np.concatenate([x, y]) for x, y in zip(a, b))


def split_stream(rng, n_old=400, n_new=40, n_users=40, n_items=50, new_ids=True, strings=False):
    """Old events, then new ones that bring new users and items (ids below, between and above
    the old ones) and repeat old pairs."""
    old = events(rng, n_old, n_users, n_items, strings=strings)
    span = (n_users + 6, n_items + 6) if new_ids else (n_users, n_items)
    new = events(rng, n_new, *span, strings=strings, t0=500)
    if new_ids and not strings:
        # Ids interleaving with the old ones: negative and fractional positions sort first.
        new[0][:3] = [-1, -2, n_users + 10]
        new[1][:3] = [-3, n_items + 20, -1]
    # Repeat some old pairs with other values.
    new[0][-5:], new[1][-5:] = old[0][:5], old[1][:5]
    return old, new


def assert_same_model(got, want, users, items):
    gs, ws = got._fitted(), want._fitted()
    np.testing.assert_array_equal(got.user_ids, want.user_ids)
    np.testing.assert_array_equal(got.item_ids, want.item_ids)
    for name in ("history", "neighbours", "predict_neighbours"):
        if hasattr(ws, name):
            for g, w in zip(getattr(gs, name), getattr(ws, name)):
                np.testing.assert_array_equal(g, w, err_msg=name)
    for name in ("popularity", "order", "history_values", "b_user", "b_item", "user_means", "item_means",
                 "category_codes", "category_names", "segment_scores", "segment_rows"):
        if hasattr(ws, name):
            np.testing.assert_array_equal(getattr(gs, name), getattr(ws, name), err_msg=name)
    for name in ("mu", "global_mean", "scale", "shape"):
        if hasattr(ws, name):
            assert getattr(gs, name) == getattr(ws, name), name
    a = got.recommend_many(users, 7)
    b = want.recommend_many(users, 7)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x.items, y.items)
        np.testing.assert_array_equal(x.scores, y.scores)
    for user in users[:5]:
        x, y = got.recommend(user, 5, exclude_seen=False), want.recommend(user, 5, exclude_seen=False)
        np.testing.assert_array_equal(x.items, y.items)
        np.testing.assert_array_equal(x.scores, y.scores)
    pu = np.repeat(users, len(items))
    pi = np.tile(items, len(users))
    np.testing.assert_array_equal(got.predict_many(pu, pi), want.predict_many(pu, pi))


def all_ids(inter, extra_users=("nobody",)):
    users = np.concatenate([np.asarray(inter.user_ids, dtype=object), np.array(extra_users, dtype=object)])
    return users, np.asarray(inter.item_ids, dtype=object)


# ------------------------------------------------------------------ merge
@pytest.mark.parametrize("combine", ["max", "sum", "last"])
@pytest.mark.parametrize("stamps", [True, False])
@pytest.mark.parametrize("strings", [False, True])
def test_merge_equals_building_from_all_raw_events(rng, combine, stamps, strings):
    old, new = split_stream(rng, strings=strings)
    implicit = combine != "last"
    kw = dict(stamps=stamps, implicit=implicit, combine=combine, cap=7.0 if combine == "sum" else None)
    merged = build(old, **kw).merge(build(new, **kw), combine=combine, cap=kw["cap"])
    want = build(concat(old, new), **kw)
    np.testing.assert_array_equal(merged.user_ids, want.user_ids)
    np.testing.assert_array_equal(merged.item_ids, want.item_ids)
    np.testing.assert_array_equal(merged.users, want.users)
    np.testing.assert_array_equal(merged.items, want.items)
    np.testing.assert_array_equal(merged.values, want.values)
    if stamps:
        np.testing.assert_array_equal(merged.timestamps, want.timestamps)
    assert merged.explicit == want.explicit


def test_merge_last_keeps_the_latest_by_timestamp():
    old = Interactions.from_arrays([1, 1], ["a", "b"], [5.0, 3.0], timestamps=[100, 100])
    new = Interactions.from_arrays([1, 1], ["a", "b"], [1.0, 2.0], timestamps=[50, 100])
    merged = old.merge(new)
    np.testing.assert_array_equal(merged.values, [5.0, 2.0])  # older new value loses, equal time wins
    np.testing.assert_array_equal(merged.timestamps, [100, 100])


def test_merge_refuses_what_it_cannot_continue():
    old = Interactions.from_arrays([1, 2], [1, 2], [1.0, 2.0], combine="mean")
    with pytest.raises(InvalidArgumentError, match="mean"):
        old.merge(Interactions.from_arrays([1], [1], [3.0]), combine="mean")
    # New pairs only: fine.
    assert len(old.merge(Interactions.from_arrays([3], [1], [3.0]), combine="mean")) == 3
    with pytest.raises(InvalidArgumentError, match="implicit"):
        old.merge(Interactions.from_arrays([1], [1]))
    with pytest.raises(InvalidArgumentError, match="timestamps"):
        old.merge(Interactions.from_arrays([1], [1], [3.0], timestamps=[4]))
    with pytest.raises(DTypeError):
        old.merge([(1, 1, 3.0)])
    with pytest.raises(InvalidArgumentError, match="combine"):
        old.merge(Interactions.from_arrays([1], [1], [3.0]), combine="median")


def test_merge_of_mixed_ids_appends_the_new_ones():
    old = Interactions.from_arrays([3, 1], [1, 2], [1.0, 2.0])
    merged = old.merge(Interactions.from_arrays(["x", 2], [1, 1], [3.0, 4.0]))
    assert merged.user_ids.tolist() == [1, 3, "x", 2]


# ------------------------------------------------------------------ subset kernel
@pytest.mark.parametrize("similarity", SIMILARITIES)
@pytest.mark.parametrize("axis", ["items", "users"])
@pytest.mark.parametrize("min_support,shrinkage,k", [(1, 0.0, 3), (2, 5.0, 50), (3, 1.5, 1)])
def test_subset_rows_equal_rows_of_the_full_call(rng, similarity, axis, min_support, shrinkage, k):
    inter = build(events(rng, 600, 30, 60))
    matrix = inter.to_csr()
    kw = dict(axis=axis, similarity=similarity, min_support=min_support, shrinkage=shrinkage)
    full = pearson_neighbours(matrix, k, **kw)
    n = full.shape[0]
    rows = np.concatenate([rng.choice(n, 10, replace=False), [0, n - 1, 3, 3]])
    some = pearson_neighbours_rows(matrix, rows, k, **kw)
    assert some.shape == (len(rows), n)
    for j, r in enumerate(rows):
        a, b = some.indptr[j], some.indptr[j + 1]
        c, d = full.indptr[r], full.indptr[r + 1]
        np.testing.assert_array_equal(some.indices[a:b], full.indices[c:d])
        np.testing.assert_array_equal(some.data[a:b], full.data[c:d])


def test_subset_rows_refuse_bad_rows(rng):
    matrix = build(events(rng, 50, 5, 6)).to_csr()
    n_items = matrix.shape[1]
    with pytest.raises(InvalidArgumentError):
        pearson_neighbours_rows(matrix, [n_items], 3)
    with pytest.raises(InvalidArgumentError):
        pearson_neighbours_rows(matrix, [-1], 3)
    with pytest.raises(DTypeError):
        pearson_neighbours_rows(matrix, [0.5], 3)
    assert pearson_neighbours_rows(matrix, [], 3).shape == (0, n_items)


# ------------------------------------------------------------------ update == refit
KNN_CASES = [
    dict(similarity="pearson"),
    dict(similarity="pearson", shrinkage=0.0, min_support=2, baseline=True),
    dict(similarity="cosine", k_neighbours=3, max_neighbours=5),
    dict(similarity="adjusted_cosine", max_neighbours=None),
    dict(similarity="cosine_corated", k_neighbours=2, max_neighbours=2, min_k=2),
    dict(similarity="pearson_baseline", k_neighbours=5, max_neighbours=10),
    dict(similarity="pearson", k_neighbours=1, max_neighbours=1, shrinkage=2.0),
]


@pytest.mark.parametrize("model_class", [ItemKNN, UserKNN])
@pytest.mark.parametrize("params", KNN_CASES)
def test_knn_update_equals_refit(rng, model_class, params):
    old, new = split_stream(rng, n_old=900, n_new=25, n_users=60, n_items=80)
    old_inter, new_inter = build(old), build(new)
    model = model_class(**params).fit(old_inter)
    before = model.recommend_many(old_inter.user_ids[:5], 5)
    updated = model.update(new_inter)
    merged = build(concat(old, new))
    refit = model_class(**params).fit(merged)
    assert_same_model(updated, refit, *all_ids(merged))
    # The old model is untouched.
    for x, y in zip(before, model.recommend_many(old_inter.user_ids[:5], 5)):
        np.testing.assert_array_equal(x.items, y.items)
    assert len(model.item_ids) == old_inter.n_items


@pytest.mark.parametrize("model_class", [ItemKNN, UserKNN])
def test_knn_update_many_small_batches_and_the_patch_path(rng, model_class):
    # Small batches touch few rows: the patch (not the full kernel) runs, batch after batch.
    old = events(rng, 3000, 150, 200)
    model = model_class(k_neighbours=4, max_neighbours=8).fit(build(old))
    everything = old
    for step in range(4):
        batch = events(rng, 6, 160, 210, t0=2000 + 10 * step)
        model = model.update(build(batch))
        everything = concat(everything, batch)
    refit = model_class(k_neighbours=4, max_neighbours=8).fit(build(everything))
    users, items = all_ids(build(everything))
    assert_same_model(model, refit, users, items)


def test_knn_update_with_a_fallback_and_implicit_events(rng):
    old, new = split_stream(rng, n_old=600, n_new=30, n_users=40, n_items=50, strings=True)
    kw = dict(implicit=True, stamps=False)
    fallback = Popular(by="weight").fit(build(old, **kw))
    model = ItemKNN(similarity="cosine").fit(build(old, **kw), fallback=fallback)
    updated = model.update(build(new, **kw))
    merged = build(concat(old, new), **kw)
    refit = ItemKNN(similarity="cosine").fit(merged, fallback=Popular(by="weight").fit(merged))
    users, items = all_ids(merged)
    assert_same_model(updated, refit, users, items)
    assert_same_model(updated.fallback, refit.fallback, users, items)


@pytest.mark.parametrize("combine", ["sum", "max"])
def test_update_applies_the_combine_rule_to_repeated_events(rng, combine):
    old, new = split_stream(rng, n_old=500, n_new=60, n_users=30, n_items=40)
    kw = dict(implicit=True, stamps=True, combine=combine, cap=9.0 if combine == "sum" else None)
    model = UserKNN(similarity="cosine").fit(build(old, **kw))
    updated = model.update(build(new, **kw), combine=combine, cap=kw["cap"])
    merged = build(concat(old, new), **kw)
    assert_same_model(updated, UserKNN(similarity="cosine").fit(merged), *all_ids(merged))


def test_baseline_and_popular_update_equal_refit(rng):
    old, new = split_stream(rng)
    merged = build(concat(old, new))
    users, items = all_ids(merged)
    for make in (Baseline, lambda: Baseline(reg_users=0.0, n_epochs=3), Popular, lambda: Popular(by="weight")):
        updated = make().fit(build(old)).update(build(new))
        assert_same_model(updated, make().fit(merged), users, items)


def test_popular_update_with_categories(rng):
    old, new = split_stream(rng)
    old_inter = build(old)
    cats = {item: f"c{int(item) % 3}" for item in old_inter.item_ids.tolist()}
    merged = build(concat(old, new))
    extra = {item: "new" for item in merged.item_ids.tolist() if item not in cats}
    updated = Popular().fit(old_inter, categories=cats).update(build(new), categories=extra)
    refit = Popular().fit(merged, categories={**cats, **extra})
    assert_same_model(updated, refit, *all_ids(merged))
    for category in ("c1", "new"):
        np.testing.assert_array_equal(updated.recommend(-5, 8, category=category).items,
                                      refit.recommend(-5, 8, category=category).items)


def test_update_leaves_the_model_loadable(rng, tmp_path):
    import shoprec

    old, new = split_stream(rng)
    merged = build(concat(old, new))
    for model in (ItemKNN().fit(build(old)), Popular().fit(build(old)), Baseline().fit(build(old))):
        path = tmp_path / f"{type(model).__name__}.shoprec"
        model.save(path)
        loaded = shoprec.load(path)
        updated = loaded.update(build(new))  # a loaded model updates like the fitted one
        assert_same_model(updated, type(model)().fit(merged), *all_ids(merged))
        updated.save(path)
        assert_same_model(shoprec.load(path), updated, *all_ids(merged))


# ------------------------------------------------------------------ segments
def test_segments_update_assigns_new_shoppers_and_keeps_the_others(rng):
    old, new = split_stream(rng, n_old=1200, n_new=60, n_users=80, n_items=60)
    segments = InterestSegments(n_segments=3, n_components=4, seed=1).fit(build(old))
    updated = segments.update(build(new))
    merged = build(concat(old, new))
    np.testing.assert_array_equal(updated.user_ids, merged.user_ids)
    np.testing.assert_array_equal(updated.centroids, segments.centroids)
    touched = set(np.asarray(new[0]).tolist())
    for position, user in enumerate(merged.user_ids.tolist()):
        if user not in touched:
            assert updated.labels[position] == segments.segment_of(user)
    # A shopper with new events lands where assign() puts their whole (old) history ...
    csr = merged.to_csr()
    for position, user in enumerate(merged.user_ids.tolist()):
        row = csr[position]
        known = np.isin(merged.item_ids[row.indices], segments.item_ids)
        if user in touched and known.any():
            want = segments.assign(list(merged.item_ids[row.indices][known]), weights=row.data[known])
            assert updated.labels[position] == want
    # ... and the per-segment counts are those of the merged interactions: Popular accepts them.
    popular = Popular(within="segment").fit(merged, segments=updated)
    via_update = Popular(within="segment").fit(build(old), segments=segments).update(build(new))
    assert_same_model(via_update, popular, *all_ids(merged))


def test_segments_update_refreshes_centres_on_request(rng, tmp_path):
    import shoprec

    old, new = split_stream(rng, n_old=1200, n_new=300, n_users=80, n_items=60)
    segments = InterestSegments(n_segments=3, n_components=4, seed=1).fit(build(old))
    refreshed = segments.update(build(new), refresh_centres=True)
    assert refreshed.centroids.shape == segments.centroids.shape
    # Every shopper sits at the nearest refreshed centre.
    csr = build(concat(old, new)).to_csr()
    profiles, has = refreshed._profiler.profiles(csr)
    d = ((profiles[has][:, None, :] - refreshed.centroids[None]) ** 2).sum(-1)
    np.testing.assert_array_equal(refreshed.labels[has], d.argmin(1))
    assert refreshed.inertia == pytest.approx(d.min(1).sum(), rel=1e-9)
    # Saved and loaded, it still updates the same way.
    path = tmp_path / "segments.shoprec"
    segments.save(path)
    again = shoprec.load(path).update(build(new), refresh_centres=True)
    np.testing.assert_array_equal(again.labels, refreshed.labels)
    np.testing.assert_array_equal(again.centroids, refreshed.centroids)


# ------------------------------------------------------------------ random event streams
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**31 - 1),
    n_batches=st.integers(1, 3),
    model_index=st.integers(0, 5),
    k=st.integers(1, 6),
    stamps=st.booleans(),
)
def test_random_event_streams_update_equals_refit(seed, n_batches, model_index, k, stamps):
    rng = np.random.default_rng(seed)
    make = [
        lambda: ItemKNN(k_neighbours=k, max_neighbours=k + 1, similarity="pearson", shrinkage=0.0),
        lambda: ItemKNN(k_neighbours=k, max_neighbours=k, similarity="adjusted_cosine", min_support=2),
        lambda: UserKNN(k_neighbours=k, max_neighbours=2 * k, similarity="cosine_corated", baseline=True),
        lambda: UserKNN(k_neighbours=k, max_neighbours=None, similarity="cosine"),
        lambda: Baseline(),
        lambda: Popular(by="weight"),
    ][model_index]
    everything = events(rng, int(rng.integers(5, 200)), int(rng.integers(1, 15)), int(rng.integers(1, 15)))
    model = make().fit(build(everything, stamps=stamps))
    for step in range(n_batches):
        # Unknown users and items (new ids, some below the old ones), repeated pairs.
        batch = events(rng, int(rng.integers(1, 12)), 18, 18, t0=int(rng.integers(0, 1500)))
        batch[0][:1] -= 20
        model = model.update(build(batch, stamps=stamps))
        everything = concat(everything, batch)
    merged = build(everything, stamps=stamps)
    assert_same_model(model, make().fit(merged), *all_ids(merged))


@pytest.mark.parametrize("model_class", [ItemKNN, UserKNN])
@pytest.mark.parametrize("similarity", SIMILARITIES)
def test_update_patches_rows_instead_of_recomputing_all(rng, monkeypatch, model_class, similarity):
    # Sparse data (light users, a long tail of items): a small batch touches few rows, so the
    # update entry point runs (not the full kernel), and still equals the refit.
    import shoprec.kernels as kernels

    calls = {"update": 0, "full": 0}
    real_update, real_full = kernels._pearson_neighbours_update, kernels.pearson_neighbours

    def counting_update(*args, **kwargs):
        calls["update"] += 1
        return real_update(*args, **kwargs)

    def counting_full(*args, **kwargs):
        calls["full"] += 1
        return real_full(*args, **kwargs)

    monkeypatch.setattr(kernels, "_pearson_neighbours_update", counting_update)
    monkeypatch.setattr(kernels, "pearson_neighbours", counting_full)
    old = events(rng, 2500, 400, 400)
    params = dict(similarity=similarity, k_neighbours=3, max_neighbours=6, min_support=1)
    model = model_class(**params).fit(build(old))
    batch = events(rng, 3, 405, 405, t0=3000)
    updated = model.update(build(batch))
    assert calls == {"update": 1, "full": 1}
    merged = build(concat(old, batch))
    assert_same_model(updated, model_class(**params).fit(merged), *all_ids(merged))


def test_update_while_eight_threads_read_the_old_model(rng):
    # Shop.refresh swaps models: the old one keeps answering, unchanged, while update runs.
    from concurrent.futures import ThreadPoolExecutor

    old, new = split_stream(rng, n_old=1500, n_new=40, n_users=80, n_items=120)
    model = ItemKNN(k_neighbours=5, max_neighbours=10).fit(build(old))
    users = list(model.user_ids[:30])
    want = [(r.items.tolist(), r.scores.tolist()) for r in model.recommend_many(users, 5)]

    def read(_):
        got = [(r.items.tolist(), r.scores.tolist()) for r in model.recommend_many(users, 5)]
        return got == want

    with ThreadPoolExecutor(8) as pool:
        reads = [pool.submit(read, i) for i in range(40)]
        updated = model.update(build(new))
        assert all(f.result() for f in reads)
    merged = build(concat(old, new))
    assert_same_model(updated, ItemKNN(k_neighbours=5, max_neighbours=10).fit(merged), *all_ids(merged))


def test_knn_update_passes_categories_to_its_fallback(rng):
    old, new = split_stream(rng)
    old_inter = build(old)
    cats = {item: f"c{int(item) % 3}" for item in old_inter.item_ids.tolist()}
    merged = build(concat(old, new))
    extra = {item: "new" for item in merged.item_ids.tolist() if item not in cats}
    assert extra
    model = ItemKNN(similarity="cosine").fit(old_inter, fallback=Popular().fit(old_inter, categories=cats))
    updated = model.update(build(new), categories=extra)
    refit = ItemKNN(similarity="cosine").fit(merged, fallback=Popular().fit(merged, categories={**cats, **extra}))
    users, items = all_ids(merged)
    assert_same_model(updated, refit, users, items)
    assert_same_model(updated.fallback, refit.fallback, users, items)
    np.testing.assert_array_equal(updated.fallback.recommend(-5, 8, category="new").items,
                                  refit.fallback.recommend(-5, 8, category="new").items)
    assert len(updated.fallback.recommend(-5, 8, category="new"))


# ------------------------------------------------------------------ weighted similarities
WEIGHTED = [
    lambda k: ItemKNN(k_neighbours=k, max_neighbours=k + 2),  # implicit data: TF-IDF, cosine, alpha 0.5
    lambda k: ItemKNN(k_neighbours=k, max_neighbours=2 * k, similarity="cosine", weighting="tfidf"),
    lambda k: UserKNN(k_neighbours=k, max_neighbours=k + 1, similarity="cosine", weighting="bm25", alpha=0.3),
    lambda k: UserKNN(k_neighbours=k, max_neighbours=None, similarity="pearson", weighting="tfidf"),
    lambda k: ItemKNN(k_neighbours=k, max_neighbours=k, similarity="pearson_baseline"),
]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**31 - 1),
    n_batches=st.integers(1, 3),
    model_index=st.integers(0, len(WEIGHTED) - 1),
    k=st.integers(1, 5),
    new_ids=st.booleans(),
    implicit=st.booleans(),
)
def test_weighted_similarities_update_equals_refit(seed, n_batches, model_index, k, new_ids, implicit):
    # Batches with or without new users and items: without, TF-IDF and alpha rows can be patched.
    rng = np.random.default_rng(seed)
    n_users, n_items = int(rng.integers(2, 30)), int(rng.integers(2, 30))
    everything = events(rng, int(rng.integers(20, 300)), n_users, n_items)
    kw = dict(implicit=implicit, stamps=False)
    make = WEIGHTED[model_index]
    model = make(k).fit(build(everything, **kw))
    for step in range(n_batches):
        span = (n_users + 3, n_items + 3) if new_ids else (n_users, n_items)
        batch = events(rng, int(rng.integers(1, 6)), *span, t0=2000 + step)
        model = model.update(build(batch, **kw))
        everything = concat(everything, batch)
    merged = build(everything, **kw)
    assert_same_model(model, make(k).fit(merged), *all_ids(merged))


@pytest.mark.parametrize("make", [
    lambda: ItemKNN(k_neighbours=3, max_neighbours=6),  # implicit defaults: TF-IDF, alpha 0.5
    lambda: ItemKNN(k_neighbours=3, max_neighbours=6, similarity="cosine", weighting="tfidf"),
    lambda: UserKNN(k_neighbours=3, max_neighbours=6, similarity="cosine", weighting="tfidf", alpha=0.5),
])
def test_weighted_update_patches_rows_when_the_weights_of_others_stay(rng, monkeypatch, make):
    # A batch of old users and old items on sparse data changes the TF-IDF weights of few rows
    # (those of the items of the shoppers with a new pair): the update entry point runs, once.
    import shoprec.kernels as kernels

    calls = {"update": 0, "full": 0}
    real_update, real_full = kernels._pearson_neighbours_update, kernels.pearson_neighbours

    def counting_update(*args, **kwargs):
        calls["update"] += 1
        return real_update(*args, **kwargs)

    def counting_full(*args, **kwargs):
        calls["full"] += 1
        return real_full(*args, **kwargs)

    monkeypatch.setattr(kernels, "_pearson_neighbours_update", counting_update)
    monkeypatch.setattr(kernels, "pearson_neighbours", counting_full)
    old = events(rng, 2500, 400, 400)
    kw = dict(implicit=True, stamps=False)
    model = make().fit(build(old, **kw))
    everything = old
    for step in range(2):  # the second update continues from the first one's kept similarities
        batch = events(rng, 2, 400, 400, t0=3000 + step)
        batch[0][:] = old[0][step]  # one old shopper: a few columns change
        batch[1][:] = old[1][:2]  # old items only: the number of rows stays
        model = model.update(build(batch, **kw))
        everything = concat(everything, batch)
    assert calls == {"update": 2, "full": 1}
    merged = build(everything, **kw)
    assert_same_model(model, make().fit(merged), *all_ids(merged))


def test_changed_entities_against_a_dense_comparison(rng):
    import scipy.sparse as sp

    from shoprec.models._incremental import changed_entities

    for _ in range(20):
        old = sp.random(12, 9, density=0.3, random_state=int(rng.integers(1 << 30)), format="csr")
        old.data = np.ceil(old.data * 4) / 4  # no stored zeros: the dense reference drops them
        old_users = np.sort(rng.choice(15, 12, replace=False))
        old_items = np.sort(rng.choice(11, 9, replace=False))
        dense = np.full((15, 11), np.nan)
        dense[np.ix_(old_users, old_items)] = np.where(old.toarray() != 0, old.toarray(), np.nan)
        for _ in range(int(rng.integers(0, 4))):  # change, add or remove a few entries
            u, i = int(rng.integers(15)), int(rng.integers(11))
            dense[u, i] = [np.nan, 0.25, 1.0, float(rng.random())][int(rng.integers(4))]
        stored = ~np.isnan(dense)
        rows, cols = np.nonzero(stored)
        new = sp.csr_matrix((dense[rows, cols], (rows, cols)), shape=(15, 11))
        new.sort_indices()
        for item_based in (True, False):
            got = changed_entities(old, new, old_users, old_items, item_based)
            before = np.full((15, 11), np.nan)
            before[np.ix_(old_users, old_items)] = np.where(old.toarray() != 0, old.toarray(), np.nan)
            same = lambda a, b: np.array_equal(a, b, equal_nan=True)  # noqa: E731
            if item_based:
                want = [i for i in range(11) if i not in old_items or not same(before[:, i], dense[:, i])]
            else:
                want = [u for u in range(15) if u not in old_users or not same(before[u], dense[u])]
            np.testing.assert_array_equal(got, want)


def test_a_loaded_weighted_model_updates_to_the_refit_then_patches_again(rng, tmp_path):
    # A file does not keep the similarities before alpha's constant factor: the first update
    # of a loaded model computes in full, the next one patches again; both equal refits.
    import shoprec

    old = events(rng, 2500, 400, 400)
    kw = dict(implicit=True, stamps=False)
    make = lambda: ItemKNN(k_neighbours=3, max_neighbours=6)  # noqa: E731  (implicit: TF-IDF, alpha 0.5)
    path = tmp_path / "implicit.shoprec"
    make().fit(build(old, **kw)).save(path)
    model, everything = shoprec.load(path), old
    for step in range(2):
        batch = events(rng, 2, 400, 400, t0=3000 + step)
        batch[0][:], batch[1][:] = old[0][step], old[1][:2]  # an old shopper, old items
        model = model.update(build(batch, **kw))
        everything = concat(everything, batch)
        merged = build(everything, **kw)
        assert_same_model(model, make().fit(merged), *all_ids(merged))
    assert model._fitted().kernel_data is not None
