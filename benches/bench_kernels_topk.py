"""pytest-benchmark: top_k through Python, the same workload as the criterion bench
(`cargo bench -p shoprec-core -- top_k`) at a size that smoke-runs fast.

    python -m pytest benches/bench_kernels_topk.py --benchmark-enable
"""

import numpy as np
import pytest

from shoprec.kernels import top_k


@pytest.fixture(scope="module")
def scores():
    return np.random.default_rng(7).random((256, 20_000), dtype=np.float32)


def test_top_k_all_cores(benchmark, scores):
    ids, _ = benchmark(top_k, scores, 10)
    assert ids.shape == (256, 10)
    np.testing.assert_array_equal(ids[0], np.argsort(-scores[0], kind="stable")[:10])


def test_top_k_with_exclusions(benchmark, scores):
    exclude = np.arange(0, 20_000, 3)
    ids, _ = benchmark(top_k, scores, 10, exclude=exclude)
    assert not np.isin(ids, exclude).any()
