"""shoprec.datasets: the generated demo shop and the loaders, on tiny files written here."""

import numpy as np
import pandas as pd
import pytest

import shoprec
from shoprec.datasets import demo_shop, load_events_csv, load_movielens


@pytest.fixture(scope="module")
def shop():
    return demo_shop(n_users=300, n_products=400, seed=3)


def test_demo_shop_is_seeded(shop):
    again = demo_shop(n_users=300, n_products=400, seed=3)
    pd.testing.assert_frame_equal(shop.products, again.products)
    pd.testing.assert_frame_equal(shop.events, again.events)
    other = demo_shop(n_users=300, n_products=400, seed=4)
    assert not shop.events["item"].equals(other.events["item"])


def test_demo_products(shop):
    p = shop.products
    assert len(p) == 400 and p["id"].is_unique
    assert {"id", "title", "title_zh", "title_en", "category", "brand", "price", "stock", "in_stock"} <= set(p.columns)
    assert (p["price"] > 0).all()
    assert (p["in_stock"] == (p["stock"] > 0)).all()
    assert 0.85 < p["in_stock"].mean() < 1.0
    # Chinese and English in every title.
    assert p["title_zh"].str.contains(r"[\u4e00-\u9fff]").all()
    assert p["title_en"].str.contains(r"[a-z]{3}").all()


def test_demo_events_funnel_and_skew(shop):
    e = shop.events
    assert set(e["item"]) <= set(shop.products["id"])
    counts = e["event"].value_counts()
    assert counts["view"] > counts["cart"] > counts["purchase"] > 0
    assert e["timestamp"].is_monotonic_increasing
    # Every purchase follows a cart of the same shopper and product.
    carts = set(zip(e.loc[e.event == "cart", "user"], e.loc[e.event == "cart", "item"]))
    assert all(pair in carts for pair in zip(e.loc[e.event == "purchase", "user"], e.loc[e.event == "purchase", "item"]))
    # Popularity skew: the top 10% of products get far more than 10% of the shoppers' views.
    views = e[(e.event == "view") & ~e.user.str.startswith("bot")]["item"].value_counts()
    top = views.iloc[: len(shop.products) // 10].sum() / views.sum()
    assert top > 0.3
    # Shoppers browse their tastes: most of a shopper's views are in a category they like.
    cat = shop.products.set_index("id")["category"]
    v = e[(e.event == "view") & e.user.str.startswith("u")].assign(category=lambda d: d["item"].map(cat))
    liked = v.merge(shop.tastes, on=["user", "category"], how="left", indicator=True)["_merge"] == "both"
    assert liked.mean() > 0.7


def test_demo_bots_and_double_clicks_are_found_by_clean(shop):
    deduped, report = shoprec.clean.dedupe_events(shop.events, "10s", event="event")
    assert report.n_removed > 0
    kept, report = shoprec.clean.drop_outlier_users(deduped, timestamp="timestamp")
    removed = set(report.details["user"]) if report.details is not None else set()
    assert {u for u in shop.events["user"] if u.startswith("bot")} <= removed


def test_demo_sales_anomalies_are_injected(shop):
    s = shop.sales
    assert len(s) == 400 * 90 and (s["units"] >= 0).all()
    marked = s.merge(shop.anomalies.assign(anomaly=True), on=["item", "date"], how="left")["anomaly"].fillna(False)
    assert marked.sum() == len(shop.anomalies) > 0
    # An anomaly is at least 10 units and far above the product's median day.
    median = s.groupby("item")["units"].transform("median").to_numpy()
    flagged = marked.to_numpy(bool)
    assert (s.loc[flagged, "units"].to_numpy() >= np.maximum(10, 3 * median[flagged])).all()


def test_demo_coupons(shop):
    assert shop.coupons["id"].is_unique
    r = shop.redemptions
    assert set(r["coupon"]) <= set(shop.coupons["id"]) and not r.duplicated(["user", "coupon"]).any()
    # Category coupons go mostly to shoppers who like the category.
    cat = shop.coupons.set_index("id")["category"]
    specific = r.assign(category=r["coupon"].map(cat)).query("category != ''")
    liked = specific.merge(shop.tastes, on=["user", "category"], how="left", indicator=True)["_merge"] == "both"
    assert liked.mean() > 0.9


def test_demo_bad_arguments():
    with pytest.raises(shoprec.InvalidArgumentError):
        demo_shop(n_users=1)
    with pytest.raises(shoprec.DTypeError):
        demo_shop(n_products="many")


# ------------------------------------------------------------------ loaders
def test_movielens_100k(tmp_path):
    (tmp_path / "u.data").write_text("1\t10\t4\t881250949\n2\t10\t3\t891717742\n1\t20\t5\t878887116\n")
    genres = ["0"] * 19
    g = genres.copy()
    g[1] = "1"
    (tmp_path / "u.item").write_text(
        "10|Toy Story (1995)|01-Jan-1995||http://x|" + "|".join(g) + "\n"
        "20|GoldenEye (1995)|01-Jan-1995||http://y|" + "|".join(genres) + "\n",
        encoding="latin-1",
    )
    ml = load_movielens(tmp_path)
    assert ml.ratings["user"].tolist() == [1, 2, 1]
    assert ml.ratings["rating"].tolist() == [4.0, 3.0, 5.0]
    assert ml.ratings["timestamp"].iloc[0] == pd.Timestamp(881250949, unit="s")
    assert ml.movies["title"].tolist() == ["Toy Story (1995)", "GoldenEye (1995)"]
    assert ml.movies["category"].tolist() == ["Action", "unknown"]
    same = load_movielens(tmp_path / "u.data")
    pd.testing.assert_frame_equal(same.ratings, ml.ratings)


def test_movielens_latest(tmp_path):
    (tmp_path / "ratings.csv").write_text("userId,movieId,rating,timestamp\n1,1,4.0,964982703\n1,3,3.5,964981247\n")
    (tmp_path / "movies.csv").write_text('movieId,title,genres\n1,Toy Story (1995),Adventure|Animation\n3,"Heat, The (1995)",Action\n')
    ml = load_movielens(tmp_path / "ratings.csv")
    assert ml.ratings[["user", "item", "rating"]].values.tolist() == [[1, 1, 4.0], [1, 3, 3.5]]
    assert ml.movies["title"].tolist() == ["Toy Story (1995)", "Heat, The (1995)"]
    assert ml.movies["category"].tolist() == ["Adventure", "Action"]
    inter = shoprec.Interactions.from_pandas(ml.ratings, rating="rating", timestamp="timestamp")
    assert inter.n_users == 1 and inter.n_items == 2


def test_movielens_errors(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_movielens(tmp_path / "nope")
    with pytest.raises(FileNotFoundError):
        load_movielens(tmp_path)
    (tmp_path / "ratings.csv").write_text("a,b,c\n1,2,3\n")
    with pytest.raises(shoprec.InvalidArgumentError, match="expected the columns"):
        load_movielens(tmp_path)
    (tmp_path / "u.data").write_text("x\ty\tz\tw\n")
    with pytest.raises(shoprec.InvalidArgumentError):
        load_movielens(tmp_path / "u.data")


def test_events_csv(tmp_path):
    path = tmp_path / "events.csv"
    path.write_text("shopper,sku,action,time,price\n007,a1,view,2026-01-01T10:00:00Z,9.5\n"
                    "008,a2,purchase,2026-01-02T11:00:00+08:00,3\n")
    df = load_events_csv(path, user="shopper", item="sku", event="action", timestamp="time")
    assert df.columns.tolist() == ["user", "item", "event", "timestamp", "price"]
    assert df["user"].tolist() == ["007", "008"]
    assert df["timestamp"].tolist() == [pd.Timestamp("2026-01-01 10:00:00"), pd.Timestamp("2026-01-02 03:00:00")]
    numeric = tmp_path / "n.csv"
    numeric.write_text("user,item,event,timestamp\n1,2,view,1700000000000\n")
    df = load_events_csv(numeric, timestamp_unit="ms")
    assert df["timestamp"].iloc[0] == pd.Timestamp(1700000000, unit="s")
    inter = shoprec.Interactions.from_pandas(df, event="event", timestamp="timestamp")
    assert len(inter) == 1


def test_events_csv_errors(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_events_csv(tmp_path / "missing.csv")
    path = tmp_path / "e.csv"
    path.write_text("user,item\n1,2\n")
    with pytest.raises(shoprec.InvalidArgumentError, match="event='event'"):
        load_events_csv(path)
    path.write_text("user,item,event,timestamp\n1,,view,5\n")
    with pytest.raises(shoprec.InvalidArgumentError, match="item id missing on data row 1"):
        load_events_csv(path)
    path.write_text("user,item,event,timestamp\n1,2,view,yesterday-ish\n")
    with pytest.raises(shoprec.InvalidArgumentError, match="time"):
        load_events_csv(path)
    path.write_text("user,item,stars\n1,2,five\n")
    with pytest.raises(shoprec.InvalidArgumentError, match="not a number"):
        load_events_csv(path, event=None, timestamp=None, rating="stars")
