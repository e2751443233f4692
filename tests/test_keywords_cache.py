"""KeywordModel.expand remembers its answers per (query, k): the same answers as computing
them (``_expand``, the uncached path), bounded, copies to the caller, safe under threads."""

import threading

import numpy as np
import pytest

import shoprec
from shoprec.keywords import KeywordModel

pytest.importorskip("onnxruntime")

WORDS = ["laptop", "notebook", "keyboard", "mouse", "wireless", "dress", "skirt", "summer", "floral", "cotton",
         "pan", "pot", "knife", "steel", "kettle", "笔记本电脑", "游戏本", "连衣裙", "夏季"]


@pytest.fixture(scope="module")
def model():
    rng = np.random.default_rng(0)
    titles = [" ".join(rng.choice(WORDS[i % 3 * 5:i % 3 * 5 + 5] + WORDS[15:], size=4, replace=False)) for i in range(120)]
    return KeywordModel.build(titles, dim=8, min_count=2)


def queries(n, seed=1):
    rng = np.random.default_rng(seed)
    out = ["", "   ", "🙂", "unknownword", "laptop", "LAPTOP mouse", "笔记本电脑 鼠标", "x" * 1500, "laptop " * 300]
    while len(out) < n:
        out.append(" ".join(rng.choice(WORDS + ["zzz", "kettles"], size=int(rng.integers(1, 4)))))
    return out


def reference(model, query, k):
    """The uncached answer: the computation expand runs on a miss."""
    return model._expand(query[:1000], k)


def test_cached_answers_equal_uncached(model):
    model._expand_cache.clear()
    qs = queries(200)
    for k in (1, 3, 10):
        for q in qs:
            want = reference(model, q, k)
            assert model.expand(q, k) == want  # a miss (or a repeat within qs)
            assert model.expand(q, k) == want  # a hit
    assert any(model.expand(q, 3) for q in qs)  # the comparison covers real expansions
    # Text past the 1,000 characters the model reads shares the answer of its first 1,000.
    assert model.expand("laptop " * 300 + "dress", 5) == reference(model, "laptop " * 300, 5)


def test_callers_get_copies(model):
    first = model.expand("laptop", 5)
    assert first
    first.append(("mutated", 1.0))
    first[0] = ("x", 0.0)
    assert model.expand("laptop", 5) == reference(model, "laptop", 5)
    assert model.expand("laptop", 5) is not model.expand("laptop", 5)


def test_errors_are_not_cached_and_unchanged(model):
    for _ in range(2):
        with pytest.raises(shoprec.DTypeError):
            model.expand(b"laptop", 5)
        with pytest.raises(shoprec.InvalidArgumentError):
            model.expand("laptop", 0)
        # A lone surrogate anywhere in the query is refused, also past the 1,000 characters read.
        with pytest.raises(shoprec.InvalidArgumentError):
            model.expand("laptop " * 200 + "\udcff", 5)
    assert all(isinstance(q, str) and isinstance(k, int) for q, k in model._expand_cache)


def test_the_cache_is_bounded(model, monkeypatch):
    monkeypatch.setattr(model, "EXPAND_CACHE_SIZE", 8)
    model._expand_cache.clear()
    for q in queries(100, seed=2):
        assert model.expand(q, 4) == reference(model, q, 4)
        assert len(model._expand_cache) <= 8
    assert len(model._expand_cache) > 0


def test_threads_share_the_cache(model, monkeypatch):
    monkeypatch.setattr(model, "EXPAND_CACHE_SIZE", 16)  # small: the threads clear it often
    model._expand_cache.clear()
    qs = queries(80, seed=3)
    want = {(q, k): reference(model, q, k) for q in qs for k in (2, 5)}
    errors = []

    def work(seed):
        rng = np.random.default_rng(seed)
        try:
            for _ in range(300):
                q, k = qs[int(rng.integers(len(qs)))], int(rng.choice([2, 5]))
                got = model.expand(q, k)
                if got != want[(q, k)]:
                    errors.append((q, k, got))
                got.clear()  # a caller changing its list changes nothing for the others
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(s,)) for s in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(model._expand_cache) <= 16 + len(threads)
