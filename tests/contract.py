"""The contract every saved, fitted shoprec object meets, written once and applied to each
class (as implicit's ``recommender_base_test``): the recommenders (``ContractTests``), and
segments and keyword models (their own classes below share the persistence clauses).

A test module takes the fixtures by importing them: ``from contract import ContractTests,
data, model``.
"""

import os
import stat
import threading

import numpy as np
import pytest

import shoprec
from shoprec import Interactions, Popular


def synthetic(seed=0, n_users=40, n_items=60, density=0.25, strings=True):
    """Random ratings on a half-star scale, string ids to prove the id maps work."""
    rng = np.random.default_rng(seed)
    mask = rng.random((n_users, n_items)) < density
    users, items = np.nonzero(mask)
    ratings = rng.integers(1, 11, len(users)) / 2.0
    if strings:
        return Interactions.from_arrays([f"u{u}" for u in users], [f"i{i}" for i in items], ratings)
    return Interactions.from_arrays(users, items, ratings)


@pytest.fixture(scope="class")
def data():
    return synthetic(1)


@pytest.fixture(scope="class")
def model(request, data):
    return request.cls().fit_model(data)


class ContractTests:
    """Behaviour every recommender shares (reused per model, as implicit's base test)."""

    def make_model(self):
        raise NotImplementedError

    def fit_model(self, data):
        """An unfitted ``make_model()`` fitted on ``data`` (models whose ``fit`` takes more
        than the interactions override this)."""
        return self.make_model().fit(data)

    def test_not_fitted(self):
        with pytest.raises(shoprec.NotFittedError):
            self.make_model().recommend("u1")

    def test_exactly_k_sorted_and_unseen(self, model, data):
        csr = data.to_csr()
        for user in data.user_ids[:10]:
            recs = model.recommend(user, k=12)
            assert len(recs) == 12
            assert np.all(np.diff(recs.scores) <= 0)
            seen = set(data.item_ids[csr[data.user_index(user)].indices])
            assert not seen & set(recs.items.tolist())
            assert len(set(recs.items.tolist())) == 12

    def test_filters_and_k_larger_than_candidates(self, model, data):
        user = data.user_ids[3]
        candidates = list(data.item_ids[:15]) + ["not-an-item"]
        recs = model.recommend(user, k=100, items=candidates, exclude=["i2", "i3"], exclude_seen=False)
        assert sorted(recs.items.tolist()) == sorted(set(data.item_ids[:15].tolist()) - {"i2", "i3"})
        unfiltered = model.recommend(user, k=100, exclude_seen=False)
        allowed = set(recs.items.tolist())
        # The filtered list is the unfiltered list restricted to the allowed items, in order.
        assert [i for i in unfiltered.items.tolist() if i in allowed] == recs.items.tolist()
        everything = model.recommend(user, k=10_000)
        seen = data.to_csr()[data.user_index(user)].nnz
        assert len(everything) == data.n_items - seen

    def test_unknown_user_gets_popular_fallback(self, model, data):
        recs = model.recommend("stranger", k=7, exclude=["i0"])
        popular = Popular().fit(data).recommend("stranger", k=7, exclude=["i0"])
        assert recs == popular and len(recs) == 7
        assert recs.source == "fallback" and recs.reason == "unknown_user"

    def test_results_say_where_they_came_from(self, model, data):
        # The id of a known user in the wrong type (a URL gives strings) is unknown, and says so.
        known = data.user_ids[0]
        wrong_type = known.encode() if isinstance(known, str) else str(known)
        assert model.recommend(wrong_type, 5).reason == "unknown_user"
        batch = model.recommend_many([known, wrong_type], 5)
        assert [r.reason for r in batch] == [model.recommend(known, 5).reason, "unknown_user"]
        for user in data.user_ids[:10]:
            recs = model.recommend(user, 5)
            assert recs.source == ("model" if recs.reason is None else "fallback")
            assert model.recommend_many([user], 5)[0].reason == recs.reason
            assert recs[:2].reason == recs.reason  # slices keep it

    def test_huge_and_bad_k(self, model, data):
        user = data.user_ids[0]
        everything = model.recommend(user, k=10_000, exclude_seen=False)
        assert len(everything) == data.n_items
        for k in (10**12, 2**63, 2**64, 10**30):
            assert model.recommend(user, k=k, exclude_seen=False) == everything
            assert model.recommend_many([user, "stranger"], k=k, exclude_seen=False)[0] == everything
        for k in (0, -1, 2.5, "3", None, True):
            with pytest.raises(shoprec.ShoprecError):
                model.recommend(user, k=k)

    def test_pickle_round_trip(self, model, data):
        import pickle

        back = pickle.loads(pickle.dumps(model))
        assert type(back) is type(model) and back.get_params() == model.get_params()
        users = list(data.user_ids[:8]) + ["stranger"]
        assert back.recommend_many(users, 6) == model.recommend_many(users, 6)
        unfitted = pickle.loads(pickle.dumps(self.make_model()))
        assert not unfitted.is_fitted and unfitted.get_params() == self.make_model().get_params()

    def test_recommend_many_matches_recommend(self, model, data):
        users = list(data.user_ids[:15]) + ["stranger"]
        batch = model.recommend_many(users, k=5, exclude=["i1"], num_threads=2)
        for user, recs in zip(users, batch):
            assert recs == model.recommend(user, k=5, exclude=["i1"])

    def test_recommend_many_mixes_full_and_short_rows(self, model, data):
        # k between the smallest and largest number of candidates: some rows are padded.
        seen = np.diff(data.to_csr().indptr)
        k = int(data.n_items - np.median(seen))
        users = list(data.user_ids[:15]) + ["stranger"]
        batch = model.recommend_many(users, k=k, num_threads=2)
        assert len({len(r) for r in batch}) > 1
        for user, recs in zip(users, batch):
            single = model.recommend(user, k=k)
            assert recs == single
            assert recs.items.dtype == single.items.dtype and recs.scores.dtype == single.scores.dtype

    def test_deterministic(self, data):
        a = self.fit_model(data)
        b = self.fit_model(data)
        for user in data.user_ids[:5]:
            assert a.recommend(user, 10) == b.recommend(user, 10)

    def test_thread_safety(self, model, data):
        users = list(data.user_ids) * 3
        expected = [model.recommend(u, 8).to_list() for u in users]
        results = [None] * 8

        def worker(slot):
            results[slot] = [model.recommend(u, 8).to_list() for u in users]

        threads = [threading.Thread(target=worker, args=(s,)) for s in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert all(r == expected for r in results)

    def test_predictions_within_scale(self, model, data):
        preds = model.predict_many(data.user_ids[data.users[:50]], data.item_ids[data.items[:50]])
        low, high = data.rating_scale
        assert preds.shape == (50,) and np.all((preds >= low) & (preds <= high))
        assert np.isfinite(model.predict("stranger", "unknown item"))

    def test_save_load_round_trip(self, model, data, tmp_path):
        path = tmp_path / "model.shoprec"
        model.save(path)
        loaded = shoprec.load(path)
        assert type(loaded) is type(model) and loaded.get_params() == model.get_params()
        for user in list(data.user_ids[:8]) + ["stranger"]:
            assert loaded.recommend(user, 6, exclude=["i4"]) == model.recommend(user, 6, exclude=["i4"])
        users, items = data.user_ids[data.users[:40]], data.item_ids[data.items[:40]]
        np.testing.assert_array_equal(loaded.predict_many(users, items), model.predict_many(users, items))
        # Loaded arrays are read-only views of the file, not copies.
        assert not loaded._state.history[1].flags.writeable
        assert not loaded._state.history[1].flags.owndata
        # An ordinary file under the process umask, readable by a web server's user.
        mask = os.umask(0)
        os.umask(mask)
        assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~mask
