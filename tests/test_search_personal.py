"""The personal part of a search: ``SearchIndex._personal`` asks shoprec's models for the
candidates' scores in one Rust call (``_recommend_aligned``); the oracle is the generic path
it replaces, ``recommend(user, n, items=candidates, exclude_seen=False)`` paired with the
candidates by id, over every model a search can hold, known and unknown shoppers, candidates
the model does not know, and int, str and mixed ids."""

import numpy as np
import pytest

from shoprec import Baseline, Interactions, InterestSegments, ItemKNN, Popular, UnknownIdError, UserKNN
from shoprec._ids import IdMap
from shoprec.search import SearchIndex


def generic_personal(model, ids, user):
    """The generic path of ``SearchIndex._personal`` (what it did for every model before)."""
    id_list = ids.tolist() if isinstance(ids, np.ndarray) else ids
    try:
        recs = model.recommend(user, len(id_list), items=ids, exclude_seen=False)
    except (UnknownIdError, KeyError, TypeError):
        return None
    if recs.source != "model":
        return None
    scores = dict(zip(np.asarray(recs.items).tolist(), np.asarray(recs.scores, dtype=np.float64).tolist()))
    return np.array([scores.get(i, np.nan) for i in id_list], dtype=np.float64)


def same(got, want):
    if want is None:
        return got is None
    return got is not None and got.dtype == np.float64 and np.array_equal(got, want, equal_nan=True)


def interactions(rng, n_users, n_items, id_kind, explicit, idle_users=0):
    """Random interactions; ``idle_users`` extra shoppers are known but have no history."""
    user_ids = [f"u{u}" for u in range(n_users)]
    item_ids = {"int": list(range(100, 100 + n_items)), "str": [f"{100 + i}" for i in range(n_items)],
                "mixed": [100 + i if i % 2 else f"p{i}" for i in range(n_items)]}[id_kind]
    n = int(rng.integers(n_users, 4 * n_users))
    users = rng.integers(0, n_users, n)
    items = rng.integers(0, n_items, n)
    # Sparse users: a few with a single item, so that no candidate may have a positive score.
    values = rng.integers(1, 6, n).astype(float) if explicit else None
    inter = Interactions.from_arrays([user_ids[u] for u in users], [item_ids[i] for i in items], values)
    if idle_users:
        ids = np.concatenate([inter.user_ids, np.array([f"zz{j}" for j in range(idle_users)])])
        inter = Interactions(IdMap(ids), inter.item_map, inter.users, inter.items, inter.values, inter.timestamps,
                             inter.explicit)
    return inter


def models(inter, seed):
    segments = InterestSegments(2, n_components=2, seed=seed).fit(inter)
    segment_popular = Popular(within="segment").fit(inter, segments=segments)
    return {
        "itemknn": ItemKNN(5, similarity="cosine").fit(inter),
        "itemknn-fallback": ItemKNN(5, similarity="cosine").fit(inter, fallback=segment_popular),
        "userknn": UserKNN(5).fit(inter),
        "userknn-fallback": UserKNN(5).fit(inter, fallback=Popular().fit(inter)),
        "popular": Popular().fit(inter),
        "popular-weight": Popular(by="weight").fit(inter),
        "segment-popular": segment_popular,
        "baseline": Baseline().fit(inter),
    }


def candidate_sets(rng, inter):
    """Candidate ids as the engine gives them: an int64 array when all are ints, else a list;
    with ids the model does not know and ids of the other type ("142" for 142 and back)."""
    known = inter.item_ids.tolist()
    other = [str(i) if isinstance(i, int) else int(i) for i in known if isinstance(i, int) or i.isdigit()]
    pool = known + other + [5, 7, "x", "y", 2**70]
    for n in (1, 3, len(known) // 2, len(pool)):
        chosen = [pool[j] for j in rng.choice(len(pool), size=min(n, len(pool)), replace=False)]
        chosen = list(dict.fromkeys(chosen))  # product ids are unique
        if all(type(c) is int and abs(c) < 2**63 for c in chosen):
            yield np.array(chosen, dtype=np.int64)
        else:
            yield chosen
    ints = [c for c in pool if type(c) is int and abs(c) < 2**63]
    if ints:
        yield np.array(ints, dtype=np.int64)
    yield [c for c in pool if isinstance(c, str)] or ["x"]
    # None of them known: an empty ranking (the model's own answer unless it has a fallback).
    yield np.array([5, 7], dtype=np.int64)
    yield ["x", 2**70]


@pytest.mark.parametrize("seed", range(12))
def test_aligned_scores_equal_the_generic_path(seed):
    rng = np.random.default_rng(seed)
    id_kind = ("int", "str", "mixed")[seed % 3]
    inter = interactions(rng, n_users=int(rng.integers(3, 25)), n_items=int(rng.integers(2, 30)), id_kind=id_kind,
                         explicit=seed % 2 == 0, idle_users=2 if seed % 4 == 1 else 0)
    users = inter.user_ids.tolist()[:4] + inter.user_ids.tolist()[-2:] + ["nobody", 3, ["unhashable"], True]
    compared = own = 0
    for name, model in models(inter, seed).items():
        for ids in candidate_sets(rng, inter):
            for user in users:
                want = generic_personal(model, ids, user)
                fast = model._recommend_aligned(user, ids)
                assert fast is not None, name
                got = fast[0] if fast[1] else None
                assert same(got, want), (name, user, ids, got, want)
                if isinstance(ids, list) and all(type(i) is str for i in ids):
                    # The same candidates as a str array.
                    fast = model._recommend_aligned(user, np.array(ids, dtype=str))
                    assert same(fast[0] if fast[1] else None, want), (name, user, ids)
                compared += 1
                own += want is not None
    assert own > compared // 4  # the comparison covers the models' own answers, not only fallbacks


def test_search_personal_equals_the_generic_path():
    rng = np.random.default_rng(5)
    products = [{"id": i if i % 3 else f"p{i}", "title": f"item {'red' if i % 2 else 'blue'} shoe {i % 7}",
                 "in_stock": i % 5 != 0, "sales": int(i % 11)} for i in range(60)]
    events = rng.integers(0, 60, 400)
    users = rng.integers(0, 30, 400)
    inter = Interactions.from_arrays(users.tolist(), [products[e]["id"] for e in events])
    model = ItemKNN(5, similarity="cosine").fit(inter)
    idx = SearchIndex.build(products, recommender=model, popularity="sales")
    for query in ("red shoe", "blue", "shoe 3", "item"):
        out = idx._engine.search(query, [], True, [], [], 100, False)
        ids = out[0]
        id_list = ids.tolist() if isinstance(ids, np.ndarray) else ids
        for user in [0, 1, 7, 29, 99, "0"]:
            assert same(idx._personal(ids, id_list, user, None), generic_personal(model, ids, user))
    # All-int candidates cross as an int64 array.
    int_products = [p for p in products if isinstance(p["id"], int)]
    idx = SearchIndex.build(int_products, recommender=model, popularity="sales")
    out = idx._engine.search("shoe", [], True, [], [], 100, False)
    assert isinstance(out[0], np.ndarray)
    for user in [0, 3, 12, 99]:
        assert same(idx._personal(out[0], out[0].tolist(), user, None), generic_personal(model, out[0], user))


class Doubled(ItemKNN):
    """A subclass whose recommend differs from the one _recommend_aligned mirrors."""

    def recommend(self, user, k=10, **kwargs):
        recs = super().recommend(user, k, **kwargs)
        return type(recs)(recs.items, recs.scores * 2, recs.source, recs.reason)


def test_an_overridden_recommend_takes_the_generic_path():
    rng = np.random.default_rng(1)
    inter = interactions(rng, 10, 12, "int", explicit=False)
    model = Doubled(5, similarity="cosine").fit(inter)
    ids = np.array(inter.item_ids.tolist(), dtype=np.int64)
    assert model._recommend_aligned("u1", ids) is None
    idx = SearchIndex.build([{"id": int(i), "title": "thing"} for i in ids], recommender=model)
    plain = ItemKNN(5, similarity="cosine").fit(inter)
    for user in inter.user_ids.tolist():
        got = idx._personal(ids, ids.tolist(), user, None)
        want = generic_personal(model, ids, user)
        assert same(got, want)
        base = generic_personal(plain, ids, user)
        if base is not None:
            assert np.array_equal(got, 2 * base, equal_nan=True)


def test_a_duck_typed_recommender_takes_the_generic_path():
    class Fixed:
        def recommend(self, user, k, *, items, exclude_seen):
            assert exclude_seen is False
            from shoprec import Recommendations

            chosen = [i for i in items.tolist() if i % 2][:k]
            return Recommendations(np.array(chosen), np.array([float(i) for i in chosen], dtype=np.float32))

    ids = np.arange(6, dtype=np.int64)
    idx = SearchIndex.build([{"id": i, "title": "thing"} for i in range(6)], recommender=Fixed())
    got = idx._personal(ids, ids.tolist(), "anyone", None)
    assert np.array_equal(got, [np.nan, 1.0, np.nan, 3.0, np.nan, 5.0], equal_nan=True)


def test_unfitted_recommender_still_raises():
    idx = SearchIndex.build([{"id": 1, "title": "thing"}], recommender=ItemKNN())
    with pytest.raises(Exception) as caught:
        idx.search("thing", user="u")
    # As before: not a missing personal part but the model's NotFittedError.
    assert type(caught.value).__name__ == "NotFittedError"


@pytest.mark.parametrize("seed", range(6))
def test_segment_reach_of_candidates_equals_a_dict_lookup(seed):
    from shoprec.search.index import _SegmentReach

    rng = np.random.default_rng(seed)
    ints = [int(i) for i in rng.choice(10**6, 50, replace=False)]
    strs = [f"p{i}" for i in ints]
    for keys in (ints, strs, ints[:25] + strs[25:]):
        pairs = [(k, float(rng.random())) for k in keys]
        reach, want_of = _SegmentReach(pairs), dict(pairs)
        pool = keys + [k + 1 if type(k) is int else k + "x" for k in keys[:10]] + [str(i) for i in ints[:5]] + ints[:5]
        for _ in range(5):
            chosen = [pool[j] for j in rng.choice(len(pool), 20, replace=False)]
            want = np.array([want_of.get(c, 0.0) for c in chosen])
            forms = [chosen]
            if all(type(c) is int for c in chosen):
                forms.append(np.array(chosen, dtype=np.int64))
            if all(type(c) is str for c in chosen):
                forms.append(np.array(chosen, dtype=str))
            for form in forms:
                assert np.array_equal(reach.of(form, chosen), want)


@pytest.mark.parametrize("int_ids", [False, True])
def test_search_with_one_kind_of_ids_equals_the_per_id_lookups(monkeypatch, int_ids):
    """End to end with all-str or all-int product ids, a recommender and segment popularity:
    the same results as with the short cuts for one kind of ids turned off (the segment's
    reach by dict, the id maps' exact check by comparing objects)."""
    from shoprec.search import index as search_index

    rng = np.random.default_rng(3)
    pid = (lambda i: 1000 + i) if int_ids else (lambda i: f"p{i}")
    products = [{"id": pid(i), "title": f"item {'red' if i % 2 else 'blue'} shoe {i % 7}", "sales": int(i % 11)}
                for i in range(80)]
    users = rng.integers(0, 40, 600)
    events = rng.integers(0, 80, 600)
    inter = Interactions.from_arrays([f"u{u}" for u in users], [pid(e) for e in events])
    model = ItemKNN(5, similarity="cosine").fit(inter)
    segments = InterestSegments(3, n_components=2, seed=0).fit(inter)
    idx = SearchIndex.build(products, recommender=model, popularity=segments)
    asks = [(q, u) for q in ("red shoe", "blue", "shoe 3", "item") for u in ("u0", "u1", "u7", "u39", "nobody")]
    fast = [idx.search(q, 10, user=u) for q, u in asks]

    plain_of = search_index._SegmentReach.of
    monkeypatch.setattr(search_index._SegmentReach, "of", lambda self, ids, id_list: plain_of(self, id_list, id_list))
    monkeypatch.setattr(IdMap, "exact_indices", lambda self, positions, values: positions if self.ids.dtype.kind not in
                        "iuU" else IdMap._exact_by_objects(self, positions, values))
    idx.__dict__.pop("_segment_cache", None)
    for (q, u), got in zip(asks, fast):
        want = idx.search(q, 10, user=u)
        assert got.to_list() == want.to_list()
        assert {k: v.tolist() for k, v in got.parts.items()} == {k: v.tolist() for k, v in want.parts.items()}
    assert any(r.parts["personal"].any() for r in fast) and any(r.parts["popularity"].any() for r in fast)
