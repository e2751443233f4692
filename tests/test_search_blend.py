"""The blend of a search's candidates (Rust) against a naive Python reference of the formula
in shoprec.search.blend, and a whole personalised search against the engine's candidates,
the recommender's scores and that reference."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import shoprec
from shoprec.search import SearchIndex, Weights
from shoprec.search.blend import rank


def naive_blend(text, expansion, personal, popularity, w):
    """Per candidate (text, expansion, personal, popularity) parts and their sum, in plain
    Python floats, step by step as the module documentation writes the formula."""
    n = len(text)
    relevance = [float(t) + float(e) for t, e in zip(text, expansion)]
    top = max(relevance) if n else 0.0
    scale = w.text / top if top > 0 else 0.0
    if personal is None or not any(math.isfinite(p) for p in personal):
        scaled = [0.0] * n
    else:
        known = [p for p in personal if not math.isnan(p)]
        low, high = min(known), max(known)
        scaled = [((low if math.isnan(p) else p) - low) / (high - low) if high > low else 0.0 for p in personal]
    logs = [math.log1p(max(p, 0.0)) for p in popularity]
    top_log = max(logs) if n else 0.0
    parts = [
        (float(text[i]) * scale, float(expansion[i]) * scale, w.personal * scaled[i],
         w.popularity * (logs[i] / top_log if top_log > 0 else 0.0))
        for i in range(n)
    ]
    return parts, [t + e + p + q for t, e, p, q in parts]


def naive_rank(text, expansion, personal, popularity, w, offset, k):
    parts, scores = naive_blend(text, expansion, personal, popularity, w)
    order = sorted(range(len(scores)), key=lambda i: -scores[i])[offset:offset + k]  # stable: ties in input order
    return order, [scores[i] for i in order], [parts[i] for i in order]


# Few distinct values, so that ties (in text, popularity, personal score) are common.
texts = st.sampled_from([0.0, 0.5, 1.25, 3.0, 7.5])
scores = st.one_of(st.just(float("nan")), st.sampled_from([-2.0, 0.0, 0.1, 0.7, 4.0]))
populars = st.sampled_from([0.0, -3.0, 1.0, 9.0, 250.0])
weights = st.builds(Weights, text=st.sampled_from([0.0, 1.0, 2.5]), personal=st.sampled_from([0.0, 0.35, 10.0]),
                    popularity=st.sampled_from([0.0, 0.15, 1.0]))


@st.composite
def candidates(draw):
    n = draw(st.integers(0, 30))
    text = np.array(draw(st.lists(texts, min_size=n, max_size=n)), dtype=np.float32)
    expansion = np.array(draw(st.lists(texts, min_size=n, max_size=n)), dtype=np.float32) * np.float32(0.3)
    personal = draw(st.one_of(st.none(), st.lists(scores, min_size=n, max_size=n).map(lambda s: np.array(s, dtype=np.float64))))
    popularity = np.array(draw(st.lists(populars, min_size=n, max_size=n)), dtype=np.float64)
    return text, expansion, personal, popularity


@settings(max_examples=300, deadline=None)
@given(candidates(), weights, st.integers(0, 5), st.integers(0, 40))
def test_rank_equals_the_naive_formula(cands, w, offset, k):
    text, expansion, personal, popularity = cands
    order, score, parts = rank(text, expansion, personal, popularity, w, offset, k)
    want_order, want_scores, want_parts = naive_rank(text, expansion, personal, popularity, w, offset, k)
    assert order.tolist() == want_order
    assert score.tolist() == np.array(want_scores, dtype=np.float32).tolist()
    for j, name in enumerate(("text", "expansion", "personal", "popularity")):
        assert parts[name].dtype == np.float32
        assert parts[name].tolist() == np.array([p[j] for p in want_parts], dtype=np.float32).tolist()


def test_rank_refuses_arrays_of_different_lengths():
    with pytest.raises(shoprec.InvalidArgumentError):
        rank(np.ones(3, np.float32), np.ones(2, np.float32), None, np.ones(3), Weights())


# ------------------------------------------------------------ a whole personal search
def catalogue(id_of):
    rng = np.random.default_rng(3)
    words = ["red", "blue", "running", "shoes", "wool", "hat", "leather", "boots"]
    return [{"id": id_of(i), "title": " ".join(rng.choice(words, size=3, replace=False)), "in_stock": bool(i % 4),
             "sales": int(rng.integers(0, 50))} for i in range(60)]


def reference_search(idx, model, query, k, user, filters):
    """The ranking the search must give: the engine's candidates, the recommender's scores for
    them (restricted with items=), the naive blend."""
    conditions = idx._filters(filters)
    ids, text, expansion, popularity, *_ = idx._engine.search(query, [], True, conditions, [], idx.weights.candidates, False)
    ids = list(ids.tolist() if isinstance(ids, np.ndarray) else ids)
    personal = None
    if user is not None and ids:
        recs = model.recommend(user, len(ids), items=ids, exclude_seen=False)
        if recs.source == "model":
            got = dict(recs.to_list())
            personal = [got.get(i, float("nan")) for i in ids]
    order, scores, _ = naive_rank(text, expansion, personal, popularity, idx.weights, 0, k)
    return [ids[i] for i in order], np.array(scores, dtype=np.float32).tolist()


@pytest.mark.parametrize("id_of", [lambda i: i, lambda i: f"p{i}", lambda i: i if i % 2 else f"p{i}", lambda i: 2**70 + i])
def test_personal_search_equals_the_reference(id_of):
    products = catalogue(id_of)
    rng = np.random.default_rng(5)
    users = [f"u{u}" for u in rng.integers(0, 12, size=300)]
    items = [products[i]["id"] for i in rng.integers(0, 60, size=300)]
    model = shoprec.ItemKNN().fit(shoprec.Interactions.from_arrays(users, items))
    idx = SearchIndex.build(products, recommender=model, popularity="sales")
    for query in ["red shoes", "wool", "leather boots hat"]:
        for user in [None, "u1", "u7", "stranger"]:
            for filters in [None, {"in_stock": True}]:
                r = idx.search(query, 7, user=user, filters=filters, expand=False)
                want_ids, want_scores = reference_search(idx, model, query, 7, user, filters)
                assert [i for i, _ in r] == want_ids
                assert r.scores.tolist() == want_scores
                assert all(type(i) is type(id_of(0)) or type(i) in (int, str) for i in r.items)


def test_ids_come_back_as_they_went_in():
    products = [{"id": i, "title": "red shoes"} for i in (0, -5, 2**63 - 1, 2**64, -(2**63), -(2**63) - 1)]
    products += [{"id": s, "title": "red shoes"} for s in ("a", "i:7", "s:x", "", "鞋")]
    idx = SearchIndex.build(products, filters=())
    got = idx.search("red shoes", k=20).items.tolist()
    assert sorted(got, key=repr) == sorted([p["id"] for p in products], key=repr)
    assert all(type(i) is type(p) for i, p in zip(sorted(got, key=repr), sorted([p["id"] for p in products], key=repr)))
    ints = SearchIndex.build([{"id": i, "title": "hat"} for i in range(5)], filters=())
    assert ints._engine.search("hat", [], True, [], [], 10, False)[0].dtype == np.int64
    assert ints.search("hat").items.tolist() == [0, 1, 2, 3, 4]
