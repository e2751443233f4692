"""The bad-input matrix (tests/test_bad_input.py), part 1: the fixtures every case runs
against and the ONE table of bad values (``VALUES``: role of an argument -> value name ->
factory). Factories run in the forked child, so a value that allocates a lot is built where a
crash is contained."""

from __future__ import annotations

import math
import os
import tempfile

import numpy as np

# ----------------------------------------------------------------------------- fixtures


class Fixtures:
    """Small fitted objects, built lazily once in the server process (before any fork)."""

    def __init__(self):
        import shoprec

        self.shoprec = shoprec
        rng = np.random.default_rng(0)
        n = 400
        users = rng.integers(0, 30, n)
        items = rng.integers(0, 40, n)
        ratings = rng.integers(1, 11, n) / 2.0
        stamps = rng.integers(1_600_000_000, 1_600_100_000, n)
        self.users_int = users
        self.items_str = np.array([f"i{i}" for i in items])
        self.inter = shoprec.Interactions.from_arrays(users, self.items_str, ratings, timestamps=stamps)
        # The same data with users that are numeric *strings* ("100".."129").
        self.inter_s = shoprec.Interactions.from_arrays([str(100 + u) for u in users], self.items_str, ratings)
        self.models = {
            "itemknn": shoprec.ItemKNN(10).fit(self.inter),
            "userknn": shoprec.UserKNN(10).fit(self.inter),
            "baseline": shoprec.Baseline().fit(self.inter),
            "popular": shoprec.Popular().fit(self.inter),
            "itemknn_s": shoprec.ItemKNN(10).fit(self.inter_s),
        }
        self.segments = shoprec.InterestSegments(2, n_components=4, seed=0).fit(self.inter)
        self.known_user = int(self.inter.user_ids[0])
        self.known_item = str(self.inter.item_ids[0])
        self.tmp = tempfile.mkdtemp(prefix="shoprec-bad-input-")
        self.model_path = os.path.join(self.tmp, "model.shoprec")
        self.models["itemknn"].save(self.model_path)
        self._keywords = None
        self._shop = None
        import pandas as pd

        self.pd = pd
        self.frame = pd.DataFrame({"user": users, "item": self.items_str, "rating": ratings,
                                   "timestamp": pd.to_datetime(stamps, unit="s")})

    @property
    def shop(self):
        """A small Shop over the same ids (int users, "i<n>" products), saved in ``shop_dir``;
        its search index (with the keyword model and recommender) is ``search``."""
        if self._shop is None:
            shoprec, pd = self.shoprec, self.pd
            self.products = pd.DataFrame({
                "id": [f"i{i}" for i in range(40)],
                "title": [KW_TEXTS[i % 8] + f" {i}" for i in range(40)],
                "category": ["computers" if i % 8 < 4 else "clothes" for i in range(40)],
                "brand": ["acme" if i % 3 else "zoom" for i in range(40)],
                "price": [10.0 + i for i in range(40)],
                "in_stock": [i % 5 != 0 for i in range(40)],
            })
            events = self.frame.assign(event=np.where(self.frame["rating"] > 3, "purchase", "view")).drop(columns="rating")
            config = {"evaluate": False, "keyword_dim": 4, "drop_bots": False, "dedupe_window": None, "n_segments": 2}
            self._shop = shoprec.Shop.build(self.products, events, config=config, progress=False)
            self.shop_dir = os.path.join(self.tmp, "shop")
            self._shop.save(self.shop_dir)
            self.events = events
        return self._shop

    @property
    def search(self):
        return self.shop.parts.search

    @property
    def keywords(self):
        if self._keywords is None:
            self._keywords = self.shoprec.KeywordModel.build(KW_TEXTS, dim=4, seed=0)
            self.keywords_dir = os.path.join(self.tmp, "kw")
            self._keywords.save(self.keywords_dir)
        return self._keywords


KW_TEXTS = ["gaming laptop 16GB", "asus laptop notebook", "wireless mouse usb", "gaming keyboard usb",
            "summer floral dress", "cotton summer skirt", "联想 游戏本 笔记本", "无线 鼠标"] * 3

# ----------------------------------------------------------------------------- bad values
# Each role maps value names to factories ``f(fx)``. Factories run in the child, so a value
# that allocates a lot is built where a crash is contained.


def _gen(values):
    return (v for v in values)


def _strided(n=20):
    return np.arange(2 * n, dtype=np.float64)[::2] % 7


def _fortran(rows=4, cols=6):
    return np.asfortranarray(np.arange(rows * cols, dtype=np.float64).reshape(rows, cols) % 5)


BIG = "x" * (1 << 20)
SURROGATE = "\udcff"

VALUES = {
    "k": {
        "None": lambda fx: None, "zero": lambda fx: 0, "negative": lambda fx: -1,
        "float": lambda fx: 2.5, "nan": lambda fx: math.nan, "inf": lambda fx: math.inf,
        "huge": lambda fx: 10**12, "2**31": lambda fx: 2**31, "2**63": lambda fx: 2**63,
        "2**64": lambda fx: 2**64, "bool": lambda fx: True, "str": lambda fx: "10",
        "complex": lambda fx: 3 + 0j, "np.int8": lambda fx: np.int8(3), "np.uint64_huge": lambda fx: np.uint64(2**63),
        "array": lambda fx: np.array([3]),
    },
    "user": {
        "None": lambda fx: None, "nan": lambda fx: math.nan, "unknown": lambda fx: 10**6,
        "negative": lambda fx: -1, "huge": lambda fx: 2**70, "str_of_known_int": lambda fx: str(fx.known_user),
        "padded_str_of_int": lambda fx: f"0{fx.known_user}", "bool": lambda fx: True,
        "empty_str": lambda fx: "", "emoji": lambda fx: "🛒", "surrogate": lambda fx: SURROGATE,
        "control": lambda fx: "u\x00\x1b", "1MB": lambda fx: BIG, "bytes": lambda fx: str(fx.known_user).encode(),
        "list": lambda fx: [fx.known_user], "dict": lambda fx: {"id": 1}, "float_of_known": lambda fx: float(fx.known_user),
        "np.int8": lambda fx: np.int8(fx.known_user), "complex": lambda fx: 1j,
    },
    "item": {
        "None": lambda fx: None, "nan": lambda fx: math.nan, "unknown": lambda fx: "no-such-item",
        "int": lambda fx: 3, "empty_str": lambda fx: "", "emoji": lambda fx: "🛒",
        "surrogate": lambda fx: SURROGATE, "control": lambda fx: "\x00", "1MB": lambda fx: BIG,
        "bytes": lambda fx: fx.known_item.encode(), "list": lambda fx: [fx.known_item], "bool": lambda fx: False,
    },
    # A sequence of item ids (items=, exclude=, history=).
    "ids": {
        "None": lambda fx: None, "empty_list": lambda fx: [], "empty_array": lambda fx: np.array([]),
        "generator": lambda fx: _gen([fx.known_item]), "single_str": lambda fx: fx.known_item,
        "set": lambda fx: {fx.known_item}, "tuple": lambda fx: (fx.known_item,),
        "dict": lambda fx: {fx.known_item: 1}, "unknown": lambda fx: ["nope", "🛒", SURROGATE, ""],
        "with_none": lambda fx: [fx.known_item, None], "with_nan": lambda fx: [fx.known_item, math.nan],
        "unhashable": lambda fx: [[1, 2]], "mixed": lambda fx: [fx.known_item, 3, b"x"],
        "int_array": lambda fx: np.array([1, 2], dtype=np.int8), "float16": lambda fx: np.array([1, 2], np.float16),
        "complex": lambda fx: np.array([1j]), "bool_array": lambda fx: np.array([True, False]),
        "2d": lambda fx: np.array([[fx.known_item]]), "int": lambda fx: 7, "1MB": lambda fx: [BIG],
    },
    # A sequence of user ids (recommend_many, predict_many).
    "users": {
        "None": lambda fx: None, "empty": lambda fx: [], "str": lambda fx: "u1",
        "generator": lambda fx: _gen([fx.known_user, 10**6]), "with_none": lambda fx: [fx.known_user, None],
        "with_nan": lambda fx: [fx.known_user, math.nan], "unhashable": lambda fx: [[1]],
        "mixed": lambda fx: [fx.known_user, str(fx.known_user), b"1"], "int8": lambda fx: np.array([1, 2], np.int8),
        "float16": lambda fx: np.array([1, 2], np.float16), "complex": lambda fx: np.array([1j, 2j]),
        "bool": lambda fx: np.array([True]), "2d": lambda fx: np.array([[1, 2]]), "int": lambda fx: 5,
        "huge": lambda fx: [2**70], "negative": lambda fx: [-1],
    },
    # A numeric array (kernels).
    "array": {
        "None": lambda fx: None, "empty": lambda fx: np.zeros(0), "nan": lambda fx: np.array([1.0, math.nan, 2.0]),
        "inf": lambda fx: np.array([1.0, math.inf, 2.0]), "object": lambda fx: np.array([1, "a"], dtype=object),
        "bool": lambda fx: np.array([True, False, True]), "complex": lambda fx: np.array([1j, 2.0]),
        "int8": lambda fx: np.array([3, 1, 2], np.int8), "float16": lambda fx: np.array([3, 1, 2], np.float16),
        "strided": lambda fx: _strided(), "fortran": lambda fx: _fortran(), "3d": lambda fx: np.zeros((2, 2, 2)),
        "0d": lambda fx: np.float64(1.0), "strings": lambda fx: ["a", "b"], "generator": lambda fx: _gen([1.0, 2.0]),
        "ragged": lambda fx: [[1.0], [1.0, 2.0]], "sparse": lambda fx: __import__("scipy.sparse").sparse.eye(3),
    },
    "text": {
        "None": lambda fx: None, "empty": lambda fx: "", "emoji": lambda fx: "🛒🛒 laptop",
        "surrogate": lambda fx: SURROGATE, "surrogate_mixed": lambda fx: "lap\ud800top",
        "control": lambda fx: "\x00\x1b\x7f", "1MB": lambda fx: BIG, "bytes": lambda fx: b"laptop",
        "int": lambda fx: 5, "list": lambda fx: ["laptop"], "rtl": lambda fx: "\u202eпотпал\u200d",
        "combining": lambda fx: "e\u0301\u0301\u0301", "whitespace": lambda fx: " \t\n\u3000",
    },
    # A sequence of texts (KeywordModel.build, expand_many).
    "texts": {
        "None": lambda fx: None, "empty": lambda fx: [], "str": lambda fx: "laptop mouse",
        "generator": lambda fx: _gen(KW_TEXTS), "with_none": lambda fx: KW_TEXTS + [None],
        "with_surrogate": lambda fx: KW_TEXTS + [SURROGATE], "all_empty": lambda fx: ["", " "],
        "bytes": lambda fx: [b"laptop"], "1MB": lambda fx: KW_TEXTS + [BIG], "ints": lambda fx: [1, 2],
        "emoji_only": lambda fx: ["🛒", "🎉"],
    },
    "number": {
        "None": lambda fx: None, "nan": lambda fx: math.nan, "inf": lambda fx: math.inf,
        "-inf": lambda fx: -math.inf, "negative": lambda fx: -1.0, "huge": lambda fx: 1e308,
        "str": lambda fx: "0.5", "complex": lambda fx: 1j, "bool": lambda fx: True,
    },
    "path": {
        "None": lambda fx: None, "missing": lambda fx: os.path.join(fx.tmp, "missing"),
        "directory": lambda fx: fx.tmp, "empty_file": lambda fx: _file(fx, "empty", b""),
        "binary_file": lambda fx: _file(fx, "binary", bytes(range(256)) * 4),
        "text_file": lambda fx: _file(fx, "text.csv", b"user,item\n1,a\n"),
        "int": lambda fx: 3, "surrogate": lambda fx: os.path.join(fx.tmp, SURROGATE),
        "nul": lambda fx: "a\x00b", "1MB": lambda fx: BIG,
    },
    "frame": {
        "None": lambda fx: None, "empty": lambda fx: fx.frame.iloc[:0], "dict": lambda fx: {"user": [1]},
        "dup_columns": lambda fx: fx.frame.rename(columns={"item": "user"}),
        "missing_ids": lambda fx: fx.frame.assign(user=fx.frame["user"].astype(object).where(fx.frame.index > 0)),
        "nan_rating": lambda fx: fx.frame.assign(rating=np.where(fx.frame.index == 3, np.nan, fx.frame["rating"])),
        "inf_rating": lambda fx: fx.frame.assign(rating=np.inf),
        "object_rating": lambda fx: fx.frame.assign(rating="five"),
        "no_columns": lambda fx: fx.pd.DataFrame(),
        "mixed_ids": lambda fx: fx.frame.assign(user=[u if i % 2 else str(u) for i, u in enumerate(fx.frame["user"])]),
    },
    "interactions": {
        "None": lambda fx: None, "frame": lambda fx: fx.frame, "empty_selection": lambda fx: fx.inter.select([]),
        "list": lambda fx: [(1, "a")], "one_user": lambda fx: fx.shoprec.Interactions.from_arrays([1], ["a"]),
        "unfitted_model": lambda fx: fx.shoprec.ItemKNN(),
    },
    "rows": {
        "None": lambda fx: None, "floats": lambda fx: [0.5, 1.7], "negative": lambda fx: [-1],
        "huge": lambda fx: [10**12], "wrong_mask": lambda fx: np.ones(3, bool), "strings": lambda fx: ["a"],
        "generator": lambda fx: _gen([0, 1]), "2d": lambda fx: np.zeros((2, 2), int), "nan": lambda fx: [math.nan],
        "complex": lambda fx: [1j],
    },
    "cutoff": {
        "None": lambda fx: None, "nan": lambda fx: math.nan, "inf": lambda fx: math.inf,
        "timestamp": lambda fx: fx.pd.Timestamp(1_600_050_000, unit="s"),
        "datetime64": lambda fx: np.datetime64(1_600_050_000, "s"), "str": lambda fx: "2020-09-14",
        "nat": lambda fx: np.datetime64("NaT"), "list": lambda fx: [1, 2], "complex": lambda fx: 1j,
        "datetime": lambda fx: __import__("datetime").datetime(2020, 9, 14),
    },
    "grid": {
        "None": lambda fx: None, "empty_values": lambda fx: {"k_neighbours": []}, "str": lambda fx: "abc",
        "scalar_values": lambda fx: {"k_neighbours": 5}, "bad_param": lambda fx: {"no_such": [1]},
        "bad_value": lambda fx: {"k_neighbours": [-1]}, "generator": lambda fx: {"k_neighbours": _gen([5, 10])},
        "list": lambda fx: [("k_neighbours", [5])],
    },
    "filters": {  # search / Shop filters
        "None": lambda fx: None, "str": lambda fx: "category", "list": lambda fx: [("category", "clothes")],
        "unknown_field": lambda fx: {"colour": "red"}, "int_key": lambda fx: {5: "x"},
        "number_for_str": lambda fx: {"category": 5}, "str_for_number": lambda fx: {"price": "cheap"},
        "short_range": lambda fx: {"price": (1,)}, "open_range": lambda fx: {"price": (None, None)},
        "nan_price": lambda fx: {"price": math.nan}, "inf_range": lambda fx: {"price": (math.inf, None)},
        "bad_range_key": lambda fx: {"price": {"min": 1, "most": 2}}, "complex_price": lambda fx: {"price": 1j},
        "bool_for_number": lambda fx: {"price": True}, "str_for_bool": lambda fx: {"in_stock": "yes"},
        "none_in_list": lambda fx: {"category": ["clothes", None]}, "surrogate_value": lambda fx: {"category": SURROGATE},
        "1MB_value": lambda fx: {"category": BIG}, "empty_dict": lambda fx: {}, "set_of_str": lambda fx: {"category": {"clothes"}},
        "generator_value": lambda fx: {"category": _gen(["clothes"])},
    },
    "facets": {
        "None": lambda fx: None, "str": lambda fx: "category", "unknown": lambda fx: ["colour"], "int": lambda fx: [5],
        "number_field": lambda fx: ["price"], "empty_str": lambda fx: [""], "with_none": lambda fx: ["category", None],
        "generator": lambda fx: _gen(["category"]), "empty": lambda fx: [], "int_scalar": lambda fx: 5,
    },
    "products": {  # rows for SearchIndex.build / add / update and Shop.build
        "None": lambda fx: None, "empty": lambda fx: [], "str": lambda fx: "i1", "ints": lambda fx: [1, 2],
        "dict": lambda fx: {"id": "n1", "title": "one new product"}, "empty_frame": lambda fx: fx.products.iloc[:0],
        "missing_id": lambda fx: [{"title": "no id"}], "none_id": lambda fx: [{"id": None, "title": "x"}],
        "nan_id": lambda fx: [{"id": math.nan, "title": "x"}], "bool_id": lambda fx: [{"id": True, "title": "x"}],
        "float_id": lambda fx: [{"id": 1.5, "title": "x"}], "bytes_id": lambda fx: [{"id": b"n1", "title": "x"}],
        "huge_int_id": lambda fx: [{"id": 2**70, "title": "x"}], "duplicate_ids": lambda fx: [{"id": "n1"}, {"id": "n1"}],
        "known_id": lambda fx: [{"id": fx.known_item, "title": "again"}],
        "1MB_title": lambda fx: [{"id": "n1", "title": BIG}], "surrogate_title": lambda fx: [{"id": "n1", "title": SURROGATE}],
        "int_title": lambda fx: [{"id": "n1", "title": 5}], "str_price": lambda fx: [{"id": "n1", "price": "cheap"}],
        "nan_price": lambda fx: [{"id": "n1", "title": "x", "price": math.nan}],
        "inf_price": lambda fx: [{"id": "n1", "title": "x", "price": math.inf}],
        "int_category": lambda fx: [{"id": "n1", "category": 5}], "str_stock": lambda fx: [{"id": "n1", "in_stock": "yes"}],
        "nested_title": lambda fx: [{"id": "n1", "title": {"en": "x"}}],
        "frame_dup_columns": lambda fx: fx.products.rename(columns={"brand": "title"}),
    },
    "new_events": {  # Interactions given to model.update
        "None": lambda fx: None, "frame": lambda fx: fx.frame, "list": lambda fx: [(1, "i1")],
        "empty_selection": lambda fx: fx.inter.select([]), "new_user": lambda fx: _events(fx, [10**6], ["i1"]),
        "known_pair": lambda fx: _events(fx, [fx.known_user], [fx.known_item]),
        "new_item": lambda fx: _events(fx, [fx.known_user], ["brand-new"]),
        "str_users": lambda fx: _events(fx, [str(fx.known_user)], [fx.known_item]),
        "int_items": lambda fx: _events(fx, [fx.known_user], [7]),
        "no_timestamps": lambda fx: fx.shoprec.Interactions.from_arrays([fx.known_user], [fx.known_item], [4.0]),
        "no_ratings": lambda fx: fx.shoprec.Interactions.from_arrays([fx.known_user], [fx.known_item],
                                                                       timestamps=[1_600_100_001]),
        "model": lambda fx: fx.models["popular"],
    },
    "argv": {  # the shoprec command line (python -m shoprec / the console script)
        "empty": lambda fx: [], "unknown_command": lambda fx: ["frobnicate"], "help": lambda fx: ["--help"],
        "missing_shop": lambda fx: ["recommend", os.path.join(fx.tmp, "missing"), "u1"],
        "unknown_user": lambda fx: ["recommend", fx.shop_dir, "nobody"],
        "int_user_as_text": lambda fx: ["recommend", fx.shop_dir, str(fx.known_user)],
        "surrogate_user": lambda fx: ["recommend", fx.shop_dir, SURROGATE],
        "k_zero": lambda fx: ["recommend", fx.shop_dir, "1", "-k", "0"],
        "k_huge": lambda fx: ["recommend", fx.shop_dir, "1", "-k", str(10**30)],
        "k_text": lambda fx: ["recommend", fx.shop_dir, "1", "-k", "ten"],
        "similar_unknown": lambda fx: ["similar", fx.shop_dir, "no-such-item"],
        "similar_emoji": lambda fx: ["similar", fx.shop_dir, "🛒"],
        "search_surrogate": lambda fx: ["search", fx.shop_dir, SURROGATE],
        "search_1MB": lambda fx: ["search", fx.shop_dir, BIG],
        "search_control": lambda fx: ["search", fx.shop_dir, "\x1b[2J\x00"],
        "search_nan_price": lambda fx: ["search", fx.shop_dir, "mouse", "--max-price", "nan"],
        "search_negative_price": lambda fx: ["search", fx.shop_dir, "mouse", "--max-price", "-1"],
        "search_unknown_category": lambda fx: ["search", fx.shop_dir, "mouse", "--category", "nope"],
        "evaluate_without_evaluation": lambda fx: ["evaluate", fx.shop_dir],
        "shop_is_a_model_file": lambda fx: ["recommend", fx.model_path, "1"],
        "shop_is_a_plain_directory": lambda fx: ["recommend", _folder(fx, "plain"), "1"],
        "shop_corrupt": lambda fx: ["recommend", _corrupt_copy(fx), "1"],
        "build_no_inputs": lambda fx: ["build", "--out", os.path.join(fx.tmp, "out")],
        "build_missing_files": lambda fx: ["build", "--products", os.path.join(fx.tmp, "missing.csv"), "--events",
                                           os.path.join(fx.tmp, "missing.csv"), "--out", os.path.join(fx.tmp, "out")],
        "build_empty_files": lambda fx: ["build", "--products", _file(fx, "empty.csv", b""), "--events",
                                         _file(fx, "empty.csv", b""), "--out", os.path.join(fx.tmp, "out")],
        "build_binary_files": lambda fx: ["build", "--products", _file(fx, "binary.csv", bytes(range(256)) * 4),
                                          "--events", _file(fx, "binary.csv", bytes(range(256)) * 4),
                                          "--out", os.path.join(fx.tmp, "out")],
        "build_wrong_columns": lambda fx: ["build", "--products", _file(fx, "text.csv", b"user,item\n1,a\n"), "--events",
                                           _file(fx, "text.csv", b"user,item\n1,a\n"), "--out", os.path.join(fx.tmp, "out")],
        "build_bad_config_json": lambda fx: ["build", "--products", "p.csv", "--events", "e.csv", "--config", "{oops",
                                             "--out", os.path.join(fx.tmp, "out")],
        "build_unknown_config_field": lambda fx: _build_argv(fx, '{"no_such_field": 1}'),
        "build_bad_config_value": lambda fx: _build_argv(fx, '{"n_segments": -3}'),
        "build_config_not_object": lambda fx: _build_argv(fx, '[1, 2]'),
        "build_out_is_a_file": lambda fx: _build_argv(fx, None, out=fx.model_path),
        "build_movielens_missing": lambda fx: ["build", "--movielens", os.path.join(fx.tmp, "missing"), "--out",
                                               os.path.join(fx.tmp, "out")],
        "demo_zero_users": lambda fx: ["demo", "--users", "0"],
        "serve_missing": lambda fx: ["serve", os.path.join(fx.tmp, "missing")],
    },
    "lists": {  # recommended / relevant lists for ranking_metrics_from_lists
        "None": lambda fx: None, "duplicates": lambda fx: [["a", "a", "a"]], "generator": lambda fx: _gen([["a"]]),
        "str": lambda fx: "abc", "nested_none": lambda fx: [None], "unhashable": lambda fx: [[["a"]]],
        "empty": lambda fx: [],
    },
}


def _events(fx, users, items):
    """New events built like the fixture's (ratings and timestamps)."""
    n = len(users)
    return fx.shoprec.Interactions.from_arrays(users, items, [4.0] * n, timestamps=[1_600_100_001] * n)


def _folder(fx, name):
    path = os.path.join(fx.tmp, name)
    os.makedirs(path, exist_ok=True)
    return path


def _corrupt_copy(fx):
    import shutil

    path = os.path.join(fx.tmp, "corrupt-shop")
    if not os.path.exists(path):
        shutil.copytree(fx.shop_dir, path)
        victim = os.path.join(path, "recommender.shoprec")
        data = bytearray(open(victim, "rb").read())
        data[len(data) // 2] ^= 0xFF
        open(victim, "wb").write(bytes(data))
    return path


def _build_argv(fx, config, out=None):
    products = os.path.join(fx.tmp, "products.csv")
    events = os.path.join(fx.tmp, "events.csv")
    if not os.path.exists(products):
        fx.products.to_csv(products, index=False)
        fx.events.to_csv(events, index=False)
    argv = ["build", "--products", products, "--events", events, "-q", "--out", out or os.path.join(fx.tmp, "built")]
    return argv + (["--config", config] if config is not None else [])


def _file(fx, name, data):
    path = os.path.join(fx.tmp, name)
    with open(path, "wb") as handle:
        handle.write(data)
    return path
