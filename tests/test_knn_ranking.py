"""Ranking on implicit data and surprise's missing kNN rows: BM25/TF-IDF row weighting and the
normalisation exponent against dense numpy references, the per-data-kind defaults (never below
Popular on data with a planted structure), ``msd`` and the uncentred prediction against
surprise's definitions, and the cold-item rule."""

import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

import shoprec
from shoprec import Baseline, Interactions, ItemKNN, Popular, UserKNN, evaluate
from shoprec.kernels import pearson_neighbours
from shoprec.models.weighting import bm25_weight, tfidf_weight

from contract import synthetic

ROOT = Path(__file__).resolve().parent.parent


# ---------------------------------------------------------------------------- references
def dense_bm25(x, k1, b):
    """BM25 of a dense documents x terms matrix, written from the textbook formula with
    loops over the cells (zeros are "not stored")."""
    n_docs, n_terms = x.shape
    stored = x != 0
    idf = np.array([np.log(n_docs) - np.log(1 + stored[:, t].sum()) for t in range(n_terms)])
    lengths = x.sum(axis=1)
    avg = lengths.mean()
    out = np.zeros_like(x)
    for d in range(n_docs):
        norm = 1 - b + b * lengths[d] / avg
        for t in range(n_terms):
            if stored[d, t]:
                out[d, t] = x[d, t] * (k1 + 1) / (k1 * norm + x[d, t]) * idf[t]
    return out


def dense_tfidf(x):
    n_docs, n_terms = x.shape
    stored = x != 0
    out = np.zeros_like(x)
    for t in range(n_terms):
        idf = np.log(n_docs) - np.log(1 + stored[:, t].sum())
        out[stored[:, t], t] = np.sqrt(x[stored[:, t], t]) * idf
    return out


def random_weights(seed, shape=(30, 45), density=0.3):
    rng = np.random.default_rng(seed)
    x = np.where(rng.random(shape) < density, rng.integers(1, 6, shape).astype(float), 0.0)
    return x


def implicit_data(seed=0, n_users=50, n_items=70, density=0.15, weights=False):
    rng = np.random.default_rng(seed)
    users, items = np.nonzero(rng.random((n_users, n_items)) < density)
    if weights:
        events = rng.choice(["view", "cart", "purchase"], len(users))
        return Interactions.from_arrays([f"u{u}" for u in users], [f"i{i}" for i in items], events=events)
    return Interactions.from_arrays([f"u{u}" for u in users], [f"i{i}" for i in items])


def top_k_rows(sims, k):
    """Keep the ``k`` largest nonzero entries of each row (ties by the lower index), diagonal out."""
    sims = sims.astype(np.float32).astype(np.float64)
    np.fill_diagonal(sims, 0.0)
    out = np.zeros_like(sims)
    for j in range(sims.shape[0]):
        cand = np.flatnonzero(sims[j] != 0)
        keep = cand[np.lexsort((cand, -sims[j, cand]))][:k]
        out[j, keep] = sims[j, keep]
    return out


def reference_similarity(entities, weighting, alpha, k1=1.2, b=0.75):
    """entity x rater dense matrix -> weighted, normalised dot products."""
    if weighting == "bm25":
        w = dense_bm25(entities, k1, b)
    elif weighting == "tfidf":
        w = dense_tfidf(entities)
    else:
        w = entities.astype(float)
    norms = np.linalg.norm(w, axis=1)
    scale = np.where(norms > 0, norms, 1.0) ** alpha
    return (w @ w.T) / np.outer(scale, scale)


# ---------------------------------------------------------------------------- weighting
@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("k1,b", [(1.2, 0.75), (100.0, 0.8), (0.5, 0.0)])
def test_bm25_weight_matches_dense_reference(seed, k1, b):
    x = random_weights(seed)
    got = bm25_weight(sp.csr_matrix(x), k1, b)
    np.testing.assert_allclose(got.toarray(), dense_bm25(x, k1, b), rtol=1e-12, atol=1e-12)
    assert got.nnz == np.count_nonzero(x)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_tfidf_weight_matches_dense_reference(seed):
    x = random_weights(seed)
    got = tfidf_weight(sp.csr_matrix(x))
    np.testing.assert_allclose(got.toarray(), dense_tfidf(x), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("model_cls", [ItemKNN, UserKNN])
@pytest.mark.parametrize("weighting,alpha", [("bm25", 0.0), ("bm25", 0.5), ("tfidf", 1.0), ("none", 0.25),
                                             ("bm25", 1.0)])
def test_weighted_neighbours_and_scores_match_dense_reference(model_cls, weighting, alpha):
    data = implicit_data(3, weights=True)
    k = 6
    model = model_cls(k, "cosine", weighting=weighting, alpha=alpha, max_neighbours=None).fit(data)
    dense = data.to_csr().toarray()
    item_based = model_cls is ItemKNN
    entities = dense.T if item_based else dense
    sims = reference_similarity(entities, weighting, alpha)
    truncated = top_k_rows(sims, k)
    scores = dense @ truncated if item_based else truncated @ dense
    for u in range(0, data.n_users, 5):
        user = data.user_ids[u]
        recs = model.recommend(user, 8)
        seen = dense[u] > 0
        got_items = np.array([data.item_index(i) for i in recs.items])
        np.testing.assert_allclose(recs.scores, scores[u, got_items], rtol=2e-4, atol=1e-5)
        best = np.sort(np.where(seen, -np.inf, scores[u]))[::-1][: len(recs)]
        np.testing.assert_allclose(np.sort(scores[u, got_items])[::-1], best, rtol=2e-4, atol=1e-5)
    if item_based:
        # similar_items answers with the stored (weighted, normalised) similarities.
        item = data.item_ids[0]
        sim = model.similar_items(item, 5)
        want = np.sort(truncated[0][truncated[0] > 0])[::-1][:5]
        np.testing.assert_allclose(sim.scores, want[: len(sim)], rtol=2e-4, atol=1e-6)


@pytest.mark.parametrize("name,weighting", [("CosineRecommender", "none"), ("TFIDFRecommender", "tfidf")])
def test_same_scores_as_implicit_when_installed(name, weighting):
    nn = pytest.importorskip("implicit.nearest_neighbours")
    data = implicit_data(5, n_users=80, n_items=60, density=0.2, weights=True)
    csr = data.to_csr().astype(np.float32).tocsr()
    theirs = getattr(nn, name)(K=11)  # implicit keeps the item itself (similarity 1) among its K
    theirs.fit(csr, show_progress=False)
    ours = ItemKNN(10, "cosine", weighting=weighting).fit(data)
    users = np.arange(data.n_users)
    _, scores = theirs.recommend(users, csr[users], N=5)
    for u in users[::7]:
        recs = ours.recommend(data.user_ids[u], 5)
        np.testing.assert_allclose(np.sort(recs.scores), np.sort(scores[u]), rtol=1e-4)


# ---------------------------------------------------------------------------- defaults
def test_settings_per_data_kind():
    from shoprec.models.knn import EXPLICIT_DEFAULTS, IMPLICIT_DEFAULTS

    assert ItemKNN().settings(explicit=True) == EXPLICIT_DEFAULTS
    assert ItemKNN().settings(explicit=False) == IMPLICIT_DEFAULTS["items"]
    assert UserKNN().settings(explicit=False) == IMPLICIT_DEFAULTS["users"]
    # An explicit similarity keeps today's meaning on any data: no weighting, plain cosine.
    assert ItemKNN(similarity="cosine").settings(explicit=False) == {
        "k_neighbours": 40, "similarity": "cosine", "weighting": "none", "alpha": 1.0}
    assert ItemKNN(7).settings(explicit=False)["k_neighbours"] == 7
    assert ItemKNN(max_neighbours=3).settings(explicit=False)["k_neighbours"] == 3
    assert ItemKNN(weighting="tfidf").settings(explicit=False)["weighting"] == "tfidf"
    assert ItemKNN().get_params()["similarity"] is None and ItemKNN().get_params()["k_neighbours"] is None


def test_explicit_default_is_unchanged_pearson():
    data = synthetic(4)
    default = ItemKNN().fit(data)
    pearson = ItemKNN(40, similarity="pearson", shrinkage=25.0).fit(data)
    users, items = data.user_ids[data.users], data.item_ids[data.items]
    np.testing.assert_array_equal(default.predict_many(users, items), pearson.predict_many(users, items))
    assert default.recommend_many(data.user_ids[:5], 5) == pearson.recommend_many(data.user_ids[:5], 5)


def test_implicit_default_is_the_documented_setting():
    from shoprec.models.knn import IMPLICIT_DEFAULTS

    data = implicit_data(7)
    for cls, key in ((ItemKNN, "items"), (UserKNN, "users")):
        default = cls().fit(data)
        spelled = cls(**IMPLICIT_DEFAULTS[key]).fit(data)
        assert default.recommend_many(data.user_ids, 10) == spelled.recommend_many(data.user_ids, 10)


def planted_tastes(seed, n_users=400, n_items=240, n_groups=6, per_user=18, noise=0.25):
    """Users belong to taste groups; each group likes its own block of items. Popularity is
    Zipf-like inside every block, plus a few globally popular items everyone takes now and then."""
    rng = np.random.default_rng(seed)
    block = n_items // n_groups
    groups = rng.integers(0, n_groups, n_users)
    within = 1.0 / np.arange(1, block + 1) ** 0.8
    global_pop = 1.0 / np.arange(1, n_items + 1) ** 1.1
    users, items = [], []
    for u in range(n_users):
        n_own = rng.binomial(per_user, 1 - noise)
        own = rng.choice(block, size=n_own, replace=False, p=within / within.sum()) + groups[u] * block
        other = rng.choice(n_items, size=per_user - n_own, replace=False, p=global_pop / global_pop.sum())
        chosen = np.unique(np.concatenate([own, other]))
        users += [u] * len(chosen)
        items += chosen.tolist()
    return Interactions.from_arrays(np.array(users), np.array(items))


@pytest.mark.parametrize("seed", [0, 1])
def test_defaults_rank_above_popular_on_planted_tastes(seed):
    data = planted_tastes(seed)
    train, test = evaluate.random_split(data, 0.2, seed=seed)
    popular = evaluate.ranking_metrics(Popular().fit(train), test, 10)["ndcg@10"]
    for cls in (ItemKNN, UserKNN):
        ndcg = evaluate.ranking_metrics(cls().fit(train), test, 10)["ndcg@10"]
        assert ndcg > popular * 1.2, (cls.__name__, ndcg, popular)


def test_bad_weighting_arguments():
    with pytest.raises(shoprec.InvalidArgumentError):
        ItemKNN(weighting="okapi")
    with pytest.raises(shoprec.InvalidArgumentError):
        ItemKNN(alpha=1.5)
    with pytest.raises(shoprec.InvalidArgumentError):
        ItemKNN(alpha=-0.1)
    with pytest.raises(shoprec.InvalidArgumentError):
        ItemKNN(similarity="pearson", alpha=0.5)
    with pytest.raises(shoprec.InvalidArgumentError):
        ItemKNN(similarity="pearson_baseline", weighting="bm25")
    with pytest.raises(shoprec.InvalidArgumentError):
        ItemKNN(bm25_b=2.0)
    with pytest.raises(shoprec.InvalidArgumentError):
        ItemKNN(baseline=True, centred=False)
    with pytest.raises(shoprec.DTypeError):
        ItemKNN(centred="no")
    # alpha with the explicit default (pearson) is refused when fit finds explicit data.
    with pytest.raises(shoprec.InvalidArgumentError):
        ItemKNN(alpha=0.5).fit(synthetic(0))


def test_weighted_model_survives_save_and_load(tmp_path):
    data = implicit_data(2)
    model = ItemKNN(8, weighting="tfidf", alpha=0.5).fit(data)
    model.save(tmp_path / "m.shoprec")
    loaded = shoprec.load(tmp_path / "m.shoprec")
    assert loaded.get_params() == model.get_params()
    assert loaded.recommend_many(data.user_ids, 5) == model.recommend_many(data.user_ids, 5)


# ---------------------------------------------------------------------------- msd, KNNBasic
def test_msd_similarity_by_hand():
    # users x items; items 0 and 1 share users 0, 1, 2: differences 1, -2, 0 -> msd 5/3.
    r = np.array([[3.0, 2.0, 0.0], [1.0, 3.0, 5.0], [4.0, 4.0, 0.0], [0.0, 0.0, 2.0]])
    got = pearson_neighbours(sp.csr_matrix(r), 5, similarity="msd").toarray()
    assert got[0, 1] == pytest.approx(1 / (5 / 3 + 1), rel=1e-6)
    assert got[1, 0] == pytest.approx(got[0, 1])
    # items 0 and 2 share user 1 only: (1 - 5)^2 = 16.
    assert got[0, 2] == pytest.approx(1 / 17, rel=1e-6)
    # items 1 and 2: user 1 only, (3 - 5)^2 = 4.
    assert got[1, 2] == pytest.approx(1 / 5, rel=1e-6)
    none = pearson_neighbours(sp.csr_matrix(r), 5, similarity="msd", min_support=2).toarray()
    assert none[0, 2] == 0 and none[0, 1] == pytest.approx(got[0, 1])


def msd_reference(dense, rated):
    """Surprise's msd (similarities.pyx), written as its loops: over co-raters of two columns."""
    n = dense.shape[1]
    sims = np.zeros((n, n))
    for a in range(n):
        for b in range(n):
            both = rated[:, a] & rated[:, b]
            if a != b and both.any():
                sims[a, b] = 1.0 / (np.mean((dense[both, a] - dense[both, b]) ** 2) + 1.0)
    return sims


@pytest.mark.parametrize("seed", [0, 1])
def test_msd_matches_surprise_definition_on_random_ratings(seed):
    data = synthetic(seed, n_users=25, n_items=20, density=0.4)
    csr = data.to_csr()
    dense, rated = csr.toarray(), csr.toarray() > 0
    got = pearson_neighbours(csr, 19, similarity="msd").toarray()
    np.testing.assert_allclose(got, msd_reference(dense, rated), rtol=1e-6, atol=1e-7)
    got_users = pearson_neighbours(csr, 24, axis="users", similarity="msd").toarray()
    np.testing.assert_allclose(got_users, msd_reference(dense.T, rated.T), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("k", [3, 1000])
def test_uncentred_prediction_is_knn_basic(k):
    data = synthetic(2)
    model = ItemKNN(k, "msd", centred=False, max_neighbours=None).fit(data)
    csr = data.to_csr()
    dense, rated = csr.toarray(), csr.toarray() > 0
    sims = msd_reference(dense, rated).astype(np.float32).astype(np.float64)
    rng = np.random.default_rng(4)
    us, its = rng.integers(0, data.n_users, 300), rng.integers(0, data.n_items, 300)
    want = []
    for u, i in zip(us, its):
        js = np.flatnonzero(rated[u])
        js = js[js != i]
        js = js[np.lexsort((js, -sims[i, js]))][:k]
        js = js[sims[i, js] > 0]
        est = sims[i, js] @ dense[u, js] / sims[i, js].sum() if len(js) else data.values.mean()
        want.append(np.clip(est, *data.rating_scale))
    np.testing.assert_allclose(model.predict_many(data.user_ids[us], data.item_ids[its]), want, atol=1e-5)


def test_knn_rows_match_surprise_when_installed():
    surprise = pytest.importorskip("surprise")
    import pandas as pd

    data = synthetic(1)
    df = pd.DataFrame({"u": data.user_ids[data.users], "i": data.item_ids[data.items], "r": data.values})
    trainset = surprise.Dataset.load_from_df(df, surprise.Reader(rating_scale=data.rating_scale)).build_full_trainset()
    rng = np.random.default_rng(0)
    dense = data.to_csr().toarray() > 0
    us, its = np.nonzero(~dense)
    pick = rng.choice(len(us), 200, replace=False)
    users, items = data.user_ids[us[pick]], data.item_ids[its[pick]]
    pairs = [
        (ItemKNN(5, "msd", centred=False, max_neighbours=None),
         surprise.KNNBasic(k=5, sim_options={"name": "msd", "user_based": False}, verbose=False)),
        (UserKNN(5, "msd", centred=False, max_neighbours=None),
         surprise.KNNBasic(k=5, sim_options={"name": "msd", "user_based": True}, verbose=False)),
        (ItemKNN(5, "msd", max_neighbours=None),
         surprise.KNNWithMeans(k=5, sim_options={"name": "msd", "user_based": False}, verbose=False)),
    ]
    for ours, theirs in pairs:
        ours.fit(data)
        theirs.fit(trainset)
        expected = np.array([theirs.predict(u, i).est for u, i in zip(users, items)])
        np.testing.assert_allclose(ours.predict_many(users, items), expected, atol=1e-5)


# ---------------------------------------------------------------------------- the cold rule
@pytest.mark.parametrize("make", [lambda: ItemKNN(10, "pearson"), lambda: UserKNN(10, "cosine"),
                                  lambda: ItemKNN(10, "pearson_baseline", baseline=True),
                                  lambda: ItemKNN(10, "msd", centred=False), lambda: UserKNN(baseline=True)])
def test_cold_items_get_mu_plus_b_u_however_the_interactions_was_built(make):
    full = synthetic(3)
    # "i_cold" is known to the full Interactions but has no training rating after select().
    cold_rows = full.items == full.item_index("i5")
    train = full.select(~cold_rows)
    assert train.n_items == full.n_items  # the id map still knows i5
    rebuilt = Interactions.from_arrays(train.user_ids[train.users], train.item_ids[train.items], train.values)
    assert "i5" not in set(rebuilt.item_ids.tolist())
    mu, b_user, b_item = Baseline(reg_users=15.0, reg_items=10.0, n_epochs=10).fit(rebuilt).biases
    from_split, from_rebuilt = make().fit(train), make().fit(rebuilt)
    users = rebuilt.user_ids[:12]
    want = np.clip(mu + b_user[[rebuilt.user_index(u) for u in users]], *rebuilt.rating_scale)
    for model in (from_split, from_rebuilt):
        np.testing.assert_allclose(model.predict_many(users, ["i5"] * len(users)), want, atol=1e-9)
        np.testing.assert_allclose(model.predict_many(users, ["never-seen"] * len(users)), want, atol=1e-9)
        # Both cold: the global mean; a cold user on a warm item: mu + b_i.
        assert model.predict("stranger", "never-seen") == pytest.approx(mu)
        warm = rebuilt.item_ids[:5]
        want_items = np.clip(mu + b_item[[rebuilt.item_index(i) for i in warm]], *rebuilt.rating_scale)
        np.testing.assert_allclose(model.predict_many(["stranger"] * 5, warm), want_items, atol=1e-9)


# ---------------------------------------------------------------------------- the bench's reader
def test_bench_reads_movielens_layouts(tmp_path):
    sys.path.insert(0, str(ROOT / "benches"))
    from accuracy import data_path, read_ratings

    rows = [(1, 10, 4.0, 881250949), (1, 20, 3.5, 881250950), (2, 10, 5.0, 891717742)]
    (tmp_path / "latest").mkdir()
    (tmp_path / "latest" / "ratings.csv").write_text(
        "userId,movieId,rating,timestamp\n" + "".join(f"{u},{i},{r},{t}\n" for u, i, r, t in rows))
    (tmp_path / "100k").mkdir()
    (tmp_path / "100k" / "u.data").write_text("".join(f"{u}\t{i}\t{int(r)}\t{t}\n" for u, i, r, t in rows))
    (tmp_path / "1m").mkdir()
    (tmp_path / "1m" / "ratings.dat").write_text("".join(f"{u}::{i}::{int(r)}::{t}\n" for u, i, r, t in rows))
    for folder in ("latest", "100k", "1m"):
        df = read_ratings(data_path(str(tmp_path / folder)))
        assert list(df.columns) == ["user", "item", "rating", "timestamp"]
        assert df["user"].tolist() == [1, 1, 2] and df["item"].tolist() == [10, 20, 10]
        assert df["timestamp"].tolist() == [t for *_, t in rows]
        assert df["rating"].tolist() == ([4.0, 3.5, 5.0] if folder == "latest" else [4, 3, 5])
