"""pytest-benchmark: the recommender through Python, the same workloads as the criterion
benches (`cargo bench -p shoprec-core -- knn_recommend`) on generated data that smoke-runs fast.
The side-by-side run against surprise and implicit on real data is benches/accuracy.py.

    python -m pytest benches/bench_recommender.py --benchmark-enable
"""

import numpy as np
import pytest

from shoprec import Interactions, ItemKNN, UserKNN


@pytest.fixture(scope="module")
def interactions():
    rng = np.random.default_rng(11)
    n = 60_000
    # Popularity-skewed items, like a shop catalogue.
    items = (rng.random(n) ** 2 * 5000).astype(np.int64)
    users = rng.integers(0, 1500, n)
    ratings = rng.integers(1, 11, n) / 2.0
    return Interactions.from_arrays(users, items, ratings)


@pytest.fixture(scope="module")
def item_knn(interactions):
    return ItemKNN(50, similarity="cosine").fit(interactions)


def test_fit_item_knn(benchmark, interactions):
    model = benchmark.pedantic(lambda: ItemKNN(40, similarity="pearson").fit(interactions), rounds=1, iterations=1)
    assert model.is_fitted


def test_one_recommend(benchmark, item_knn, interactions):
    user = interactions.user_ids[7]
    recs = benchmark(item_knn.recommend, user, 10)
    assert len(recs) == 10


def test_recommend_many_all_users(benchmark, item_knn, interactions):
    batch = benchmark(item_knn.recommend_many, interactions.user_ids, 10)
    assert len(batch) == interactions.n_users and batch[3] == item_knn.recommend(interactions.user_ids[3], 10)


def test_predict_many(benchmark, interactions):
    model = UserKNN(40, similarity="pearson", baseline=True).fit(interactions)
    users = interactions.user_ids[interactions.users[:5000]]
    items = interactions.item_ids[interactions.items[:5000]]
    preds = benchmark(model.predict_many, users, items)
    assert preds.shape == (5000,) and np.isfinite(preds).all()
