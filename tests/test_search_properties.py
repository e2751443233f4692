"""Property tests of shoprec.SearchIndex against brute force over the products (hypothesis)."""

from collections import Counter

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import shoprec
from shoprec import SearchIndex

# Words of at most four letters: no typo reading, so a product matches exactly when its
# title contains the query word.
WORDS = ["red", "blue", "shoe", "hat", "bag", "cap", "wool"]
CATEGORIES = ["shoes", "hats", "bags"]
BRANDS = ["acme", "zoom", "nova"]

product = st.fixed_dictionaries({
    "title": st.lists(st.sampled_from(WORDS), min_size=1, max_size=4).map(" ".join),
    "category": st.sampled_from(CATEGORIES),
    "brand": st.one_of(st.none(), st.sampled_from(BRANDS)),
    "price": st.integers(0, 20).map(float),
    "in_stock": st.booleans(),
})
catalogues = st.lists(product, min_size=1, max_size=40).map(lambda ps: [dict(p, id=i) for i, p in enumerate(ps)])

filter_dicts = st.fixed_dictionaries({}, optional={
    "category": st.one_of(st.sampled_from(CATEGORIES), st.sets(st.sampled_from(CATEGORIES + ["none"]), min_size=1).map(list)),
    "brand": st.sampled_from(BRANDS),
    "price": st.one_of(
        st.tuples(st.one_of(st.none(), st.integers(0, 20)), st.one_of(st.none(), st.integers(0, 20))),
        st.integers(0, 20),
        st.sets(st.integers(0, 20), min_size=1).map(list),
    ),
    "in_stock": st.booleans(),
})


def passes(p, filters):
    for field, want in filters.items():
        value = p[field]
        if field == "price":
            if isinstance(want, tuple):
                lo, hi = want
                ok = (lo is None or value >= lo) and (hi is None or value <= hi)
            elif isinstance(want, list):
                ok = value in want
            else:
                ok = value == want
        elif isinstance(want, list):
            ok = value in want
        else:
            ok = value == want
        if not ok:
            return False
    return True


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(catalogues, st.sampled_from(WORDS), filter_dicts)
def test_filters_and_facets_equal_brute_force(products, word, filters):
    types = {"category": "str", "brand": "str", "price": "number", "in_stock": "bool"}
    index = SearchIndex.build(products, filters=types, num_threads=1)
    r = index.search(word, k=100, filters=filters, facets=["category", "brand", "in_stock"], expand=False)
    matching = [p for p in products if word in p["title"].split() and passes(p, filters)]
    if not matching:
        assert r.fallback == "popular"
        matching = [p for p in products if passes(p, filters)]
    assert sorted(i for i, _ in r) == sorted(p["id"] for p in matching)
    assert r.total == len(matching)
    for field in ("category", "brand", "in_stock"):
        expected = Counter(p[field] for p in matching if p[field] is not None)
        assert r.facets[field] == dict(expected)


@settings(max_examples=40, deadline=None)
@given(catalogues)
def test_ranking_is_bm25_order_then_popularity_then_id(products):
    index = SearchIndex.build(products, num_threads=1)
    r = index.search("red blue", k=100, expand=False)
    scores = r.scores.tolist()
    assert scores == sorted(scores, reverse=True)



TITLE_WORDS = WORDS + ["leather", "jacket", "联想", "游戏本", "连衣裙", "红色"]
QUERY_WORDS = TITLE_WORDS + ["戏本", "衣裙", "jackte", "leathr"]
mixed_catalogues = st.lists(
    st.fixed_dictionaries({
        "title": st.lists(st.sampled_from(TITLE_WORDS), min_size=1, max_size=5).map(" ".join),
        "category": st.sampled_from(CATEGORIES),
        "in_stock": st.booleans(),
        "sales": st.integers(0, 3),
    }),
    min_size=1, max_size=60,
).map(lambda ps: [dict(p, id=i) for i, p in enumerate(ps)])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mixed_catalogues, st.lists(st.sampled_from(QUERY_WORDS), min_size=1, max_size=3).map(" ".join),
       st.sampled_from([None, {"in_stock": True}, {"category": ["shoes", "bags"]}]), st.integers(1, 8))
def test_best_k_are_the_first_k_of_the_complete_ranking(products, query, filters, k):
    """The engine scores only the matches that can reach the best k (``weights.candidates`` of
    1 makes its limit k): they must be exactly the first k of the ranking of every match,
    with the same scores, and filters must not leave fewer than k when k matches pass them."""
    weights = shoprec.search.Weights(popularity=0.0, personal=0.0, candidates=1)
    index = SearchIndex.build(products, filters={"category": "str", "in_stock": "bool"}, popularity="sales",
                              weights=weights, num_threads=1)
    every = index.search(query, k=len(products), filters=filters, expand=False)
    best = index.search(query, k=k, filters=filters, expand=False)
    assert best.total == every.total
    assert best.to_list() == every.to_list()[:k]
    assert len(every) == every.total  # k >= the catalogue: every match is ranked
    assert len(best) == min(k, every.total)




# A search (query words, filters, k) or a write; writes name products by their position in
# the catalogue (taken modulo its length when applied).
searches = st.tuples(st.just("search"), st.lists(st.sampled_from(WORDS), min_size=1, max_size=2).map(" ".join),
                     filter_dicts, st.integers(1, 5))
writes = st.one_of(
    st.tuples(st.just("set_stock"), st.lists(st.integers(0, 39), min_size=1, max_size=5), st.booleans()),
    st.tuples(st.just("update"), st.integers(0, 39), product),
    st.tuples(st.just("delete"), st.integers(0, 39)),
    st.tuples(st.just("add"), product),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(catalogues, st.lists(st.one_of(searches, searches, writes), min_size=1, max_size=25))
def test_remembered_answers_equal_an_index_that_remembers_none(products, steps):
    """Searches repeat between random writes: every answer of an index that remembers its
    answers must equal that of one that remembers none (RESULT_CACHE_MB = 0)."""
    types = {"category": "str", "brand": "str", "price": "number", "in_stock": "bool"}
    remembering = SearchIndex.build(products, filters=types, popularity="price", num_threads=1)
    fresh = SearchIndex.build(products, filters=types, popularity="price", num_threads=1)
    fresh.RESULT_CACHE_MB = 0
    ids = [p["id"] for p in products]
    next_id = len(products)
    for step in steps:
        if step[0] == "search":
            _, query, filters, k = step
            for _ in range(2):  # the second time from what the first remembered
                a = remembering.search(query, k=k, filters=filters, facets=["category", "in_stock"], expand=False)
                b = fresh.search(query, k=k, filters=filters, facets=["category", "in_stock"], expand=False)
                assert (a.to_list(), a.total, a.facets, a.fallback) == (b.to_list(), b.total, b.facets, b.fallback)
            continue
        if not ids and step[0] != "add":
            continue
        for index in (remembering, fresh):
            if step[0] == "set_stock":
                index.set_stock(sorted({ids[i % len(ids)] for i in step[1]}), step[2])
            elif step[0] == "update":
                index.update([dict(step[2], id=ids[step[1] % len(ids)])])
            elif step[0] == "delete":
                index.delete([ids[step[1] % len(ids)]])
            else:
                index.add([dict(step[1], id=next_id)])
        if step[0] == "delete":
            ids.pop(step[1] % len(ids))
        elif step[0] == "add":
            ids.append(next_id)
            next_id += 1


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(), max_size=300) | st.text(alphabet=st.characters(categories=["Cs", "Cc", "So", "Lo"]), max_size=50))
def test_any_query_string_is_answered(query):
    r = INDEX.search(query, k=5, filters={"in_stock": True}, facets=["category"])
    assert len(r) <= 5 and r.total >= len(r)


@settings(max_examples=100, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("abcXYZ019 -./,!?") + ["联", "想", "游", "戏", "本", "红", "色", "\U0001F600"]), max_size=60))
def test_tokens_equal_shoprec_tokenize(text):
    assert INDEX.tokenize(text) == shoprec.tokenize(text)


INDEX = SearchIndex.build(
    [{"id": i, "title": f"{w} shoes", "category": CATEGORIES[i % 3], "in_stock": i % 2 == 0} for i, w in enumerate(WORDS)],
    num_threads=1,
)
