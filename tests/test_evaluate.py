"""Splits, metrics (against scikit-learn and hand computations) and grid search."""

import numpy as np
import pytest

import shoprec
from shoprec import Interactions, ItemKNN, Popular, evaluate, tune


@pytest.fixture
def data(rng):
    n = 3000
    users = rng.integers(0, 80, n)
    items = rng.integers(0, 120, n)
    ratings = rng.integers(1, 11, n) / 2.0
    stamps = rng.integers(0, 10**6, n)
    return Interactions.from_arrays(users, items, ratings, timestamps=stamps)


def keys(inter):
    return set(zip(inter.users.tolist(), inter.items.tolist()))


def test_random_split_is_a_seeded_partition(data):
    train, test = evaluate.random_split(data, 0.2, seed=7)
    assert len(test) == round(0.2 * len(data)) and len(train) + len(test) == len(data)
    assert keys(train) | keys(test) == keys(data) and not keys(train) & keys(test)
    again = evaluate.random_split(data, 0.2, seed=7)[1]
    assert keys(again) == keys(test)
    assert keys(evaluate.random_split(data, 0.2, seed=8)[1]) != keys(test)


def test_leave_last_n_takes_each_users_latest(data):
    train, test = evaluate.leave_last_n(data, 2)
    for u in range(data.n_users):
        rows = np.flatnonzero(data.users == u)
        if len(rows) <= 2:
            assert not np.any(test.users == u)
            continue
        latest = rows[np.lexsort((data.items[rows], data.timestamps[rows]))][-2:]
        want = set(zip(data.users[latest].tolist(), data.items[latest].tolist()))
        got = {p for p in keys(test) if p[0] == u}
        assert got == want
    assert keys(train) | keys(test) == keys(data)


def test_time_split_and_k_fold(data):
    train, test = evaluate.time_split(data, 500_000)
    assert train.timestamps.max() < 500_000 <= test.timestamps.min()
    folds = list(evaluate.k_fold(data, 4, seed=1))
    tests = [keys(t) for _, t in folds]
    assert set().union(*tests) == keys(data) and sum(map(len, tests)) == len(data)
    with pytest.raises(shoprec.InvalidArgumentError):
        evaluate.leave_last_n(Interactions.from_arrays([1], [1]), 1)


def test_ranking_metrics_from_lists_by_hand_and_against_sklearn():
    from sklearn.metrics import ndcg_score

    recommended = [[1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12]]
    relevant = [[2, 4, 20], [], [13]]
    m = evaluate.ranking_metrics_from_lists(recommended, relevant, 4, n_items=20)
    # User 0: hits at ranks 2 and 4; user 2: no hit; user 1 is skipped (nothing relevant).
    assert m["users"] == 2
    assert m["precision@4"] == pytest.approx((2 / 4 + 0) / 2)
    assert m["recall@4"] == pytest.approx((2 / 3 + 0) / 2)
    assert m["hit_rate@4"] == pytest.approx(0.5)
    assert m["map@4"] == pytest.approx(((1 / 2 + 2 / 4) / 3 + 0) / 2)
    assert m["coverage@4"] == pytest.approx(8 / 20)
    truth = np.zeros((1, 25))
    truth[0, [2, 4, 20]] = 1
    scores = np.zeros((1, 25))
    scores[0, [1, 2, 3, 4]] = [4, 3, 2, 1]
    assert m["ndcg@4"] == pytest.approx(ndcg_score(truth, scores, k=4) / 2)


def test_model_metrics_against_a_direct_computation(data):
    train, test = evaluate.random_split(data, 0.25, seed=3)
    model = ItemKNN(10, similarity="cosine").fit(train)
    m = evaluate.ranking_metrics(model, test, 5, threshold=4)
    liked = test.values >= 4
    lists, rel = [], []
    for u in np.unique(test.users[liked]):
        rel.append(test.item_ids[test.items[liked & (test.users == u)]].tolist())
        lists.append(model.recommend(test.user_ids[u], 5).items.tolist())
    assert m == evaluate.ranking_metrics_from_lists(lists, rel, 5, n_items=data.n_items)
    preds = np.array([model.predict(test.user_ids[u], test.item_ids[i]) for u, i in zip(test.users, test.items)])
    r = evaluate.rating_metrics(model, test)
    assert r["rmse"] == pytest.approx(np.sqrt(np.mean((preds - test.values) ** 2)))
    assert r["mae"] == pytest.approx(np.mean(np.abs(preds - test.values)))


def test_grid_search_picks_the_best_mean(data):
    result = tune.grid_search(ItemKNN, {"k_neighbours": [2, 30], "similarity": ["cosine"]}, data, cv=3, metric="rmse")
    assert len(result.table) == 2 and result.metric == "rmse"
    means = [row["mean"] for row in result.table]
    assert result.best_score == min(means)
    assert result.best_params == result.table[int(np.argmin(means))]["params"]
    # The table matches a manual cross-validation of the first combination.
    folds = list(evaluate.k_fold(data, 3, seed=0))
    manual = [evaluate.rmse(ItemKNN(2, similarity="cosine").fit(tr), te) for tr, te in folds]
    assert result.table[0]["folds"] == pytest.approx(manual)
    ranked = tune.grid_search(Popular, {"by": ["count", "weight"]}, data, cv=2, metric="ndcg@5", threshold=4)
    assert ranked.best_score == max(r["mean"] for r in ranked.table)
    with pytest.raises(shoprec.InvalidArgumentError):
        tune.grid_search(Popular, {}, data, metric="auc")
