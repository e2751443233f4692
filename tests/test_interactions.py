"""shoprec.Interactions against a plain-Python reference of the combining rules."""

import numpy as np
import pytest

import shoprec
from shoprec import Interactions


def as_dict(inter):
    """{(user id, item id): value} of an Interactions, for comparison with a reference."""
    return {
        (inter.user_ids[u].item() if hasattr(inter.user_ids[u], "item") else inter.user_ids[u],
         inter.item_ids[i].item() if hasattr(inter.item_ids[i], "item") else inter.item_ids[i]): v
        for u, i, v in zip(inter.users.tolist(), inter.items.tolist(), inter.values.tolist())
    }


def test_ratings_with_string_ids_last_rating_wins():
    inter = Interactions.from_arrays(["b", "a", "b", "a"], ["x", "y", "x", "x"], [1.0, 2.0, 5.0, 3.0])
    assert inter.explicit and len(inter) == 3 and inter.n_users == 2 and inter.n_items == 2
    assert as_dict(inter) == {("a", "x"): 3.0, ("a", "y"): 2.0, ("b", "x"): 5.0}
    assert inter.user_ids.tolist() == ["a", "b"]
    assert inter.rating_scale == (2.0, 5.0)


def test_last_follows_timestamps_not_input_order():
    inter = Interactions.from_arrays([1, 1, 1], [7, 7, 8], [4.0, 2.0, 1.0], timestamps=[20, 10, 5])
    assert as_dict(inter) == {(1, 7): 4.0, (1, 8): 1.0}
    assert inter.timestamps.tolist() == [20, 5]


@pytest.mark.parametrize("combine, cap, expected", [
    ("max", None, 5.0), ("sum", None, 7.0), ("sum", 6.0, 6.0), ("mean", None, 7.0 / 3), ("last", None, 1.0),
])
def test_event_combining(combine, cap, expected):
    inter = Interactions.from_arrays(
        ["u", "u", "u", "v"], ["i", "i", "i", "i"], events=["purchase", "view", "view", "cart"],
        combine=combine, cap=cap,
    )
    assert not inter.explicit
    got = as_dict(inter)
    assert got[("u", "i")] == pytest.approx(expected) and got[("v", "i")] == 4.0


def test_default_event_weights_and_override():
    inter = Interactions.from_arrays([1, 2, 3, 4], [1, 1, 1, 1], events=["view", "favorite", "cart", "purchase"])
    assert inter.values.tolist() == [1.0, 3.0, 4.0, 5.0]
    inter = Interactions.from_arrays([1, 2], [1, 1], events=["click", "buy"], weights={"click": 0.5, "buy": 2})
    assert inter.values.tolist() == [0.5, 2.0]


def test_to_csr_matches_scipy_coo_reference(rng):
    users = rng.integers(0, 30, 500)
    items = rng.integers(100, 160, 500)
    ratings = rng.integers(1, 6, 500).astype(float)
    inter = Interactions.from_arrays(users, items, ratings)
    reference = {}
    for u, i, r in zip(users.tolist(), items.tolist(), ratings.tolist()):
        reference[(u, i)] = r  # last wins without timestamps
    assert as_dict(inter) == reference
    csr = inter.to_csr()
    assert csr.shape == (inter.n_users, inter.n_items) and csr.nnz == len(reference)
    for (u, i), r in reference.items():
        assert csr[inter.user_index(u), inter.item_index(i)] == r
    assert np.all(np.diff(inter.users) >= 0)


def test_from_pandas_and_csv(tmp_path):
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame({"customer": ["a", "b", "a"], "sku": [10, 10, 11], "stars": [4.0, 3.5, 5.0],
                       "when": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-03"])})
    inter = Interactions.from_pandas(df, user="customer", item="sku", rating="stars", timestamp="when")
    assert as_dict(inter) == {("a", 10): 4.0, ("b", 10): 3.5, ("a", 11): 5.0}
    assert inter.timestamps.dtype == np.int64 and inter.timestamps.min() == 1704067200
    path = tmp_path / "ratings.csv"
    df.drop(columns="when").to_csv(path, index=False)
    again = Interactions.from_csv(path, user="customer", item="sku", rating="stars")
    assert as_dict(again) == as_dict(inter)


def test_from_pandas_errors():
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame({"user": [1, 2], "item": [1, None], "rating": [1.0, np.nan], "event": ["view", "zap"]})
    with pytest.raises(shoprec.InvalidArgumentError, match="missing columns"):
        Interactions.from_pandas(df, rating="score")
    with pytest.raises(shoprec.InvalidArgumentError, match="missing values"):
        Interactions.from_pandas(df, rating="rating")
    ok = df.assign(item=[1, 2])
    with pytest.raises(shoprec.InvalidArgumentError, match="NaN"):
        Interactions.from_pandas(ok, rating="rating")
    with pytest.raises(shoprec.InvalidArgumentError, match="unknown event"):
        Interactions.from_pandas(ok, event="event")
    with pytest.raises(shoprec.InvalidArgumentError, match="empty"):
        Interactions.from_pandas(ok.iloc[:0])


@pytest.mark.parametrize("kwargs, error", [
    (dict(users=[], items=[]), shoprec.InvalidArgumentError),
    (dict(users=[1, 2], items=[1]), shoprec.ShapeMismatchError),
    (dict(users=[1], items=[1], ratings=[np.inf]), shoprec.InvalidArgumentError),
    (dict(users=[1], items=[1], ratings=["x"]), shoprec.DTypeError),
    (dict(users=[1], items=[1], ratings=[1.0], events=["view"]), shoprec.InvalidArgumentError),
    (dict(users=[None], items=[1]), shoprec.InvalidArgumentError),
    (dict(users=[1], items=[1], combine="median"), shoprec.InvalidArgumentError),
    (dict(users=[1], items=[1], events=["view"], weights={"view": -1}), shoprec.InvalidArgumentError),
])
def test_bad_input(kwargs, error):
    with pytest.raises(error):
        Interactions.from_arrays(**kwargs)


def test_select_keeps_id_maps_and_is_read_only(rng):
    inter = Interactions.from_arrays(rng.integers(0, 10, 100), rng.integers(0, 20, 100))
    half = inter.select(np.arange(len(inter)) % 2 == 0)
    assert half.user_ids is inter.user_ids and len(half) == (len(inter) + 1) // 2
    with pytest.raises(ValueError):
        inter.values[0] = 3.0
    with pytest.raises(shoprec.UnknownIdError):
        inter.user_index(999)


def test_save_and_load_round_trip(tmp_path):
    inter = Interactions.from_arrays(["a", "b", "c"], [1, 2, 1], [1.0, 2.0, 3.0], timestamps=[3, 2, 1])
    inter.save(tmp_path / "i.shoprec")
    back = shoprec.load(tmp_path / "i.shoprec")
    assert isinstance(back, Interactions) and as_dict(back) == as_dict(inter)
    assert back.timestamps.tolist() == inter.timestamps.tolist() and back.explicit
    assert back.user_ids.tolist() == ["a", "b", "c"]
