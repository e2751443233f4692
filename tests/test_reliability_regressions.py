"""Regression tests for the defects the bad-input matrix, the corrupt-file and the kill-mid-save
tests found in the search index, the Shop, model updates and the command line (issue 12). Each
test names the defect it pins down; the matrix (tests/test_bad_input.py) covers the rest of
each class."""

import os
import tempfile

import numpy as np
import pandas as pd
import pytest

import shoprec
from shoprec import Interactions, ItemKNN, SearchIndex
from shoprec.errors import DTypeError, InvalidArgumentError
from shoprec.io import scratch_directory

PRODUCTS = [
    {"id": "a", "title": "red running shoes", "category": "shoes", "in_stock": True},
    {"id": "b", "title": "blue wool hat", "category": "hats", "in_stock": True},
    {"id": 7, "title": "odd \udcff sock", "category": "socks \udcff", "in_stock": True},
]


@pytest.fixture(scope="module")
def index():
    return SearchIndex.build(PRODUCTS)


# ------------------------------------------------------------------------- search index
@pytest.mark.parametrize("method", ["delete", "set_stock"])
def test_ids_none_is_a_clean_error_not_a_type_error(index, method):
    # Was: TypeError 'NoneType' object is not iterable.
    args = (None,) if method == "delete" else (None, False)
    with pytest.raises(DTypeError, match="ids"):
        getattr(index, method)(*args)


@pytest.mark.parametrize("method", ["delete", "set_stock"])
def test_an_id_with_a_lone_surrogate_is_refused_cleanly(index, method):
    # Was: UnicodeEncodeError on the way to Rust.
    args = (["x\udcff"],) if method == "delete" else (["x\udcff"], False)
    with pytest.raises(InvalidArgumentError, match="surrogate"):
        getattr(index, method)(*args)
    with pytest.raises(InvalidArgumentError, match="surrogate"):
        SearchIndex.build([{"id": "x\udcff", "title": "t"}])


def test_one_id_and_generators_of_ids_are_read_as_ids():
    idx = SearchIndex.build(PRODUCTS)
    assert idx.delete("a") == 1  # one id, not its characters
    assert idx.set_stock((i for i in ["b"]), False) == 1
    assert [p["id"] for p in idx.products()] == [7, "b"]


@pytest.mark.parametrize("bad, error", [(None, DTypeError), (3, DTypeError), ("a\x00b", InvalidArgumentError),
                                        ("x" * 300, InvalidArgumentError)])
def test_load_checks_the_path_like_shoprec_load(bad, error):
    # Was: TypeError, FileNotFoundError for a NUL, OSError "File name too long".
    with pytest.raises(error, match="directory"):
        SearchIndex.load(bad)


def test_facets_that_are_not_names_are_a_clean_error(index):
    # Was: TypeError 'int' object is not iterable.
    with pytest.raises(InvalidArgumentError, match="facets"):
        index.search("shoes", facets=5)


def test_a_filter_value_with_a_lone_surrogate_matches_as_the_products_were_read(index):
    # Was: UnicodeEncodeError. The engine reads a product's lone surrogate as U+FFFD; a
    # filter with the same text finds it, and the query path never raises.
    results = index.search("sock", filters={"category": "socks \udcff"}, expand=False)
    assert results.items.tolist() == [7] and results.fallback is None
    assert index.search("sock", filters={"category": "\udcff"}).fallback == "popular"


def test_scratch_files_of_a_killed_save_go_at_the_next_save(index, tmp_path, monkeypatch):
    # Was: a search index (or a shop with one) killed mid-save left a copy of the index in
    # /tmp/shoprec-search-* for good.
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    os.mkdir(tmp_path / "tmp")
    dead = tmp_path / "tmp" / ".shoprec-staging-999999999-left"  # no such pid
    (dead / "index").mkdir(parents=True)
    (dead / "index" / "meta.json").write_text("{}")
    with scratch_directory() as scratch:
        assert scratch.parent == tmp_path / "tmp"
    index.save(tmp_path / "saved")
    assert list((tmp_path / "tmp").iterdir()) == []
    assert SearchIndex.load(tmp_path / "saved").search("shoes").items.tolist() == index.search("shoes").items.tolist()


# -------------------------------------------------------------------------------- shop
@pytest.fixture(scope="module")
def shop():
    from shoprec.datasets import demo_shop

    data = demo_shop(n_users=20, n_products=32, seed=0)
    return shoprec.Shop.build(data.products, data.events, config={"evaluate": False, "keywords": False},
                              progress=False), data


@pytest.mark.parametrize("filters", ["category", [("category", "phone")]])
def test_shop_search_filters_must_be_a_mapping(shop, filters):
    # Was: ValueError from dict("category"), and a list of pairs taken silently.
    with pytest.raises(InvalidArgumentError, match="filters"):
        shop[0].search("phone", filters=filters)


@pytest.mark.parametrize("products", [None, [], "p.csv", [{"id": "p1", "title": "x"}]])
def test_shop_build_needs_a_dataframe_of_products(shop, products):
    # Was: TypeError "Unexpected type for hashing" from the input fingerprint.
    with pytest.raises(DTypeError, match="products"):
        shoprec.Shop.build(products, shop[1].events, progress=False)


def test_shop_build_refuses_repeated_column_names(shop):
    # Was: a shop built silently from whichever 'title' column pandas returned first.
    data = shop[1]
    products = data.products.rename(columns={"brand": "title"})
    with pytest.raises(InvalidArgumentError, match="repeated column"):
        shoprec.Shop.build(products, data.events, progress=False)
    events = data.events.rename(columns={"event": "item"})
    with pytest.raises(InvalidArgumentError, match="repeated column"):
        shoprec.Shop.build(data.products, events, progress=False)


# ------------------------------------------------------------------------------ update
@pytest.fixture(scope="module")
def int_model():
    data = Interactions.from_arrays([1, 2, 3, 3], ["a", "b", "a", "c"], [5.0, 4.0, 3.0, 2.0])
    return ItemKNN(5).fit(data)


@pytest.mark.parametrize("users, items, which", [(["3"], ["a"], "users"), ([3], [7], "items")])
def test_update_refuses_ids_of_the_other_type(int_model, users, items, which):
    # Was: "3" became a second user next to 3 (and 7 an int item among str ones).
    with pytest.raises(DTypeError, match=which):
        int_model.update(Interactions.from_arrays(users, items, [4.0]))
    # The same ids as the model's type are fine.
    updated = int_model.update(Interactions.from_arrays([3], ["b"], [4.0]))
    assert updated.recommend(3, 5).reason is None


@pytest.mark.parametrize("cap", ["0.5", True, 1j])
def test_update_cap_must_be_a_number(int_model, cap):
    # Was: "0.5" and True accepted as caps, 1j a TypeError from float().
    with pytest.raises(DTypeError, match="cap"):
        int_model.update(Interactions.from_arrays([3], ["b"], [4.0]), combine="sum", cap=cap)


def test_update_reference_still_equals_a_refit(int_model):
    new = Interactions.from_arrays([4, 1], ["c", "b"], [5.0, 1.0])
    merged = Interactions.from_arrays([1, 2, 3, 3, 4, 1], ["a", "b", "a", "c", "c", "b"], [5.0, 4.0, 3.0, 2.0, 5.0, 1.0])
    refit = ItemKNN(5).fit(merged)
    updated = int_model.update(new)
    for user in (1, 2, 3, 4):
        a, b = updated.recommend(user, 3), refit.recommend(user, 3)
        assert a.items.tolist() == b.items.tolist()
        np.testing.assert_allclose(a.scores, b.scores, rtol=1e-6)


def test_search_offset_past_any_size_gives_no_results(index):
    # Was: OverflowError for offset=2**64 (offset + k crossed to Rust as a usize).
    for offset in (2**64, 10**30, len(index)):
        results = index.search("shoes", offset=offset)
        assert len(results) == 0 and results.total == 1


def test_products_with_repeated_column_names_are_refused(index):
    # Was: an index built from whichever of the two 'title' columns to_dict kept.
    frame = pd.DataFrame([["x", "red shoes", "blue hat"]], columns=["id", "title", "title"])
    with pytest.raises(InvalidArgumentError, match="repeated column"):
        SearchIndex.build(frame)
    with pytest.raises(InvalidArgumentError, match="repeated column"):
        index.update(frame)


# ---------------------------------------------------------------------- config and CLI
@pytest.mark.parametrize("field, value", [("n_segments", -3), ("k_neighbours", 0), ("keyword_dim", 2.5),
                                          ("shrinkage", float("nan")), ("evaluate", "no"), ("num_threads", -1)])
def test_shop_config_checks_its_numbers(field, value):
    # Was: ShopConfig(n_segments=-3) accepted, and `shoprec build --config` built a shop with it.
    with pytest.raises((InvalidArgumentError, DTypeError), match=field):
        shoprec.ShopConfig.of({field: value})


@pytest.mark.parametrize("content", [b"", bytes(range(256)) * 4])
def test_cli_build_from_an_unreadable_table_is_an_error_message_not_a_traceback(tmp_path, capsys, content):
    # Was: pandas' EmptyDataError / ParserError escaped `shoprec build` with a traceback.
    from shoprec import cli

    bad = tmp_path / "bad.csv"
    bad.write_bytes(content)
    code = cli.main(["build", "--products", str(bad), "--events", str(bad), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 1 and "--products" in err and "Traceback" not in err
