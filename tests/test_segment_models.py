"""Segments wired into the recommenders: ``Popular(within="segment")``, the kNN models'
``fallback=``, and ``diversify_recommendations``; each against a reference computed directly
from the hand-built shop with numpy/pandas."""

import numpy as np
import pandas as pd
import pytest

import shoprec
from shoprec import Interactions, InterestSegments, ItemKNN, Popular, Recommendations, UserKNN
from shoprec.segments import diversify_recommendations
from contract import ContractTests, data, model  # noqa: F401  (the contract fixtures)


def tiny_shop():
    """Two tastes: the a-shoppers buy x-items, the b-shoppers y-items; z is bought by most
    b-shoppers and one a-shopper, so it is the shop's best seller but not the a-segment's."""
    rows = [
        ("a1", "x1"), ("a1", "x2"), ("a1", "x3"),
        ("a2", "x1"), ("a2", "x2"),
        ("a3", "x1"), ("a3", "x3"), ("a3", "z"),
        ("a4", "x1"), ("a4", "x2"),
        ("b1", "y1"), ("b1", "y2"), ("b1", "z"),
        ("b2", "y1"), ("b2", "z"), ("b2", "y3"),
        ("b3", "y1"), ("b3", "y2"), ("b3", "z"),
        ("b4", "y2"), ("b4", "z"),
        ("b5", "y1"), ("b5", "z"),
    ]
    df = pd.DataFrame(rows, columns=["user", "item"])
    return df, Interactions.from_pandas(df)


def expected_segment_ranking(df, segments, inter, user_segment, seen=(), items=None, exclude=()):
    """Items by (reach in the segment desc, shop-wide count desc, model item index asc),
    computed with pandas from the raw rows; scores are the reach. Implicit data: every value
    is 1, so the value tie-break of the reach is the reach itself."""
    label = dict(zip(segments.user_ids.tolist(), segments.labels.tolist()))
    df = df.assign(segment=df["user"].map(label))
    reach = df[df["segment"] == user_segment].groupby("item")["user"].nunique()
    count = df.groupby("item")["user"].nunique()
    table = pd.DataFrame({"item": list(inter.item_ids)})
    table["position"] = np.arange(len(table))
    table["reach"] = table["item"].map(reach).fillna(0.0)
    table["count"] = table["item"].map(count).fillna(0.0)
    keep = ~table["item"].isin(list(seen)) & ~table["item"].isin(list(exclude))
    if items is not None:
        keep &= table["item"].isin(list(items))
    table = table[keep].sort_values(["reach", "count", "position"], ascending=[False, False, True])
    return list(zip(table["item"], table["reach"].astype(float)))


@pytest.fixture(scope="module")
def shop():
    df, inter = tiny_shop()
    segments = InterestSegments(2, n_components=3, seed=0).fit(inter)
    return df, inter, segments


def test_the_tiny_shop_splits_by_taste(shop):
    # The premise of the references below: the a- and b-shoppers land in different segments.
    _, _, segments = shop
    a, b = segments.segment_of("a1"), segments.segment_of("b1")
    assert a != b
    assert all(segments.segment_of(u) == a for u in ("a2", "a3", "a4"))
    assert all(segments.segment_of(u) == b for u in ("b2", "b3", "b4", "b5"))


def test_segment_popular_matches_a_pandas_reference(shop):
    df, inter, segments = shop
    model = Popular(within="segment").fit(inter, segments=segments)
    for user in inter.user_ids.tolist():
        segment = segments.segment_of(user)
        seen = df.loc[df["user"] == user, "item"].tolist()
        expected = expected_segment_ranking(df, segments, inter, segment, seen=seen)
        assert model.recommend(user, k=len(expected)).to_list() == expected
        # Exactly k, with filters: the segment's items first, then the rest by shop popularity.
        expected = expected_segment_ranking(df, segments, inter, segment, items=["x1", "x3", "y1", "y3", "z"],
                                            exclude=["x1"])
        recs = model.recommend(user, k=4, exclude_seen=False, items=["x1", "x3", "y1", "y3", "z", "nope"],
                               exclude=["x1"])
        assert recs.to_list() == expected[:4]
    # The a-segment's best seller is x1, although z is the shop's.
    assert model.recommend("a2", 1, exclude_seen=False).to_list() == [("x1", 4.0)]
    assert Popular().fit(inter).recommend("a2", 1, exclude_seen=False).items.tolist() == ["z"]


def test_segment_popular_agrees_with_popular_items(shop):
    # Same ranking as InterestSegments.popular_items over the items the segment reached.
    _, inter, segments = shop
    model = Popular(within="segment").fit(inter, segments=segments)
    for user in ("a1", "b1"):
        theirs = segments.popular_items(segments.segment_of(user), k=3)
        assert model.recommend(user, 3, exclude_seen=False).to_list() == theirs


def test_strangers_and_histories(shop):
    df, inter, segments = shop
    model = Popular(within="segment").fit(inter, segments=segments)
    overall = Popular().fit(inter)
    assert model.recommend("stranger", 5) == overall.recommend("stranger", 5)
    # A history is placed by assign, and its items are left out.
    history = ["x2", "x3"]
    segment = segments.assign(history)
    assert segment == segments.segment_of("a1")
    expected = expected_segment_ranking(df, segments, inter, segment, seen=history)
    assert model.recommend_for_history(history, k=10).to_list() == expected
    assert model.recommend_for_history(history, k=2, exclude_seen=False).items.tolist() == ["x1", "x2"]
    # A history of unknown items is a new shopper: the whole shop's popularity.
    assert model.recommend_for_history(["nope"], 3) == overall.recommend("stranger", 3)
    assert overall.recommend_for_history(["z"], 2).items.tolist() == ["x1", "y1"]  # 4 each: index order


def test_recommend_many_groups_by_segment(shop):
    _, inter, segments = shop
    model = Popular(within="segment").fit(inter, segments=segments)
    users = ["a1", "b2", "stranger", "a4", "b5"]
    for user, recs in zip(users, model.recommend_many(users, 3, exclude=["y1"])):
        assert recs == model.recommend(user, 3, exclude=["y1"])


def test_bad_segments(shop):
    df, inter, segments = shop
    with pytest.raises(shoprec.NotFittedError):
        Popular(within="segment").fit(inter, segments=InterestSegments(2))
    with pytest.raises(shoprec.InvalidArgumentError, match="needs fit"):
        Popular(within="segment").fit(inter)
    with pytest.raises(shoprec.InvalidArgumentError, match="within='segment'"):
        Popular().fit(inter, segments=segments)
    with pytest.raises(shoprec.DTypeError):
        Popular(within="segment").fit(inter, segments="segments")
    with pytest.raises(shoprec.InvalidArgumentError):
        Popular(within="category")
    # Fitted on other shoppers, other items, or other interactions of the same shoppers and items.
    fewer_users = Interactions.from_pandas(df[df["user"] != "b5"])
    with pytest.raises(shoprec.InvalidArgumentError, match="shoppers"):
        Popular(within="segment").fit(fewer_users, segments=segments)
    with pytest.raises(shoprec.InvalidArgumentError, match="shoppers"):
        Popular(within="segment").fit(inter, segments=InterestSegments(2, n_components=3).fit(fewer_users))
    fewer_items = Interactions.from_pandas(df[df["item"] != "y3"])
    with pytest.raises(shoprec.InvalidArgumentError, match="items"):
        Popular(within="segment").fit(fewer_items, segments=segments)
    other = Interactions.from_pandas(pd.concat([df, pd.DataFrame({"user": ["a2"], "item": ["y3"]})]))
    with pytest.raises(shoprec.InvalidArgumentError, match="interactions"):
        Popular(within="segment").fit(other, segments=segments)


def test_segment_popular_save_load_keeps_the_segments(shop, tmp_path):
    _, inter, segments = shop
    model = Popular(within="segment", by="weight").fit(inter, segments=segments)
    model.save(tmp_path / "p.shoprec")
    loaded = shoprec.load(tmp_path / "p.shoprec")
    assert loaded.get_params() == {"by": "weight", "within": "segment"}
    np.testing.assert_array_equal(loaded.segments.labels, segments.labels)
    for user in list(inter.user_ids) + ["stranger"]:
        assert loaded.recommend(user, 6) == model.recommend(user, 6)
    assert loaded.recommend_for_history(["y2"], 4) == model.recommend_for_history(["y2"], 4)


class TestSegmentPopular(ContractTests):
    def make_model(self):
        return Popular(within="segment")

    def fit_model(self, data):
        return self.make_model().fit(data, segments=InterestSegments(3, n_components=8, seed=0).fit(data))


# ------------------------------------------------------------------ kNN fallback
def segment_fallback(inter, segments):
    return Popular(within="segment").fit(inter, segments=segments)


@pytest.mark.parametrize("model_class", [ItemKNN, UserKNN])
def test_users_without_usable_neighbours_get_the_fallback(shop, model_class, tmp_path):
    df, inter, segments = shop
    fallback = segment_fallback(inter, segments)
    # min_support above any overlap: no similarity survives, so no user has a usable neighbour.
    lonely = model_class(5, similarity="cosine", min_support=50).fit(inter, fallback=fallback)
    default = model_class(5, similarity="cosine", min_support=50).fit(inter)
    count = df.groupby("item")["user"].nunique()
    for user in inter.user_ids.tolist():
        segment = segments.segment_of(user)
        seen = df.loc[df["user"] == user, "item"].tolist()
        assert lonely.recommend(user, 4).to_list() == expected_segment_ranking(df, segments, inter, segment, seen)[:4]
        # Today's behaviour without a fallback is unchanged: score 0, shop popularity order.
        recs = default.recommend(user, 4)
        assert np.all(recs.scores == 0)
        assert [count[i] for i in recs.items] == sorted((count[i] for i in recs.items), reverse=True)
    users = list(inter.user_ids) + ["stranger"]
    for user, recs in zip(users, lonely.recommend_many(users, 3, exclude=["x1"])):
        assert recs == fallback.recommend(user, 3, exclude=["x1"])
    if model_class is ItemKNN:  # UserKNN finds a history's neighbours by cosine, without min_support
        assert lonely.recommend_for_history(["y1", "y2"], 3) == fallback.recommend_for_history(["y1", "y2"], 3)
    assert lonely.recommend_for_history(["nope"], 3) == fallback.recommend_for_history(["nope"], 3)
    lonely.save(tmp_path / "knn.shoprec")
    loaded = shoprec.load(tmp_path / "knn.shoprec")
    assert loaded.fallback.get_params() == {"by": "count", "within": "segment"}
    for user in users:
        assert loaded.recommend(user, 5) == lonely.recommend(user, 5)


def test_users_with_neighbours_keep_their_knn_list(shop):
    _, inter, segments = shop
    with_fallback = ItemKNN(5, similarity="cosine").fit(inter, fallback=segment_fallback(inter, segments))
    plain = ItemKNN(5, similarity="cosine").fit(inter)
    for user in inter.user_ids.tolist():
        recs = plain.recommend(user, 2)
        assert recs.scores[0] > 0  # every shopper of the tiny shop has a neighbour
        assert with_fallback.recommend(user, 2) == recs
    assert with_fallback.recommend("stranger", 3) == Popular().fit(inter).recommend("stranger", 3)
    # An x-history scores no y-item: restricted to y-items, the (segment) fallback answers.
    segment_a = segment_fallback(inter, segments)
    got = with_fallback.recommend("a2", 3, items=["y1", "y2", "y3"])
    assert got == segment_a.recommend("a2", 3, items=["y1", "y2", "y3"])
    assert np.all(plain.recommend("a2", 3, items=["y1", "y2", "y3"]).scores == 0)


def test_bad_fallback(shop):
    df, inter, segments = shop
    with pytest.raises(shoprec.NotFittedError):
        ItemKNN(5).fit(inter, fallback=Popular())
    with pytest.raises(shoprec.DTypeError):
        ItemKNN(5).fit(inter, fallback=ItemKNN(5).fit(inter))
    other = Interactions.from_pandas(df[df["user"] != "b5"])
    with pytest.raises(shoprec.InvalidArgumentError, match="fallback"):
        ItemKNN(5).fit(inter, fallback=Popular().fit(other))


class TestItemKNNSegmentFallback(ContractTests):
    def make_model(self):
        return ItemKNN(10, similarity="cosine", num_threads=2)

    def fit_model(self, data):
        segments = InterestSegments(3, n_components=8, seed=0).fit(data)
        return self.make_model().fit(data, fallback=Popular(within="segment").fit(data, segments=segments))


class TestUserKNNSegmentFallback(TestItemKNNSegmentFallback):
    def make_model(self):
        return UserKNN(10, similarity="cosine", num_threads=2)


# ------------------------------------------------------------------ diversify
def test_diversify_against_a_hand_computed_order(shop):
    _, _, segments = shop
    # Tastes, by the largest share of a segment's shoppers: x-items the a-segment's, y-items and
    # z (1 of 4 a-shoppers, 5 of 5 b-shoppers) the b-segment's.
    a, b = segments.segment_of("a1"), segments.segment_of("b1")
    assert segments.item_tastes(["x1", "x2", "z", "y1", "y3"]).tolist() == [a, a, b, b, b]
    recs = Recommendations(np.array(["z", "y1", "y2", "x1", "y3", "x2"], dtype=object),
                           np.array([6, 5, 4, 3, 2, 1], dtype=np.float32))
    # Rounds: (b: z, a: x1), (y1, x2), (y2), (y3).
    assert diversify_recommendations(recs, segments).to_list() == [
        ("z", 6.0), ("x1", 3.0), ("y1", 5.0), ("x2", 1.0), ("y2", 4.0), ("y3", 2.0)]
    assert diversify_recommendations(recs, segments, 3).to_list() == [("z", 6.0), ("x1", 3.0), ("y1", 5.0)]
    # A plain list of pairs works too; an item no segment knows is a taste of its own.
    pairs = [("y1", 3.0), ("new", 2.5), ("y2", 2.0), ("x3", 1.0)]
    assert diversify_recommendations(pairs, segments, 3).to_list() == [("y1", 3.0), ("new", 2.5), ("x3", 1.0)]
    assert len(diversify_recommendations([], segments, 3)) == 0


def test_diversify_a_model_list(shop):
    _, inter, segments = shop
    model = ItemKNN(5, similarity="cosine").fit(inter)
    long = model.recommend("b1", 6, exclude_seen=False)
    short = diversify_recommendations(long, segments, 4)
    assert short.items.tolist() == segments.diversify(long.items.tolist(), 4)
    assert len(set(segments.item_tastes(short.items[:2]).tolist())) == 2
    scores = dict(long.to_list())
    assert all(scores[item] == score for item, score in short.to_list())


def test_diversify_bad_input(shop):
    _, _, segments = shop
    recs = Recommendations(np.array(["x1", "y1"], dtype=object), np.array([2, 1], dtype=np.float32))
    with pytest.raises(shoprec.NotFittedError):
        diversify_recommendations(recs, InterestSegments(2))
    with pytest.raises(shoprec.DTypeError):
        diversify_recommendations(recs, "segments")
    with pytest.raises(shoprec.InvalidArgumentError, match="another catalogue"):
        diversify_recommendations([("p", 1.0), ("q", 0.5)], segments)
    with pytest.raises(shoprec.InvalidArgumentError, match="twice"):
        diversify_recommendations([("x1", 1.0), ("x1", 0.5)], segments)
    with pytest.raises(shoprec.InvalidArgumentError):
        diversify_recommendations(recs, segments, 0)


def test_segment_popular_by_weight_matches_a_pandas_reference():
    df, _ = tiny_shop()
    df = df.assign(stars=np.random.default_rng(3).integers(1, 6, len(df)).astype(float))
    inter = Interactions.from_pandas(df, rating="stars")
    segments = InterestSegments(2, n_components=3, seed=0).fit(inter)
    model = Popular(by="weight", within="segment").fit(inter, segments=segments)
    label = dict(zip(segments.user_ids.tolist(), segments.labels.tolist()))
    df = df.assign(segment=df["user"].map(label))
    total = df.groupby("item")["stars"].sum()
    for user in ("a1", "b3"):
        in_segment = df[df["segment"] == label[user]].groupby("item")["stars"].sum()
        table = pd.DataFrame({"item": list(inter.item_ids), "position": np.arange(inter.n_items)})
        table["value"] = table["item"].map(in_segment).fillna(0.0)
        table["total"] = table["item"].map(total)
        table = table.sort_values(["value", "total", "position"], ascending=[False, False, True])
        expected = list(zip(table["item"], table["value"]))
        assert model.recommend(user, 10, exclude_seen=False).to_list() == expected[:10]
