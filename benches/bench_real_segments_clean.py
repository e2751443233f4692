"""Segments and cleaning on real data (not part of the test suite's guarantees: skipped when the
data folder is absent). The data path comes from env ``SHOPREC_DATA`` (default
``../shared/data`` relative to the repository root).

Run: ``PYTHONPATH=python python -m pytest -q -s benches/bench_real_segments_clean.py``
(``-s`` prints the segment descriptions and counts).
"""

import os

import numpy as np
import pytest

import shoprec
from shoprec import clean

pd = pytest.importorskip("pandas")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.environ.get("SHOPREC_DATA", os.path.join(ROOT, "..", "shared", "data"))


def data_file(*parts):
    path = os.path.join(DATA, *parts)
    if not os.path.exists(path):
        pytest.skip(f"real data not found at {path} (set SHOPREC_DATA)")
    return path


def test_bike_sharing_hurricane_day_is_flagged_and_replaced():
    hours = pd.read_csv(data_file("uci-bike-sharing", "hour.csv"))
    daily = hours.groupby("dteday", as_index=False)["cnt"].sum()
    daily["station"] = "all"
    # A 25-day window: the storm hit 2012-10-28..30 (4459, 22, 1096), so narrower windows hold
    # too many storm days for the median and MAD to see 10-29 as odd.
    cleaned, report = clean.fix_outliers(daily, 25, n_sigmas=4.0, item="station", date="dteday", value="cnt")
    day = np.flatnonzero(daily["dteday"].to_numpy() == "2012-10-29")[0]
    neighbours = daily["cnt"].to_numpy()[day - 12 : day + 13]
    assert daily["cnt"][day] == 22
    assert cleaned["is_outlier"][day]
    assert np.percentile(neighbours, 25) <= cleaned["cnt"][day] <= neighbours.max()
    flagged = int(cleaned["is_outlier"].sum())
    print(f"\nbike sharing: {flagged} of {len(daily)} days flagged (window 25, 4 sigmas); "
          f"2012-10-29: 22 -> {cleaned['cnt'][day]:.0f}")
    assert report.n_changed == flagged and flagged <= 0.05 * len(daily)


def test_groceries_exact_duplicates_are_found():
    path = data_file("groceries", "Groceries_dataset.csv")
    baskets = pd.read_csv(path, encoding="utf-8-sig")
    baskets["Date"] = pd.to_datetime(baskets["Date"], format="%d-%m-%Y")
    cleaned, report = clean.dedupe_events(
        baskets, 0, user="Member_number", item="itemDescription", timestamp="Date"
    )
    print(f"\ngroceries: {report}")
    assert report.n_removed == 759 == int(baskets.duplicated().sum())
    assert cleaned["count"].sum() == len(baskets) and len(cleaned) == len(baskets) - 759


@pytest.fixture(scope="module")
def movielens():
    ratings = pd.read_csv(data_file("ml-latest-small", "ratings.csv"))
    movies = pd.read_csv(data_file("ml-latest-small", "movies.csv"))
    return shoprec.Interactions.from_pandas(ratings, user="userId", item="movieId", rating="rating"), movies


def test_movielens_genre_segments_are_described_and_assign_agrees(movielens):
    interactions, movies = movielens
    model = shoprec.InterestSegments(6, features="attributes", seed=0)
    model.fit(interactions, item_attributes=movies[["movieId", "genres"]])
    print()
    leading = set()
    for segment in range(model.n_segments):
        description = model.describe(segment, k=4)
        print(description)
        assert description.size == model.sizes[segment] > 0
        assert description.top_attributes and description.top_attributes[0][1] > 1.0
        leading.add(description.top_attributes[0][0])
    assert len(leading) >= 4  # segments differ in the genres that set them apart
    assert model.sizes.sum() + model.n_new_shoppers == interactions.n_users
    matrix = interactions.to_csr()
    histories = [interactions.item_ids[matrix[u].indices] for u in range(matrix.shape[0])]
    weights = [matrix[u].data for u in range(matrix.shape[0])]
    np.testing.assert_array_equal(model.assign_many(histories, weights), model.labels)
    assert model.assign(list(histories[0]), weights[0]) == model.labels[0]
