"""shoprec.SearchIndex: tokens, BM25, typos, writes, persistence, fallbacks, personal ranking.

References are independent of the engine: BM25 by hand, tokens from shoprec.tokenize, a
rebuilt index for writes.
"""

import math
import re
import threading

import numpy as np
import pandas as pd
import pytest

import shoprec
from shoprec import InvalidArgumentError, SearchIndex, SearchResults
from shoprec.errors import DTypeError, ModelFileError, UnknownIdError
from shoprec.search import Weights


def shop():
    return [
        {"id": 1, "title": "red running shoes", "description": "light mesh", "category": "shoes", "brand": "acme", "price": 50.0, "in_stock": True, "sales": 10},
        {"id": 2, "title": "blue running shoes", "description": "shoes for trail running", "category": "shoes", "brand": "zoom", "price": 80.0, "in_stock": True, "sales": 30},
        {"id": 3, "title": "red wool hat", "description": "warm", "category": "hats", "brand": "acme", "price": 20.0, "in_stock": False, "sales": 5},
        {"id": 4, "title": "leather sneakers", "description": "", "category": "shoes", "brand": "zoom", "price": 120.0, "in_stock": True, "sales": 50},
        {"id": 5, "title": "联想游戏本 拯救者 i5-1340P", "description": "笔记本电脑 16GB", "category": "laptops", "brand": "lenovo", "price": 999.0, "in_stock": True, "sales": 7},
        {"id": 6, "title": "waterproof hiking boots", "description": None, "category": "shoes", "brand": "acme", "price": 150.0, "in_stock": True, "sales": 1},
    ]


@pytest.fixture(scope="module")
def index():
    return SearchIndex.build(shop(), popularity="sales")


def ids(results):
    return [i for i, _ in results]


# ---------------------------------------------------------------------------- tokens
@pytest.mark.parametrize("text", ["Lenovo ThinkPad i5-1340P, 3.5mm jack!", "苹果iphone14手机 韩版女装", "ｉ５　ＡＢＣ", "", "  \U0001F600!!", "联想游戏本"])
def test_index_tokens_are_shoprec_tokenize(index, text):
    assert index.tokenize(text) == shoprec.tokenize(text)


def test_user_words_reach_the_tokenizer():
    idx = SearchIndex.build(shop(), user_words=["游戏本"])
    assert idx.tokenize("联想游戏本") == shoprec._core.Tokenizer(["游戏本"]).tokenize("联想游戏本")
    assert "游戏本" in idx.tokenize("联想游戏本")
    assert ids(idx.search("游戏本", typos=False, expand=False)) == [5]


def test_latin_diacritics_fold_to_ascii(index):
    assert index.tokenize("Café CRÈME") == ["cafe", "creme"]


# ------------------------------------------------------------------------------ BM25
def bm25(n, df, tf, length, avg, k1=1.2, b=0.75):
    idf = math.log(1 + (n - df + 0.5) / (df + 0.5))
    return idf * (k1 + 1) * tf / (tf + k1 * (1 - b + b * length / avg))


def test_bm25_against_a_hand_computation():
    products = [{"id": "a", "title": "red shoes"}, {"id": "b", "title": "blue shoes shoes"}, {"id": "c", "title": "red hat"}]
    idx = SearchIndex.build(products, text={"title": 3.0}, filters=())
    keys, texts, expansions, *_ = idx._engine.search("shoes", [], True, [], [], 10, False)
    expected = {"b": 3.0 * bm25(3, 2, 2, 3, 7 / 3), "a": 3.0 * bm25(3, 2, 1, 2, 7 / 3)}
    assert keys == ["b", "a"]
    for key, text, expansion in zip(keys, texts, expansions):
        assert text == pytest.approx(expected[key], rel=1e-5)
        assert expansion == 0
    # Through the public API the text part is scaled so the best candidate gets weights.text.
    results = idx.search("shoes")
    assert results.parts["text"][0] == pytest.approx(1.0)
    assert results.parts["text"][1] == pytest.approx(expected["a"] / expected["b"], rel=1e-5)


def test_title_weighs_more_than_description(index):
    # "running" is in the titles of 1 and 2 and also in 2's description.
    results = index.search("mesh", expand=False)
    assert ids(results) == [1]
    two_fields = SearchIndex.build([{"id": 1, "title": "mesh"}, {"id": 2, "description": "mesh"}], text={"title": 2.0, "description": 1.0})
    assert ids(two_fields.search("mesh")) == [1, 2]


# ----------------------------------------------------------------------------- typos
def test_typos_by_word_length():
    products = [{"id": i, "title": t} for i, t in enumerate(["sneakers", "waterproof jacket", "boot", "sandals", "sandal"])]
    idx = SearchIndex.build(products, filters=())
    assert ids(idx.search("snaekers")) == [0]          # 8 letters, a swap: one edit
    assert ids(idx.search("sneakrs")) == [0]           # 7 letters, a deletion
    assert idx.search("snxakxrs").fallback == "popular"  # 8 letters, two edits: too many
    assert ids(idx.search("watreprouf")) == [1]        # 10 letters: two edits
    assert idx.search("bout").fallback == "popular"    # 4 letters: exact only
    assert ids(idx.search("snaekers", typos=False)) == [0]  # no hit: retried with typos
    assert idx.search("snaekers", typos=False).fallback == "relaxed"
    assert idx.search("snaekers").corrections == [("snaekers", "sneakers")]


def test_a_deletion_in_a_five_letter_word_is_one_edit():
    # The edits a typo may have are those of the longer word: "basi" (4 letters) is one
    # deletion from "basic" (5 letters, one edit); "bout" and "boot" both have 4 letters.
    products = [{"id": i, "title": t} for i, t in enumerate(["basic instinct", "boot", "waterproof jacket"])]
    idx = SearchIndex.build(products, filters=())
    r = idx.search("basi")
    assert ids(r) == [0] and r.corrections == [("basi", "basic")] and r.fallback is None
    assert idx.search("bout").fallback == "popular"
    assert idx.search("bas").fallback == "popular"  # 3 letters: not even against 5
    assert ids(idx.search("wtrproof")) == [2]  # 8 letters typed, 10 meant: two edits
    assert idx.search("basi", typos=False).fallback == "relaxed"


def naive_pieces(text):
    """Sub-word pieces by the rule of the docs, written independently: character bigrams of
    Han runs (a lone character stands for itself), letter runs and digit runs of the rest."""
    out = []
    for run in re.findall(r"[\u4e00-\u9fff]+|[^\u4e00-\u9fff]+", text.lower()):
        if re.match(r"[\u4e00-\u9fff]", run):
            out += [run] if len(run) == 1 else [run[i:i + 2] for i in range(len(run) - 1)]
        else:
            out += re.findall(r"[a-z]+|[0-9]+", run)
    return out


def test_words_inside_longer_tokens_match_below_whole_words():
    titles = ["卫康隐形近视眼镜", "眼镜盒 眼镜布", "国际快递dhl/fedex/ups", "dhl express", "scotch3m600 胶带", "手机壳", "red shoes"]
    idx = SearchIndex.build([{"id": i, "title": t} for i, t in enumerate(titles)], filters=())
    for word in ["眼镜", "dhl", "fedex", "scotch", "胶带", "shoes", "近视"]:
        (query,) = shoprec.tokenize(word)
        whole = [i for i, t in enumerate(titles) if query in shoprec.tokenize(t)]
        inside = [i for i, t in enumerate(titles) if i not in whole and set(naive_pieces(word)) <= set(naive_pieces(t))]
        r = idx.search(word, k=20, expand=False, typos=False)
        assert r.fallback is None, word
        got = ids(r)
        assert sorted(got) == sorted(whole + inside), word
        assert set(got[:len(whole)]) == set(whole), word  # whole words first
    assert "眼镜" not in shoprec.tokenize(titles[0])  # the case this is for
    # A word of several pieces (a model number) is matched whole, never from its pieces.
    assert idx.search("3m600", typos=False).fallback == "popular"


def test_exact_spelling_beats_typos():
    products = [{"id": 1, "title": "sandal"}, {"id": 2, "title": "sandals"}]
    idx = SearchIndex.build(products, filters=())
    # "sandal" exists: no typo reading, so "sandals" is not a match at all.
    assert ids(idx.search("sandal")) == [1]
    exact = idx._engine.search("sandal", [], True, [], [], 10, False)[1][0]
    fuzzy = idx._engine.search("sandalz", [], True, [], [], 10, False)[1]
    assert len(fuzzy) == 2 and all(text < exact for text in fuzzy)


# ----------------------------------------------------------------- filters and facets
def test_filters_and_facets(index):
    r = index.search("shoes", filters={"brand": "zoom"}, facets=["brand", "category", "in_stock"])
    assert ids(r) == [2]  # 4 is zoom's sneakers, not shoes
    assert r.total == 1 and r.facets["brand"] == {"zoom": 1}
    assert r.facets["category"] == {"shoes": 1} and r.facets["in_stock"] == {True: 1}
    r = index.search("shoes", facets=["brand"])
    assert r.facets["brand"] == {"acme": 1, "zoom": 1}
    r = index.search("shoes", filters={"category": ["shoes", "hats"], "brand": {"acme", "zoom"}})
    assert set(ids(r)) == {1, 2}
    r = index.search("red", filters={"in_stock": True})
    assert ids(r) == [1]
    r = index.search("shoes sneakers", filters={"price": (60, None)})
    assert set(ids(r)) == {2, 4}
    r = index.search("shoes", filters={"price": {"max": 60}})
    assert ids(r) == [1]
    r = index.search("shoes running", filters={"price": [50, 80]})
    assert set(ids(r)) == {1, 2}


@pytest.mark.parametrize("filters", [
    {"colour": "red"},
    {"price": "cheap"},
    {"price": (1, 2, 3)},
    {"price": (float("nan"), None)},
    {"category": 3},
    {"category": ["shoes", 3]},
    {"in_stock": "yes"},
    {"price": {"low": 3}},
    ["category", "shoes"],
])
def test_bad_filters_raise(index, filters):
    with pytest.raises(InvalidArgumentError):
        index.search("shoes", filters=filters)


def test_bad_facets_raise(index):
    with pytest.raises(InvalidArgumentError):
        index.search("shoes", facets=["price"])
    with pytest.raises(InvalidArgumentError):
        index.search("shoes", facets=["colour"])


# ------------------------------------------------------------------- queries never fail
@pytest.mark.parametrize("query", [
    "", "   ", "!!!", "\U0001F600\U0001F45F", "\x00\x07\n\t\x1b[0m", "shoes " * 2000, "x" * 10_000,
    "红色running shoes кроссовки 靴子 ﾀﾞ", "\ud800", "shoes\udfff", "\u200b\u200d", "a" * 41, "𠀀𠀁",
])
def test_odd_queries_never_raise(index, query):
    r = index.search(query, filters={"category": "shoes"}, facets=["brand"])
    assert isinstance(r, SearchResults)
    assert all(index_product["category"] == "shoes" for index_product in (p for p in index.products() if p["id"] in ids(r)))


def test_non_str_query_is_a_type_error(index):
    with pytest.raises(DTypeError):
        index.search(42)


# ----------------------------------------------------------------------- fallbacks
def test_empty_query_gives_popular_in_the_filtered_category(index):
    r = index.search("  ?! ", filters={"category": "shoes"})
    assert r.fallback == "empty-query"
    assert ids(r) == [4, 2, 1, 6]  # by sales
    assert r.total == 4


def test_no_hits_fall_back_to_popular(index):
    r = index.search("qqqq zzzz", k=2, filters={"category": "shoes"})
    assert r.fallback == "popular" and ids(r) == [4, 2]


def test_offset_pages(index):
    everything = index.search("shoes", k=10)
    assert index.search("shoes", k=1, offset=1).to_list() == everything.to_list()[1:2]


# ------------------------------------------------------------------------ writes
def comparable(results):
    return (results.to_list(), {k: v.tolist() for k, v in results.parts.items()}, results.facets, results.total, results.fallback)


QUERIES = ["shoes", "red", "running shoes", "sneakers", "hat", "", "leathr", "boots"]


def test_writes_equal_a_rebuild():
    idx = SearchIndex.build(shop(), popularity="sales")
    idx.add([{"id": 7, "title": "green running shoes", "category": "shoes", "brand": "acme", "price": 60.0, "in_stock": True, "sales": 3}])
    changed = dict(shop()[0], title="red trail shoes", price=55.0)
    idx.update([changed])
    assert idx.delete([3, 99]) == 1
    assert idx.set_stock([4], False) == 1
    assert idx.set_stock([4], False) == 0
    final = [changed, shop()[1], dict(shop()[3], in_stock=False), shop()[4], shop()[5],
             {"id": 7, "title": "green running shoes", "category": "shoes", "brand": "acme", "price": 60.0, "in_stock": True, "sales": 3}]
    rebuilt = SearchIndex.build(final, popularity="sales")
    for q in QUERIES:
        for filters in (None, {"in_stock": True}):
            assert comparable(idx.search(q, filters=filters, facets=["brand", "in_stock"])) == comparable(
                rebuilt.search(q, filters=filters, facets=["brand", "in_stock"])), q
    assert len(idx) == len(rebuilt) == 6


def test_write_errors():
    idx = SearchIndex.build(shop())
    with pytest.raises(InvalidArgumentError):
        idx.add([{"id": 1, "title": "again"}])
    with pytest.raises(UnknownIdError):
        idx.update([{"id": 42, "title": "who"}])
    with pytest.raises(UnknownIdError):
        idx.set_stock([42], True)
    with pytest.raises(InvalidArgumentError):
        idx.add([{"id": 9, "title": "x", "price": "cheap"}])
    with pytest.raises(InvalidArgumentError):
        SearchIndex.build([{"id": 1, "title": "a"}, {"id": 1, "title": "b"}])
    assert len(idx) == 6


def test_dataframe_input_equals_records():
    a = SearchIndex.build(pd.DataFrame(shop()), popularity="sales")
    b = SearchIndex.build(shop(), popularity="sales")
    for q in QUERIES:
        assert comparable(a.search(q)) == comparable(b.search(q))


def test_threads_search_while_stock_changes():
    products = [{"id": i, "title": "red shoes", "category": "shoes", "in_stock": True, "sales": i} for i in range(300)]
    idx = SearchIndex.build(products, popularity="sales")
    flip = list(range(150))
    errors, totals = [], set()

    def searcher():
        try:
            for _ in range(40):
                r = idx.search("shoes", k=5, filters={"in_stock": True}, facets=["in_stock"])
                totals.add(r.total)
                assert r.facets["in_stock"] == {True: r.total}
                assert r.total in (150, 300)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=searcher) for _ in range(8)]
    for t in threads:
        t.start()
    for round_ in range(8):
        idx.set_stock(flip, round_ % 2 == 1)
    for t in threads:
        t.join()
    assert not errors
    assert totals <= {150, 300}


# ---------------------------------------------------------------------- persistence
def test_save_and_load_search_the_same(tmp_path):
    idx = SearchIndex.build(shop(), popularity="sales", weights=Weights(personal=0.5))
    idx.delete([6])
    idx.save(tmp_path / "search")
    idx.save(tmp_path / "search")  # replacing an existing save
    loaded = SearchIndex.load(tmp_path / "search")
    assert loaded.weights == idx.weights
    for q in QUERIES:
        assert comparable(loaded.search(q, facets=["brand"])) == comparable(idx.search(q, facets=["brand"]))
    assert [p.name for p in tmp_path.iterdir()] == ["search"]
    loaded.add([{"id": 8, "title": "new shoes", "sales": 2}])
    assert 8 in ids(loaded.search("new"))


def test_on_disk_index(tmp_path):
    idx = SearchIndex.build(shop(), path=tmp_path / "live")
    assert ids(idx.search("sneakers")) == [4]
    with pytest.raises(InvalidArgumentError):
        SearchIndex.build(shop(), path=tmp_path / "live")


def test_load_refuses_other_directories(tmp_path):
    with pytest.raises(ModelFileError):
        SearchIndex.load(tmp_path)


def test_shoprec_load_and_corruption(tmp_path):
    idx = SearchIndex.build(shop(), popularity="sales")
    idx.save(tmp_path / "s")
    loaded = shoprec.load(tmp_path / "s")
    assert isinstance(loaded, SearchIndex)
    assert comparable(loaded.search("shoes")) == comparable(idx.search("shoes"))
    segment = max((p for p in (tmp_path / "s" / "index").iterdir() if p.is_file()), key=lambda p: p.stat().st_size)
    data = bytearray(segment.read_bytes())
    data[len(data) // 2] ^= 0xFF
    segment.write_bytes(bytes(data))
    with pytest.raises(ModelFileError):
        SearchIndex.load(tmp_path / "s")


# ---------------------------------------------------------------- personal ranking
def personal_setup():
    products = [{"id": f"p{i}", "title": "running shoes", "brand": "acme" if i < 5 else "zoom", "sales": 1} for i in range(10)]
    # Even users love acme (p0-p4) and dislike zoom (p5-p9); odd users the other way round.
    users, items, ratings = [], [], []
    for u in range(20):
        for i in range(10):
            if (i + u) % 3:
                users.append(f"u{u}")
                items.append(f"p{i}")
                ratings.append(5.0 if (i < 5) == (u % 2 == 0) else 1.0)
    model = shoprec.ItemKNN().fit(shoprec.Interactions.from_arrays(users, items, ratings))
    return SearchIndex.build(products, recommender=model, popularity="sales"), model


def test_personal_ranking_moves_toward_the_users_taste():
    idx, _ = personal_setup()
    plain = idx.search("running shoes", k=5)
    assert ids(plain) == ["p0", "p1", "p2", "p3", "p4"]  # equal text and popularity: by id
    zoom_fan = idx.search("running shoes", k=5, user="u1")
    assert set(ids(zoom_fan)) == {f"p{i}" for i in range(5, 10)}
    assert all(zoom_fan.parts["personal"] > 0)
    r = idx.search("running shoes", k=10, user="u1")
    for i in range(10):
        parts = r.explain(i)
        assert sum(parts.values()) == pytest.approx(r.scores[i], abs=1e-6)
    by_history = idx.search("running shoes", k=5, history=["p7"])
    assert set(ids(by_history)) == {f"p{i}" for i in range(5, 10)}


def test_unknown_user_has_no_personal_part():
    idx, _ = personal_setup()
    r = idx.search("running shoes", k=5, user="stranger")
    assert not r.parts["personal"].any()
    assert r.to_list() == idx.search("running shoes", k=5).to_list()
    assert not idx.search("running shoes", history=["nothing"]).parts["personal"].any()


def test_weights_can_change():
    idx, _ = personal_setup()
    idx.set_weights(personal=0.0)
    assert ids(idx.search("running shoes", k=5, user="u1")) == ["p0", "p1", "p2", "p3", "p4"]
    with pytest.raises(InvalidArgumentError):
        Weights(expansion=1.5)


# ------------------------------------------------------------------------ expansion
def test_expansion_with_a_keyword_model():
    electronics = ["laptop", "keyboard", "mouse", "monitor", "usb", "wireless", "gaming", "charger"]
    fashion = ["dress", "skirt", "summer", "floral", "cotton", "blouse", "linen", "scarf"]
    rng = np.random.default_rng(0)
    titles = [" ".join(rng.choice((electronics, fashion)[i % 2], size=4, replace=False)) for i in range(120)]
    model = shoprec.KeywordModel.build(titles, dim=8, min_count=2, evidence_per_term=4)
    products = [{"id": i, "title": t} for i, t in enumerate(titles)]
    idx = SearchIndex.build(products, keyword_model=model, filters=())
    r = idx.search("laptop", k=50)
    assert r.expansions and all(0 < w < 1 for _, w in r.expansions)
    assert all(kw != "laptop" for kw, _ in r.expansions)
    # Expansions re-rank the products with the shopper's word; they add no other products.
    assert all("laptop" in titles[i].split() for i, _ in r)
    assert r.parts["expansion"].any()
    plain = idx.search("laptop", k=50, expand=False)
    assert not plain.expansions and not plain.parts["expansion"].any()
    assert r.total == plain.total
    # When the shopper's words match nothing, the expansions' matches are the answer.
    _, texts, expansions, _, total, *_ = idx._engine.search("qqqq", [("dress", 0.3)], True, [], [], 200, False)
    assert total == sum("dress" in t.split() for t in titles)
    assert len(texts) == total and not texts.any() and (expansions > 0).all()


def test_popularity_within_the_shoppers_segment():
    # u0-u9 buy p0-p4 (popular overall); u10-u15 buy p5-p9.
    users, items = [], []
    for u in range(16):
        for i in (range(5) if u < 10 else range(5, 10)):
            users.append(f"u{u}")
            items.append(f"p{i}")
    segments = shoprec.InterestSegments(n_segments=2).fit(shoprec.Interactions.from_arrays(users, items))
    assert segments.segment_of("u0") != segments.segment_of("u10")
    products = [{"id": f"p{i}", "title": "running shoes"} for i in range(10)]
    idx = SearchIndex.build(products, popularity=segments, filters=())
    assert set(ids(idx.search("running shoes", k=5))) == {f"p{i}" for i in range(5)}
    assert set(ids(idx.search("running shoes", k=5, user="u12"))) == {f"p{i}" for i in range(5, 10)}
    assert set(ids(idx.search("running shoes", k=5, history=["p7"]))) == {f"p{i}" for i in range(5, 10)}
    assert set(ids(idx.search("running shoes", k=5, user="stranger"))) == {f"p{i}" for i in range(5)}


def test_tune_weights_prefers_personal_ranking_when_the_log_says_so():
    from shoprec.search import tune_weights

    idx, _ = personal_setup()
    # Odd users bought zoom products (p5-p9), even users acme (p0-p4).
    log = [{"query": "running shoes", "user": f"u{u}", "item": f"p{(u % 2) * 5 + u % 5}"} for u in range(20)]
    result = tune_weights(idx, log, {"personal": [0.0, 0.35, 2.0]}, cv=4, metric="ndcg@5")
    assert len(result.table) == 3 and all(len(row["folds"]) == 4 for row in result.table)
    assert result.best_params["personal"] > 0
    assert result.table[0]["mean"] < result.best_score
    assert idx.weights == Weights()  # the index itself is unchanged
    with pytest.raises(InvalidArgumentError):
        tune_weights(idx, log, {"colour": [1]})
    with pytest.raises(InvalidArgumentError):
        tune_weights(idx, log, {"personal": [1]}, metric="rmse")


def test_copy_is_independent_and_refresh_popularity_reads_the_new_mapping():
    sales = {row["id"]: float(row["sales"]) for row in shop()}
    original = SearchIndex.build(shop(), popularity=dict(sales))
    copy = original.copy(popularity={**sales, 6: 500.0})
    assert copy.products() == original.products()
    assert copy.refresh_popularity() == 1
    assert copy.set_stock([1], False) == 1
    before = {p["id"]: (p["popularity"], p["in_stock"]) for p in original.products()}
    after = {p["id"]: (p["popularity"], p["in_stock"]) for p in copy.products()}
    assert before[6] == (1.0, True) and after[6] == (500.0, True)
    assert before[1] == (10.0, True) and after[1] == (10.0, False)
    # The copy equals an index built with the new popularity and stock.
    rows = [dict(r, in_stock=False) if r["id"] == 1 else r for r in shop()]
    rebuilt = SearchIndex.build(rows, popularity={**sales, 6: 500.0})
    assert copy.products() == rebuilt.products()
    for query in ("shoes", "", "red"):
        assert copy.search(query, k=6).to_list() == rebuilt.search(query, k=6).to_list()
    assert ids(original.search("", k=1)) == [4]
    assert ids(copy.search("", k=1)) == [6]


# ------------------------------------------------------------------ remembered answers
def answer(results):
    return (results.to_list(), {k: v.tolist() for k, v in results.parts.items()}, results.words, results.expansions,
            results.corrections, results.facets, results.total, results.fallback)


def test_remembered_answers_equal_fresh_ones_across_writes():
    # The same searches asked twice (the second from the remembered answers) and on a copy
    # that remembers nothing; every write in between must start afresh.
    idx = SearchIndex.build(shop(), popularity="sales")
    fresh = SearchIndex.build(shop(), popularity="sales")
    fresh.RESULT_CACHE_MB = 0
    asks = [("running shoes", {}), ("shoes", {"in_stock": True}), ("runing", {"category": ["shoes"]}),
            ("", {"in_stock": True}), ("zzzz", {})]

    def same_everywhere():
        for query, filters in asks:
            first = idx.search(query, 3, filters=filters, facets=("category", "brand"))
            again = idx.search(query, 3, filters=filters, facets=("category", "brand"))
            assert answer(again) == answer(first)
            assert answer(first) == answer(fresh.search(query, 3, filters=filters, facets=("category", "brand")))
        return ids(idx.search("shoes", 10, filters={"in_stock": True}))

    assert same_everywhere() == [2, 1]
    for target in (idx, fresh):
        target.set_stock([2], False)
    assert same_everywhere() == [1]
    new = {"id": 7, "title": "trail shoes", "description": "", "category": "shoes", "brand": "zoom", "price": 60.0,
           "in_stock": True, "sales": 100}
    for target in (idx, fresh):
        target.add([new])
    assert 7 in same_everywhere()
    for target in (idx, fresh):
        target.update([{**new, "title": "trail boots"}])
    assert 7 not in same_everywhere()
    for target in (idx, fresh):
        target.delete([1])
    assert 1 not in same_everywhere()


@pytest.mark.parametrize("bad", [-1, -0.5, float("nan"), "10", None, True])
def test_result_cache_mb_is_checked(index, bad):
    idx = index.copy()
    idx.RESULT_CACHE_MB = bad
    with pytest.raises((InvalidArgumentError, DTypeError)):
        idx.search("shoes")


@pytest.mark.parametrize("megabytes", [0.5, 2**40])
def test_result_cache_mb_takes_fractions_and_huge_numbers(index, megabytes):
    idx = index.copy()
    idx.RESULT_CACHE_MB = megabytes
    assert answer(idx.search("shoes")) == answer(idx.search("shoes")) == answer(index.search("shoes"))
