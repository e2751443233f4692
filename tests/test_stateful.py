"""A hypothesis state machine drives the Python API in random orders (add events, fit, save,
load, pickle, recommend, recommend_many, recommend_for_history) and checks every answer of a
``Popular`` model against a reference ranking computed with numpy from the raw events; an
``ItemKNN`` fitted alongside must answer the same after every save/load and pickle."""

import os
import pickle
import tempfile

import numpy as np
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

import shoprec
from shoprec import Interactions, ItemKNN, Popular

USERS = st.integers(0, 7)
ITEMS = st.sampled_from([f"i{n}" for n in range(12)])
K = st.integers(1, 15)


def reference_ranking(events, exclude=()):
    """Items by the number of distinct users (descending), ties by the id order of the id
    map (sorted ids), without ``exclude``: what Popular must answer."""
    pairs = sorted({(u, i) for u, i in events})
    item_ids = np.unique(np.array([i for _, i in events]))
    counts = np.zeros(len(item_ids), int)
    for _, item in pairs:
        counts[np.searchsorted(item_ids, item)] += 1
    order = np.lexsort((np.arange(len(item_ids)), -counts))
    return [(str(item_ids[j]), float(counts[j])) for j in order if str(item_ids[j]) not in set(exclude)]


class ApiMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.events = []
        self.fitted_events = None
        self.popular = None
        self.knn = None
        self.knn_answers = None
        self.tmp = tempfile.mkdtemp(prefix="shoprec-stateful-")

    # ---------------------------------------------------------------- changes
    @rule(new=st.lists(st.tuples(USERS, ITEMS), min_size=1, max_size=20))
    def add_events(self, new):
        self.events.extend(new)

    @precondition(lambda self: self.events)
    @rule()
    def fit(self):
        users = [u for u, _ in self.events]
        items = [i for _, i in self.events]
        data = Interactions.from_arrays(users, items)
        self.popular = Popular().fit(data)
        self.knn = ItemKNN(5, similarity="cosine").fit(data)
        self.knn_answers = self._knn_answers(self.knn)
        self.fitted_events = list(self.events)

    @precondition(lambda self: self.popular is not None)
    @rule(which=st.sampled_from(["popular", "knn"]))
    def save_and_load(self, which):
        path = os.path.join(self.tmp, f"{which}.shoprec")
        getattr(self, which).save(path)
        loaded = shoprec.load(path)
        assert type(loaded) is type(getattr(self, which))
        setattr(self, which, loaded)

    @precondition(lambda self: self.popular is not None)
    @rule(which=st.sampled_from(["popular", "knn"]))
    def pickle_round_trip(self, which):
        setattr(self, which, pickle.loads(pickle.dumps(getattr(self, which))))

    # ---------------------------------------------------------------- queries
    @precondition(lambda self: self.popular is not None)
    @rule(user=st.one_of(USERS, st.just(99), st.just("nobody")), k=K)
    def recommend(self, user, k):
        recs = self.popular.recommend(user, k)
        known = user in {u for u, _ in self.fitted_events}
        seen = {i for u, i in self.fitted_events if u == user}
        want = reference_ranking(self.fitted_events, exclude=seen)[:k]
        assert recs.to_list() == want
        assert recs.reason == (None if known else "unknown_user")

    @precondition(lambda self: self.popular is not None)
    @rule(users=st.lists(st.one_of(USERS, st.just(99)), max_size=6), k=K, as_generator=st.booleans())
    def recommend_many(self, users, k, as_generator):
        many = self.popular.recommend_many((u for u in users) if as_generator else users, k)
        assert [r.to_list() for r in many] == [self.popular.recommend(u, k).to_list() for u in users]

    @precondition(lambda self: self.popular is not None)
    @rule(history=st.lists(ITEMS, max_size=5), k=K, as_generator=st.booleans())
    def recommend_for_history(self, history, k, as_generator):
        given = (h for h in history) if as_generator else history
        recs = self.popular.recommend_for_history(given, k)
        assert recs.to_list() == reference_ranking(self.fitted_events, exclude=set(history))[:k]
        knn = self.knn.recommend_for_history((h for h in history) if as_generator else history, k)
        assert knn == self.knn.recommend_for_history(list(history), k)
        assert not set(history) & set(knn.items.tolist())

    @precondition(lambda self: self.popular is not None)
    @rule(user=USERS, k=K, banned=st.lists(ITEMS, max_size=4))
    def recommend_with_exclude(self, user, k, banned):
        recs = self.popular.recommend(user, k, exclude=iter(banned))
        seen = {i for u, i in self.fitted_events if u == user}
        assert recs.to_list() == reference_ranking(self.fitted_events, exclude=seen | set(banned))[:k]

    # ---------------------------------------------------------------- invariants
    @staticmethod
    def _knn_answers(model):
        return [model.recommend(u, 5).to_list() for u in range(8)]

    @invariant()
    def knn_survives_persistence(self):
        if self.knn is not None:
            assert self._knn_answers(self.knn) == self.knn_answers


ApiMachine.TestCase.settings = settings(
    max_examples=int(os.environ.get("SHOPREC_STATEFUL_EXAMPLES", "40")), stateful_step_count=25, deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestApiMachine = ApiMachine.TestCase
