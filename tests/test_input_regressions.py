"""Focused regressions for the defects of issue 12 that the bad-input matrix found, each
checked against an independent reference (the matrix checks that bad input is refused
cleanly; these check that the accepted input gives the right answer)."""

import datetime

import numpy as np
import pandas as pd
import pytest

import shoprec
from shoprec import (
    DTypeError,
    Interactions,
    InvalidArgumentError,
    ItemKNN,
    Popular,
    UnknownIdError,
    evaluate,
    tune,
)


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(7)
    users = rng.integers(0, 25, 500)
    items = rng.integers(0, 30, 500)
    return Interactions.from_arrays(users, [f"i{i}" for i in items], rng.integers(1, 6, 500).astype(float),
                                    timestamps=rng.integers(0, 10_000, 500))


@pytest.fixture(scope="module")
def model(data):
    return ItemKNN(10).fit(data)


# ------------------------------------------------------------------ ids


def test_string_form_of_an_int_id_matches_and_padded_forms_do_not(data, model):
    user = int(data.user_ids[3])
    assert model.recommend(str(user), 5) == model.recommend(user, 5)
    assert model.recommend(str(user), 5).reason is None
    assert model.recommend(f"0{user}", 5).reason == "unknown_user"
    assert model.recommend(f" {user}", 5).reason == "unknown_user"
    assert model.recommend(str(user).encode(), 5).reason == "unknown_user"  # bytes are not text
    assert model.recommend(True, 5).reason == "unknown_user"  # True is not the user 1
    many = model.recommend_many([user, str(user), 10**6], 5)
    assert many[0] == many[1] and many[1].reason is None and many[2].reason == "unknown_user"


def test_int_matches_its_string_id():
    inter = Interactions.from_arrays(["100", "100", "101", "102"], ["a", "b", "a", "c"])
    m = ItemKNN(5).fit(inter)
    assert m.recommend(100, 3) == m.recommend("100", 3) and m.recommend(100, 3).reason != "unknown_user"
    assert m.similar_users(101) == m.similar_users("101")


def test_strict_raises_for_unknown_users_only(data, model):
    user = int(data.user_ids[0])
    assert model.recommend(str(user), 5, strict=True) == model.recommend(user, 5)
    with pytest.raises(UnknownIdError, match="integers, got str"):
        model.recommend("u1", 5, strict=True)
    with pytest.raises(UnknownIdError, match="users"):
        model.recommend_many([user, 10**6], 5, strict=True)
    assert Popular().fit(data).recommend(user, 3, strict=True).reason is None


def test_a_str_is_not_a_sequence_of_users(model):
    with pytest.raises(DTypeError, match="users must be a sequence of ids, got a single str"):
        model.recommend_many("u1")
    with pytest.raises(DTypeError, match="users"):
        model.recommend_many(None)


@pytest.mark.parametrize("how", ["generator", "set", "dict_keys", "map"])
def test_generators_and_iterables_as_filters_count(data, model, how):
    user = int(data.user_ids[0])
    full = model.recommend(user, 30, exclude_seen=False)
    banned = full.items[:3].tolist()
    make = {"generator": lambda: (x for x in banned), "set": lambda: set(banned),
            "dict_keys": lambda: dict.fromkeys(banned).keys(), "map": lambda: map(str, banned)}[how]
    excluded = model.recommend(user, 30, exclude_seen=False, exclude=make())
    assert not set(banned) & set(excluded.items.tolist())
    assert excluded.items.tolist() == [i for i in full.items.tolist() if i not in banned][: len(excluded)]
    only = model.recommend(user, 30, exclude_seen=False, items=make())
    assert sorted(only.items.tolist()) == sorted(banned)
    history = model.recommend_for_history(make(), 10)
    assert history == model.recommend_for_history(list(banned), 10)
    assert model.recommend_many([user], 30, exclude_seen=False, exclude=make())[0] == excluded


# ------------------------------------------------------------------ evaluate


def test_a_test_set_with_its_own_interactions_is_evaluated_by_ids(data):
    train, test = evaluate.random_split(data, 0.3, seed=1)
    m = ItemKNN(10).fit(train)
    # The same test entries in a new Interactions: other id maps (fewer users and items,
    # different order), as a shop gets from a later export.
    users, items = test.user_ids[test.users], test.item_ids[test.items]
    order = np.argsort([f"{i}" for i in items])[::-1]
    own = Interactions.from_arrays(users[order].astype(str), items[order], test.values[order])
    assert own.user_ids.tolist() != test.user_ids.tolist()
    assert evaluate.ranking_metrics(m, own, 5) == pytest.approx(evaluate.ranking_metrics(m, test, 5))
    assert evaluate.rating_metrics(m, own) == pytest.approx(evaluate.rating_metrics(m, test))


def test_duplicate_ids_count_once_in_list_metrics():
    # Reference by hand: one relevant item "a" recommended three times counts as one hit at rank 1.
    got = evaluate.ranking_metrics_from_lists([["a", "a", "a"]], [["a", "a"]], 3)
    assert got["recall@3"] == 1.0 and got["map@3"] == 1.0 and got["ndcg@3"] == 1.0
    assert got["precision@3"] == pytest.approx(1 / 3)


def test_ranking_metrics_with_a_huge_k_equal_k_at_the_catalogue(data, model):
    test = data.select(np.arange(100))
    n = len(data.item_ids)
    small = evaluate.ranking_metrics(model, test, n)
    huge = evaluate.ranking_metrics(model, test, 10**12)
    assert huge[f"recall@{10**12}"] == small[f"recall@{n}"]
    assert huge[f"precision@{10**12}"] == pytest.approx(small[f"precision@{n}"] * n / 10**12)
    assert evaluate.ranking_metrics_from_lists([["a"]], [["a"]], 10**12)["recall@1000000000000"] == 1.0


def test_time_split_cutoffs():
    stamps = np.array(["2020-01-01T00:00:00", "2020-01-02T12:00:00", "2020-01-03T00:00:00"], dtype="datetime64[ns]")
    inter = Interactions.from_arrays([1, 2, 3], ["a", "b", "c"], timestamps=stamps)
    for cutoff in (pd.Timestamp("2020-01-02"), np.datetime64("2020-01-02"), datetime.datetime(2020, 1, 2),
                   pd.Timestamp("2020-01-02", tz="UTC"), datetime.date(2020, 1, 2)):
        train, test = evaluate.time_split(inter, cutoff)
        assert (len(train), len(test)) == (1, 2), cutoff
    for bad in (float("nan"), None, np.datetime64("NaT"), "2020-01-02"):
        with pytest.raises(shoprec.ShoprecError, match="cutoff"):
            evaluate.time_split(inter, bad)


def test_empty_fits_and_splits_are_refused(data):
    with pytest.raises(InvalidArgumentError, match="interactions is empty"):
        ItemKNN().fit(data.select([]))
    with pytest.raises(InvalidArgumentError, match="interactions is empty"):
        evaluate.random_split(data.select([]))


def test_grid_search_grids():
    inter = Interactions.from_arrays(np.arange(40) % 8, np.arange(40) % 5)
    with pytest.raises(InvalidArgumentError, match="param_grid"):
        tune.grid_search(ItemKNN, {"k_neighbours": []}, inter, cv=2)
    with pytest.raises(InvalidArgumentError, match="param_grid"):
        tune.grid_search(ItemKNN, {"no_such": [1]}, inter, cv=2)
    a = tune.grid_search(ItemKNN, {"k_neighbours": (k for k in [2, 4])}, inter, cv=2)
    b = tune.grid_search(ItemKNN, {"k_neighbours": [2, 4]}, inter, cv=2)
    assert a.table == b.table


# ------------------------------------------------------------------ interactions


def test_sub_second_order_decides_the_last_rating():
    stamps = np.array(["2020-01-01T00:00:00.900", "2020-01-01T00:00:00.100"], dtype="datetime64[ms]")
    inter = Interactions.from_arrays([1, 1], ["a", "a"], [4.0, 2.0], timestamps=stamps)
    assert inter.values.tolist() == [4.0]  # the later event (0.9 s) wins, input order notwithstanding
    floats = Interactions.from_arrays([1, 1], ["a", "a"], [4.0, 2.0], timestamps=[1.7, 1.2])
    assert floats.values.tolist() == [4.0] and floats.timestamps.tolist() == [1]


def test_sum_overflow_is_refused_and_mean_does_not_overflow():
    # The models compute in float32, so "overflow" means leaving float32's range (3.4e38).
    with pytest.raises(InvalidArgumentError, match="overflows"):
        Interactions.from_arrays([1, 1], ["a", "a"], [3e38, 3e38], combine="sum")
    assert Interactions.from_arrays([1, 1], ["a", "a"], [3e38, 3e38], combine="mean").values.tolist() == [3e38]
    capped = Interactions.from_arrays([1, 1], ["a", "a"], [3e38, 3e38], combine="sum", cap=10.0)
    assert capped.values.tolist() == [10.0]
    old = Interactions.from_arrays([1], ["a"], [3e38])
    with pytest.raises(InvalidArgumentError, match="overflows"):
        old.merge(Interactions.from_arrays([1], ["a"], [3e38]), combine="sum")


@pytest.mark.parametrize("value", [1e300, -1e39, 1e-40, 1e-300])
def test_values_outside_float32_are_refused_not_turned_into_inf_or_zero(value):
    # 1e300 passed every check (it is finite in float64) and became inf when a model cast the
    # matrix to float32, with only numpy's RuntimeWarning; 1e-40 silently became a subnormal.
    with pytest.raises(InvalidArgumentError, match="float32"):
        Interactions.from_arrays(["u", "u"], ["a", "b"], [value, 2.0])
    with pytest.raises(InvalidArgumentError, match="weight"):
        Interactions.from_arrays(["u"], ["a"], events=["view"], weights={"view": abs(value)})
    edge = Interactions.from_arrays(["u", "v", "v"], ["a", "a", "b"], [3.4e38, 1.2e-38, 0.0])
    assert np.isfinite(edge.values.astype(np.float32)).all() and edge.values.astype(np.float32)[1] > 0


@pytest.mark.parametrize("verify", [True, False])
def test_a_saved_interactions_file_with_values_beyond_float32_is_a_model_file_error(tmp_path, verify):
    # Found by the fuzzer on a damaged interactions file loaded with checksums off: the values
    # array decoded to 1e300-sized numbers, loaded, and every model fitted on it saw inf.
    # Written here with a valid checksum, so both verify settings must refuse it.
    from shoprec.errors import ModelFileError
    from shoprec.io.file import write_file

    good = Interactions.from_arrays(["u", "u", "v"], ["a", "b", "a"], [1.0, 2.0, 3.0])
    params, arrays = good._to_state()
    arrays["values"] = np.array([1.0, 1e300, 3.0])
    write_file(tmp_path / "bad.shoprec", "Interactions", params, arrays)
    with pytest.raises(ModelFileError, match="float32"):
        shoprec.load(tmp_path / "bad.shoprec", verify=verify)
    arrays["values"] = np.array([1.0, 1e-40, 3.0])  # would become a float32 subnormal
    write_file(tmp_path / "bad.shoprec", "Interactions", params, arrays)
    with pytest.raises(ModelFileError, match="float32"):
        shoprec.load(tmp_path / "bad.shoprec", verify=verify)
    arrays["values"] = np.array([1.0, 2.0, 3.0])
    write_file(tmp_path / "good.shoprec", "Interactions", params, arrays)
    assert shoprec.load(tmp_path / "good.shoprec", verify=verify).values.tolist() == [1.0, 2.0, 3.0]


def test_select_refuses_fractions_and_reads_generators(data):
    with pytest.raises(DTypeError, match="rows"):
        data.select([0.5, 1.7])
    assert data.select(x for x in [0, 1]).values.tolist() == data.values[:2].tolist()
    assert data.select([1.0, 0.0]).values.tolist() == data.values[:2].tolist()


def test_from_pandas_duplicate_columns_and_from_csv_bad_files(tmp_path):
    df = pd.DataFrame([[1, "a", "b"]], columns=["user", "item", "item"])
    with pytest.raises(InvalidArgumentError, match="more than once"):
        Interactions.from_pandas(df)
    for name, content in (("empty.csv", b""), ("binary.csv", bytes(range(256)) * 8)):
        path = tmp_path / name
        path.write_bytes(content)
        with pytest.raises(InvalidArgumentError, match="path"):
            Interactions.from_csv(path)
    with pytest.raises(FileNotFoundError):
        Interactions.from_csv(tmp_path / "missing.csv")


def test_a_string_of_users_is_not_iterated_into_characters():
    with pytest.raises(DTypeError, match="users"):
        Interactions.from_arrays("u1", ["a", "b"])


# ------------------------------------------------------------------ text


def test_lone_surrogates_are_refused_with_the_argument_named():
    with pytest.raises(InvalidArgumentError, match="text contains a lone surrogate"):
        shoprec.tokenize("ab\udcff")
    assert shoprec.tokenize("laptop \U0001f6d2") == ["laptop"]  # emoji are fine


# ------------------------------------------------------------------ files with valid checksums


_CORRUPT_CHILD = r"""
import sys
import numpy as np
import shoprec
from shoprec.io import file as io_file, registry

rng = np.random.default_rng(0)
data = shoprec.Interactions.from_arrays(rng.integers(0, 12, 80), rng.integers(0, 15, 80), rng.integers(1, 6, 80) * 1.0)
model = {"userknn": shoprec.UserKNN(5), "itemknn": shoprec.ItemKNN(5),
         "segments": shoprec.InterestSegments(2, n_components=3, seed=0)}[sys.argv[1]].fit(data)
params, arrays = model._to_state()
arrays = dict(arrays)
name, position = sys.argv[2], int(sys.argv[3])
if sys.argv[4] == "drop":
    del arrays[name]
else:
    changed = np.array(arrays[name])
    changed[position] = int(sys.argv[4])
    arrays[name] = changed
path = sys.argv[5]
io_file.write_file(path, registry._type_name(model), params, arrays)  # valid checksums
try:
    shoprec.load(path)
except shoprec.ModelFileError as exc:
    print("ModelFileError", exc)
"""


@pytest.mark.parametrize("kind,name,position,value", [
    ("userknn", "history_indices", 3, 10**6),          # scipy's transpose segfaulted
    ("userknn", "history_indptr", 2, 10**6),
    ("itemknn", "predict_neighbours_indptr", 5, 2**56),  # a Rust slice panic (PanicException)
    ("itemknn", "neighbours_indices", 0, -5),
    ("segments", "item_weight_indptr", 1, -10**18),    # scipy's check_format let it through: segfault
    ("segments", "item_idf", 0, "drop"),               # loaded, then a TypeError at the first assign
])
def test_inconsistent_arrays_with_valid_checksums_are_refused(tmp_path, kind, name, position, value):
    import os
    import subprocess
    import sys

    env = dict(os.environ, PYTHONPATH=_package_root())
    proc = subprocess.run([sys.executable, "-c", _CORRUPT_CHILD, kind, name, str(position), str(value),
                           str(tmp_path / "m.shoprec")], capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.startswith("ModelFileError"), proc.stdout + proc.stderr[-2000:]


def test_a_dtype_numpy_would_parse_with_ast_is_refused():
    """Found by fuzz_io_file: the dtype ",U3" made numpy raise SyntaxError from ast."""
    from shoprec.io import file as io_file
    from shoprec.io import registry

    inter = Interactions.from_arrays(["a", "b"], ["x", "y"])
    params, arrays = inter._to_state()
    blob = io_file.encode(registry._type_name(inter), params, arrays)
    assert b'"<U1"' in blob
    for bad in (b'",U1"', b'"(U1"', b'"V99"'):
        with pytest.raises(shoprec.ModelFileError, match="dtype"):
            io_file.decode(blob.replace(b'"<U1"', bad, 1), verify=False)


def test_fuzz_findings_of_the_file_reader_stay_fixed():
    """Every file in fuzz/corpus/io_file (seeds and the inputs that once crashed or escaped as
    a non-shoprec exception) loads with checksums off into a ModelFileError or an object that
    answers; in a subprocess, so a segfault fails the test instead of killing pytest."""
    import os
    import subprocess
    import sys

    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.join(here, "..")
    child = (
        "import glob, sys\n"
        "from shoprec.io import file as f, registry as r\n"
        "from shoprec.errors import ModelFileError\n"
        "from _common import exercise\n"
        "for path in sorted(glob.glob(sys.argv[1] + '/seed-*')):\n"
        "    try:\n"
        "        t, p, a = f.decode(open(path, 'rb').read(), path, verify=False)\n"
        "        exercise(r._from_state(path, t, p, a))\n"
        "        print('loaded', path)\n"
        "    except ModelFileError:\n"
        "        print('refused', path)\n"
    )
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([_package_root(), os.path.join(root, "fuzz", "python")]))
    corpus = os.path.join(root, "fuzz", "corpus", "io_file")
    proc = subprocess.run([sys.executable, "-c", child, corpus], capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = proc.stdout.splitlines()
    assert len(lines) == len([n for n in os.listdir(corpus) if n.startswith("seed-")])
    assert all(line.startswith("refused") for line in lines if "seed-found-" in line), lines


def _package_root():
    """Where the shoprec under test was imported from (an installed wheel, or python/ with an
    in-place build): a child process must import the same one, never the bare source folder."""
    import os

    return os.path.dirname(os.path.dirname(os.path.abspath(shoprec.__file__)))


@pytest.mark.parametrize("verify", [True, False])
def test_stored_floats_beyond_float32_or_nan_are_a_model_file_error(tmp_path, verify):
    # Seen in the io_file fuzzer's runs: a damaged model file (checksums off) whose float arrays
    # held huge numbers or NaN loaded, then cast to inf in float32 (ItemKNN) or divided into NaN
    # (segments) with only numpy's RuntimeWarning. Every stored float must be finite and within
    # float32's range; written here with valid checksums, so both verify settings must refuse.
    from shoprec.errors import ModelFileError
    from shoprec.io.file import write_file
    from shoprec.io.registry import _type_name

    data = Interactions.from_arrays(["u", "u", "v", "v", "w"], ["a", "b", "a", "c", "b"], [1.0, 2.0, 3.0, 4.0, 5.0])
    for model in (shoprec.ItemKNN(2).fit(data), shoprec.InterestSegments(2, n_components=2, seed=0).fit(data)):
        params, arrays = model._to_state()
        name = next(n for n, a in arrays.items() if a.dtype.kind == "f" and a.size)
        for bad in (1e300, np.nan, -np.inf):
            damaged = dict(arrays)
            damaged[name] = arrays[name].astype(np.float64).copy()
            damaged[name].reshape(-1)[0] = bad
            write_file(tmp_path / "bad.shoprec", _type_name(model), params, damaged)
            with pytest.raises(ModelFileError, match=name):
                shoprec.load(tmp_path / "bad.shoprec", verify=verify)
        write_file(tmp_path / "good.shoprec", _type_name(model), params, arrays)
        assert type(shoprec.load(tmp_path / "good.shoprec", verify=verify)) is type(model)
