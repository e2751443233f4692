"""The short version of benches/soak.py: two threads of mixed recommend, search, expand,
update and reload on one shop: no error, every kind of call made. And the memory clause of
the long soak, one part at a time."""

import gc
import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "benches"))

from soak import resident_bytes, soak  # noqa: E402


def test_short_soak_has_no_errors():
    result = soak(seconds=8.0, threads=2, n_users=150, n_products=300, warmup=2.0)
    assert result["errors"] == 0, result["first_error"]
    for kind in ("recommend", "search", "expand"):
        assert result[kind] > 0, kind


def _growth_per_call(call, n=30):
    for _ in range(5):
        call()
    gc.collect()
    before = resident_bytes()
    for _ in range(n):
        call()
    gc.collect()
    return (resident_bytes() - before) / n


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    from test_io import fitted_objects

    root = tmp_path_factory.mktemp("soak")
    objects = fitted_objects()
    objects["itemknn"].save(root / "m.shoprec")
    objects["keywords"].save(root / "kw")
    return root


@pytest.mark.parametrize("name", ["m.shoprec", "kw"])
def test_loading_again_and_again_keeps_memory_flat(saved, name):
    import shoprec

    assert _growth_per_call(lambda: shoprec.load(saved / name)) < 100_000
