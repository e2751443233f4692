"""pytest-benchmark of the keyword workloads of ``rust/core/benches/text.rs`` through Python
(tokenizing, building, expanding), on the same generated catalog. A normal test run only
smoke-tests them; ``pytest benches/bench_keywords.py --benchmark-enable`` times them."""

import numpy as np
import pytest

from shoprec import tokenize
from shoprec._core import Tokenizer
from shoprec.keywords import KeywordModel


def catalog(n_titles=5000, n_words=3000, seed=12345):
    """Titles of eight words drawn Zipf-like from made-up Latin and Chinese terms (the Rust
    bench draws from the same distribution with its own generator)."""
    rng = np.random.default_rng(seed)
    words = [f"w{i}x" if i % 2 == 0 else f"商品{i}" for i in range(n_words)]
    picks = np.minimum((n_words ** rng.random((n_titles, 8))).astype(int), n_words - 1)
    return [" ".join(words[i] for i in row) for row in picks]


@pytest.fixture(scope="module")
def texts():
    return catalog()


def test_tokenize_titles(benchmark, texts):
    tokenizer = Tokenizer()
    tokens = benchmark(tokenizer.tokenize_many, texts)
    assert len(tokens) == len(texts) and tokens[0] == tokenize(texts[0])


def test_build(benchmark, texts):
    model = benchmark.pedantic(KeywordModel.build, args=(texts,), kwargs=dict(dim=32), rounds=1, iterations=1)
    assert len(model.vocab) > 1000


def test_expand(benchmark, texts):
    pytest.importorskip("onnxruntime")
    model = KeywordModel.build(texts[:2000], dim=32)
    result = benchmark(model.expand, texts[0], 10)
    assert len(result) == 10
