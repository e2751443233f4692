"""The recommenders: a contract every model meets, and each model against an independent
reference (dense numpy/scikit-learn computations, and scikit-surprise where installed)."""


import numpy as np
import pytest

import shoprec
from contract import ContractTests, data, model, synthetic  # noqa: F401  (the contract and its fixtures)
from shoprec import Baseline, Interactions, ItemKNN, Popular, UserKNN


class TestPopular(ContractTests):
    def make_model(self):
        return Popular()

    def test_counts_and_categories(self):
        inter = Interactions.from_arrays(["a", "b", "c", "a", "b", "c"], ["x", "x", "x", "y", "y", "z"])
        model = Popular().fit(inter, categories={"x": "food", "y": "toys", "z": "toys"})
        assert model.recommend("new", 3).to_list() == [("x", 3.0), ("y", 2.0), ("z", 1.0)]
        assert model.recommend("new", 3, category="toys").to_list() == [("y", 2.0), ("z", 1.0)]
        assert model.recommend("c", 3, category="toys").to_list() == [("y", 2.0)]
        with pytest.raises(shoprec.UnknownIdError):
            model.recommend("a", 3, category="cars")

    def test_categories_survive_save_and_load(self, tmp_path):
        inter = Interactions.from_arrays(["a", "b", "c", "a"], ["x", "x", "y", "z"])
        model = Popular(by="weight").fit(inter, categories={"x": "food", "y": "toys", "z": "toys"})
        model.save(tmp_path / "popular.shoprec")
        loaded = shoprec.load(tmp_path / "popular.shoprec")
        assert loaded.recommend("new", 3, category="toys") == model.recommend("new", 3, category="toys")
        assert loaded.get_params() == {"by": "weight", "within": None}


class TestBaseline(ContractTests):
    def make_model(self):
        return Baseline()

    def test_unknown_user_gets_popular_fallback(self, model, data):
        # The baseline ranking does not depend on the user: strangers get it too (by b_i).
        recs = model.recommend("stranger", k=7, exclude=["i0"])
        assert recs.items.tolist() == model.recommend(data.user_ids[0], 7, exclude=["i0"], exclude_seen=False).items.tolist()
        assert len(recs) == 7

    def test_biases_match_a_loop_reference(self, data):
        model = Baseline(reg_users=5, reg_items=3, n_epochs=4).fit(data)
        mu = data.values.mean()
        bu, bi = np.zeros(data.n_users), np.zeros(data.n_items)
        triples = list(zip(data.users.tolist(), data.items.tolist(), data.values.tolist()))
        for _ in range(4):
            num, cnt = np.zeros(data.n_items), np.zeros(data.n_items)
            for u, i, r in triples:
                num[i] += r - mu - bu[u]
                cnt[i] += 1
            bi = num / (3 + cnt)
            num, cnt = np.zeros(data.n_users), np.zeros(data.n_users)
            for u, i, r in triples:
                num[u] += r - mu - bi[i]
                cnt[u] += 1
            bu = num / (5 + cnt)
        got_mu, got_bu, got_bi = model.biases
        assert got_mu == pytest.approx(mu)
        np.testing.assert_allclose(got_bu, bu, atol=1e-12)
        np.testing.assert_allclose(got_bi, bi, atol=1e-12)
        user = data.user_ids[0]
        recs = model.recommend(user, 5, exclude_seen=False)
        order = np.lexsort((np.arange(data.n_items), -bi))[:5]
        assert recs.items.tolist() == data.item_ids[order].tolist()
        np.testing.assert_allclose(recs.scores, mu + bu[0] + bi[order], rtol=1e-6)

    def test_matches_surprise_baseline_only(self, data):
        surprise = pytest.importorskip("surprise")
        trainset = surprise_trainset(surprise, data)
        algo = surprise.BaselineOnly(bsl_options={"method": "als"}, verbose=False)
        algo.fit(trainset)
        model = Baseline().fit(data)
        users, items = data.user_ids[data.users], data.item_ids[data.items]
        theirs = np.array([algo.predict(u, i).est for u, i in zip(users, items)])
        np.testing.assert_allclose(model.predict_many(users, items), theirs, atol=1e-9)


def surprise_trainset(surprise, data):
    import pandas as pd

    df = pd.DataFrame({"u": data.user_ids[data.users], "i": data.item_ids[data.items], "r": data.values})
    reader = surprise.Reader(rating_scale=data.rating_scale)
    return surprise.Dataset.load_from_df(df, reader).build_full_trainset()


def dense_cosine(matrix):
    from sklearn.metrics.pairwise import cosine_similarity

    return cosine_similarity(matrix)


def reference_item_scores(data, k_neighbours):
    """Item-based scores from a dense sklearn cosine matrix truncated to the top k per row."""
    csr = data.to_csr()
    # The model stores float32 similarities and breaks ties at the k-th neighbour by the lower
    # index: select on float32 values too, or float64 noise would break exact ties differently.
    sims = dense_cosine(csr.T.tocsr()).astype(np.float32).astype(np.float64)
    np.fill_diagonal(sims, 0.0)
    truncated = np.zeros_like(sims)
    for j in range(sims.shape[0]):
        row = sims[j]
        cand = np.flatnonzero(row != 0)
        keep = cand[np.lexsort((cand, -row[cand]))][:k_neighbours]
        truncated[j, keep] = row[keep]
    return csr.toarray() @ truncated  # users x items


def assert_ranked_like(recs, data, ref_scores_row, popularity, seen, k):
    """recs equals the reference ranking (score desc, popularity desc, index asc), allowing
    float32 rounding only where reference scores are within 1e-4 of each other."""
    n = len(ref_scores_row)
    cand = np.array([i for i in range(n) if i not in seen], dtype=np.int64)
    order = cand[np.lexsort((cand, -popularity[cand], -np.round(ref_scores_row[cand], 4)))][:k]
    got = np.array([data.item_index(i) for i in recs.items], dtype=np.int64)
    np.testing.assert_allclose(recs.scores, ref_scores_row[got], rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(np.sort(ref_scores_row[got]), np.sort(ref_scores_row[order]), atol=1e-4)


class TestItemKNN(ContractTests):
    def make_model(self):
        return ItemKNN(10, similarity="cosine", num_threads=2)

    def test_recommend_scores_match_dense_reference(self, data):
        model = ItemKNN(8, similarity="cosine").fit(data)
        scores = reference_item_scores(data, 8)
        popularity = np.bincount(data.items, minlength=data.n_items).astype(float)
        csr = data.to_csr()
        for u in range(0, data.n_users, 3):
            recs = model.recommend(data.user_ids[u], 10)
            assert_ranked_like(recs, data, scores[u], popularity, set(csr[u].indices), 10)

    def test_explain_sums_to_the_score(self, data):
        model = ItemKNN(8, similarity="cosine").fit(data)
        user = data.user_ids[2]
        for item, score in model.recommend(user, 5):
            reasons = model.explain(user, item)
            assert reasons and sum(c for _, c in reasons) == pytest.approx(score, rel=1e-5)
            history = set(data.item_ids[data.to_csr()[2].indices])
            assert {i for i, _ in reasons} <= history
            assert [c for _, c in reasons] == sorted((c for _, c in reasons), reverse=True)
        with pytest.raises(shoprec.UnknownIdError):
            model.explain("stranger", "i1")
        with pytest.raises(shoprec.UnknownIdError):
            model.explain(user, "nope")

    def test_recommend_for_history_equals_recommend_for_the_same_history(self, data):
        model = ItemKNN(8, similarity="cosine").fit(data)
        u = 5
        row = data.to_csr()[u]
        user = data.user_ids[u]
        again = model.recommend_for_history(data.item_ids[row.indices], 10, weights=row.data)
        assert again == model.recommend(user, 10)
        assert model.recommend_for_history(["nope"], 4) == Popular().fit(data).recommend("x", 4)

    def test_similar_items_match_dense_cosine(self, data):
        model = ItemKNN(8, similarity="cosine", max_neighbours=None).fit(data)
        sims = dense_cosine(data.to_csr().T.tocsr())
        for i in range(0, data.n_items, 7):
            got = model.similar_items(data.item_ids[i], 5)
            row = sims[i].copy()
            row[i] = -np.inf
            np.testing.assert_allclose(got.scores, np.sort(row)[::-1][:5], rtol=1e-5)
            assert data.item_ids[i] not in got.items
        users = dense_cosine(data.to_csr())
        got = model.similar_users(data.user_ids[0], 4)
        row = users[0].copy()
        row[0] = -np.inf
        np.testing.assert_allclose(got.scores, np.sort(row)[::-1][:4], rtol=1e-6)

    @pytest.mark.parametrize("k", [3, 1000])
    def test_predict_matches_a_naive_knn_with_means(self, data, k):
        model = ItemKNN(k, similarity="cosine", max_neighbours=None).fit(data)
        csr = data.to_csr()
        dense = csr.toarray()
        rated = dense > 0
        sims = dense_cosine(csr.T.tocsr()).astype(np.float32).astype(np.float64)
        item_means = dense.sum(0) / rated.sum(0)
        rng = np.random.default_rng(3)
        us, its = rng.integers(0, data.n_users, 200), rng.integers(0, data.n_items, 200)
        want = []
        for u, i in zip(us, its):
            js = np.flatnonzero(rated[u])
            js = js[js != i]
            js = js[np.lexsort((js, -sims[i, js]))][:k]
            js = js[sims[i, js] > 0]
            est = item_means[i]
            if len(js):
                est += sims[i, js] @ (dense[u, js] - item_means[js]) / sims[i, js].sum()
            want.append(np.clip(est, *data.rating_scale))
        got = model.predict_many(data.user_ids[us], data.item_ids[its])
        np.testing.assert_allclose(got, want, atol=1e-5)

    def test_matches_surprise_knn_with_means_and_knn_baseline(self, data):
        surprise = pytest.importorskip("surprise")
        trainset = surprise_trainset(surprise, data)
        # Pairs the user did not rate: surprise counts a rated item as its own neighbour.
        unrated_u, unrated_i = np.nonzero(data.to_csr().toarray() == 0)
        pick = np.random.default_rng(0).choice(len(unrated_u), 300, replace=False)
        users, items = data.user_ids[unrated_u[pick]], data.item_ids[unrated_i[pick]]
        bsl = {"method": "als"}
        for ours, theirs in (
            (ItemKNN(1000, similarity="cosine_corated", max_neighbours=None),
             surprise.KNNWithMeans(k=1000, sim_options={"name": "cosine", "user_based": False}, verbose=False)),
            (ItemKNN(3, similarity="pearson", shrinkage=0.0, max_neighbours=None),
             surprise.KNNWithMeans(k=3, sim_options={"name": "pearson", "user_based": False}, verbose=False)),
            # surprise's shrinkage factor (n-1)/(n-1+lambda) is 0/0 for one co-rater, so such
            # pairs never count there: min_support=2 reproduces that.
            (ItemKNN(1000, similarity="pearson_baseline", shrinkage=0.0, baseline=True, max_neighbours=None,
                     min_support=2),
             surprise.KNNBaseline(k=1000, sim_options={"name": "pearson_baseline", "user_based": False, "shrinkage": 0},
                                  bsl_options=bsl, verbose=False)),
            (UserKNN(1000, similarity="pearson", shrinkage=0.0, max_neighbours=None),
             surprise.KNNWithMeans(k=1000, sim_options={"name": "pearson", "user_based": True}, verbose=False)),
        ):
            ours.fit(data)
            theirs.fit(trainset)
            expected = np.array([theirs.predict(u, i).est for u, i in zip(users, items)])
            np.testing.assert_allclose(ours.predict_many(users, items), expected, atol=1e-5)


class TestUserKNN(ContractTests):
    def make_model(self):
        return UserKNN(10, similarity="cosine")

    def test_recommend_scores_match_dense_reference(self, data):
        model = UserKNN(6, similarity="cosine").fit(data)
        csr = data.to_csr()
        sims = dense_cosine(csr)
        np.fill_diagonal(sims, 0.0)
        dense = csr.toarray()
        popularity = np.bincount(data.items, minlength=data.n_items).astype(float)
        for u in range(0, data.n_users, 4):
            cand = np.flatnonzero(sims[u] != 0)
            neighbours = cand[np.lexsort((cand, -sims[u, cand]))][:6]
            scores = sims[u, neighbours] @ dense[neighbours]
            assert_ranked_like(model.recommend(data.user_ids[u], 10), data, scores, popularity, set(csr[u].indices), 10)
        user = data.user_ids[1]
        for item, score in model.recommend(user, 3):
            assert sum(c for _, c in model.explain(user, item)) == pytest.approx(score, rel=1e-5)

    def test_recommend_for_history_uses_cosine_neighbours(self, data):
        model = UserKNN(6, similarity="cosine").fit(data)
        row = data.to_csr()[7]
        recs = model.recommend_for_history(data.item_ids[row.indices], 5, weights=row.data)
        # The user is their own most similar training user, so the scores differ from
        # recommend() but the call must still give 5 unseen items.
        assert len(recs) == 5 and not set(recs.items) & set(data.item_ids[row.indices])


def naive_cosine_ranked(vectors, query, skip=None):
    """Cosine of every row of a dense float64 matrix with a dense vector (numpy, no shoprec):
    the rows with a positive similarity, best first, ties to the lower index."""
    norms = np.sqrt((vectors * vectors).sum(axis=1)) * np.sqrt(query @ query)
    sims = np.divide(vectors @ query, norms, out=np.zeros(len(vectors)), where=norms > 0)
    if skip is not None:
        sims[skip] = 0.0
    cand = np.flatnonzero(sims > 0)
    return cand[np.lexsort((cand, -sims[cand]))], sims


class TestCosineSearchesAgainstNaiveNumpy:
    """UserKNN.similar_items, the history neighbours of UserKNN.recommend_for_history and
    ItemKNN.similar_users come from indexes built at fit; they must equal a dense numpy cosine."""

    def test_user_knn_similar_items(self, data):
        model = UserKNN(6, similarity="cosine").fit(data)
        columns = data.to_csr().toarray().astype(np.float32).astype(np.float64).T  # items x users
        for i in range(0, data.n_items, 3):
            order, sims = naive_cosine_ranked(columns, columns[i], skip=i)
            got = model.similar_items(data.item_ids[i], 7)
            assert list(got.items) == list(data.item_ids[order[:7]])
            np.testing.assert_allclose(got.scores, sims[order[:7]], rtol=1e-6)
        # Filters apply before the cut to k, as before.
        allowed, banned = data.item_ids[::2], data.item_ids[order[:3]]
        keep = [j for j in order if data.item_ids[j] in set(allowed) and data.item_ids[j] not in set(banned)]
        got = model.similar_items(data.item_ids[i], 4, items=allowed, exclude=banned)
        assert list(got.items) == list(data.item_ids[keep[:4]])
        assert len(model.similar_items(data.item_ids[i], 10**15)) == len(order)

    def test_user_knn_history_neighbours(self, data):
        model = UserKNN(6, similarity="cosine").fit(data)
        csr = data.to_csr()
        dense = csr.toarray().astype(np.float32).astype(np.float64)
        row = csr[7]
        # A repeated item adds up; an unknown one is ignored.
        history = list(data.item_ids[row.indices]) + [data.item_ids[row.indices[0]], "unknown"]
        weights = list(row.data) + [2.0, 5.0]
        query = np.zeros(data.n_items)
        np.add.at(query, list(row.indices) + [row.indices[0]], np.float32(list(row.data) + [2.0]))
        order, sims = naive_cosine_ranked(dense, query)
        neighbours = order[:6]
        got_neighbours, got_sims = model._users_like(
            model._state, np.r_[row.indices, row.indices[0]].astype(np.int32), np.float32(list(row.data) + [2.0])
        )
        np.testing.assert_array_equal(got_neighbours, neighbours)
        np.testing.assert_allclose(got_sims, sims[neighbours], rtol=1e-6)
        scores = sims[neighbours] @ dense[neighbours]
        popularity = np.bincount(data.items, minlength=data.n_items).astype(float)
        recs = model.recommend_for_history(history, 10, weights=weights)
        assert_ranked_like(recs, data, scores, popularity, set(row.indices), 10)

    def test_item_knn_similar_users(self, data):
        model = ItemKNN(6, similarity="cosine").fit(data)
        dense = data.to_csr().toarray().astype(np.float32).astype(np.float64)
        for u in range(0, data.n_users, 3):
            order, sims = naive_cosine_ranked(dense, dense[u], skip=u)
            got = model.similar_users(data.user_ids[u], 5)
            assert list(got.items) == list(data.user_ids[order[:5]])
            np.testing.assert_allclose(got.scores, sims[order[:5]], rtol=1e-6)

    def test_searches_survive_save_and_load(self, data, tmp_path):
        for fitted in (UserKNN(6, similarity="cosine").fit(data), ItemKNN(6, similarity="cosine").fit(data)):
            path = tmp_path / f"{type(fitted).__name__}.shoprec"
            fitted.save(path)
            loaded = shoprec.load(path)
            assert loaded.similar_items(data.item_ids[3], 5) == fitted.similar_items(data.item_ids[3], 5)
            assert loaded.similar_users(data.user_ids[3], 5) == fitted.similar_users(data.user_ids[3], 5)
            history = data.item_ids[:6]
            assert loaded.recommend_for_history(history, 5) == fitted.recommend_for_history(history, 5)


@pytest.mark.parametrize("kwargs, error", [
    (dict(k_neighbours=0), shoprec.InvalidArgumentError),
    (dict(similarity="jaccard"), shoprec.InvalidArgumentError),
    (dict(shrinkage=-1.0), shoprec.InvalidArgumentError),
    (dict(baseline="yes"), shoprec.DTypeError),
    (dict(k_neighbours=50, max_neighbours=10), shoprec.InvalidArgumentError),
    (dict(num_threads=-2), shoprec.InvalidArgumentError),
])
def test_bad_parameters(kwargs, error):
    with pytest.raises(error):
        ItemKNN(**kwargs)


def test_bad_calls():
    data = synthetic(2, strings=False)
    model = ItemKNN(5).fit(data)
    with pytest.raises(shoprec.InvalidArgumentError):
        model.recommend(0, k=0)
    with pytest.raises(shoprec.DTypeError):
        model.fit(data.to_csr())
    with pytest.raises(shoprec.ShapeMismatchError):
        model.predict_many([0, 1], [0])
    with pytest.raises(shoprec.UnknownIdError):
        model.similar_items(10**6)
    assert len(model.recommend(0, 3, items=[])) == 0


# ---------------------------------------------------------------------------- boundary
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 10**6),
    n_users=st.integers(1, 12),
    n_items=st.integers(1, 15),
    k=st.integers(1, 20),
    k_neighbours=st.integers(1, 6),
    exclude_seen=st.booleans(),
    data_=st.data(),
)
def test_hypothesis_item_knn_against_dense_reference(seed, n_users, n_items, k, k_neighbours, exclude_seen, data_):
    rng = np.random.default_rng(seed)
    mask = rng.random((n_users, n_items)) < 0.4
    mask[0, 0] = True
    users, items = np.nonzero(mask)
    inter = Interactions.from_arrays(users, items, rng.integers(1, 6, len(users)).astype(float))
    model = ItemKNN(k_neighbours, similarity="cosine").fit(inter)
    scores = reference_item_scores(inter, k_neighbours)
    popularity = np.bincount(inter.items, minlength=inter.n_items).astype(float)
    csr = inter.to_csr()
    exclude = data_.draw(st.lists(st.integers(0, n_items + 2), max_size=4))
    for u in range(inter.n_users):
        user = inter.user_ids[u]
        recs = model.recommend(user, k, exclude_seen=exclude_seen, exclude=exclude)
        blocked = set(csr[u].indices.tolist()) if exclude_seen else set()
        blocked |= {inter.item_index(e) for e in exclude if e in set(inter.item_ids.tolist())}
        n_candidates = inter.n_items - len(blocked)
        assert len(recs) == min(k, n_candidates)
        if csr[u].nnz:
            assert_ranked_like(recs, inter, scores[u], popularity, blocked, k)
        assert not blocked & {inter.item_index(i) for i in recs.items}


def test_tampered_model_file_is_refused(tmp_path):
    from shoprec import io as _persist

    data = synthetic(4)
    path = tmp_path / "m.shoprec"
    ItemKNN(5, similarity="cosine").fit(data).save(path)
    name, params, arrays = _persist.read_file(path)
    arrays = {key: np.array(value) for key, value in arrays.items()}
    arrays["neighbours_indices"][0] = 10**6  # out of range, with a valid checksum
    _persist.write_file(path, name, params, arrays)
    with pytest.raises(shoprec.ModelFileError):
        shoprec.load(path)
    arrays = {key: value for key, value in arrays.items() if key != "order"}
    _persist.write_file(path, name, params, arrays)
    with pytest.raises(shoprec.ModelFileError):
        shoprec.load(path)


def _child_recommends(model, users, queue):
    queue.put([r.to_list() for r in model.recommend_many(users, 5, num_threads=2)])


def test_recommend_many_works_in_a_forked_child():
    import multiprocessing as mp

    if "fork" not in mp.get_all_start_methods():
        pytest.skip("no fork on this platform")
    data = synthetic(5)
    model = ItemKNN(5, similarity="cosine").fit(data)
    users = list(data.user_ids[:10])
    expected = [r.to_list() for r in model.recommend_many(users, 5, num_threads=2)]  # pool started
    ctx = mp.get_context("fork")
    queue = ctx.Queue()
    child = ctx.Process(target=_child_recommends, args=(model, users, queue))
    child.start()
    got = queue.get(timeout=60)
    child.join(timeout=60)
    assert child.exitcode == 0 and got == expected


def test_implicit_events_end_to_end(tmp_path):
    inter = Interactions.from_arrays(
        ["a", "a", "b", "b", "c", "c", "c"], ["x", "y", "x", "z", "y", "z", "x"],
        events=["view", "purchase", "cart", "view", "view", "purchase", "view"],
    )
    model = ItemKNN(3, similarity="cosine").fit(inter)
    recs = model.recommend("a", 5)
    assert recs.items.tolist() == ["z"]
    assert model.explain("a", "z") and model.recommend("nobody", 2).items.tolist() == ["x", "y"]


def test_huge_k_returns_every_candidate_without_allocating_k():
    data = synthetic(6)
    model = ItemKNN(5, similarity="cosine").fit(data)
    user = data.user_ids[0]
    seen = data.to_csr()[0].nnz
    assert len(model.recommend(user, 10**12)) == data.n_items - seen
    batch = model.recommend_many([user, "stranger"], 10**12)
    assert [len(r) for r in batch] == [data.n_items - seen, data.n_items]
