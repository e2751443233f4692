"""pytest-benchmark: top_k through Python, the same workload as the criterion bench
(`cargo bench -p shoprec-core -- top_k`), at its size when timed (benches/sizes.py).

    python -m pytest benches/bench_kernels_topk.py --benchmark-enable
"""

import numpy as np
import pytest

from shoprec.kernels import top_k


@pytest.fixture(scope="module")
def scores(sizes):
    size = sizes["top_k"]
    return np.random.default_rng(7).random((size["rows"], size["cols"]), dtype=np.float32)


def test_top_k_all_cores(benchmark, scores, sizes):
    k = sizes["top_k"]["k"]
    ids, _ = benchmark(top_k, scores, k)
    assert ids.shape == (len(scores), k)
    np.testing.assert_array_equal(ids[0], np.argsort(-scores[0], kind="stable")[:k])


def test_top_k_with_exclusions(benchmark, scores, sizes):
    exclude = np.arange(0, scores.shape[1], 3)
    ids, _ = benchmark(top_k, scores, sizes["top_k"]["k"], exclude=exclude)
    assert not np.isin(ids, exclude).any()
