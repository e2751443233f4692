"""The short version of benches/soak.py: two threads of mixed recommend, search, expand,
update and reload on one shop: no error, every kind of call made. And the memory clause of
the long soak, one part at a time."""

import gc
import os
import subprocess
import sys
import textwrap

import pytest

import shoprec

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "benches"))

from soak import resident_bytes, soak  # noqa: E402


def test_short_soak_has_no_errors():
    result = soak(seconds=8.0, threads=2, n_users=150, n_products=300, warmup=2.0, warmup_reloads=1)
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


MODEL_LOADS = textwrap.dedent("""
    import sys
    sys.path.insert(0, {benches!r})
    sys.path.insert(0, {tests!r})
    import shoprec
    from test_soak import _growth_per_call
    print(_growth_per_call(lambda: shoprec.load({path!r})))
""")


def _in_a_fresh_process(script):
    """Run ``script`` in a new interpreter importing the shoprec under test: in this process
    other tests' objects and threads move the resident size by +-20 MB."""
    import shoprec

    package_root = os.path.dirname(os.path.dirname(os.path.abspath(shoprec.__file__)))
    env = dict(os.environ, PYTHONPATH=package_root)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    return float(result.stdout.split()[-1])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="resident memory from /proc")
@pytest.mark.parametrize("name", ["m.shoprec", "kw"])
def test_loading_again_and_again_keeps_memory_flat(saved, name):
    here = os.path.dirname(os.path.abspath(__file__))
    script = MODEL_LOADS.format(benches=os.path.join(here, "..", "benches"), tests=here, path=str(saved / name))
    assert _in_a_fresh_process(script) < 100_000


SEARCH_LOADS = textwrap.dedent("""
    import gc, os, sys, tempfile
    sys.path.insert(0, {benches!r})
    from soak import resident_bytes
    from shoprec import SearchIndex
    from shoprec.datasets import demo_shop

    root = os.path.join(tempfile.mkdtemp(), "search")
    SearchIndex.build(demo_shop(n_users=100, n_products=800, seed=0).products).save(root)

    def cycle():
        SearchIndex.load(root).search("laptop", 5)

    for _ in range(10):
        cycle()
    gc.collect()
    before = resident_bytes()
    for _ in range(60):
        cycle()
    gc.collect()
    print(resident_bytes() - before)
""")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="resident memory from /proc")
def test_search_index_loads_keep_memory_flat_in_a_fresh_process():
    # A search index load used to keep 0.6-3 MB (+80-120 MB over these 60 loads): tantivy's
    # indexing threads freed their buffers into glibc arenas that never gave them back
    # (malloc's memory in use stayed flat; the free memory inside it grew). The engine now
    # returns it (malloc_trim) after a load, a save and a drop; see benches/RESULTS.md, "Soak".
    # Measured in a fresh process: in this one, other tests' objects and threads move the
    # resident size by +-20 MB, which would make a per-load bound a coin toss.
    benches = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "benches")
    growth = _in_a_fresh_process(SEARCH_LOADS.format(benches=benches))
    assert growth < 15 * 2**20, f"60 loads kept {growth / 2**20:.1f} MB"


def test_a_replaced_shop_leaves_nothing_alive(tmp_path):
    # What the soak's reloads rely on: once a web process swaps in a new Shop, the old one (its
    # parts, search index, keyword model and onnxruntime session, the recommender) is freed,
    # not kept by a cache, a registry or a thread. Objects are checked, not memory, so other
    # tests' allocations cannot move the answer.
    import weakref

    from shoprec import Shop
    from shoprec.datasets import demo_shop

    data = demo_shop(n_users=60, n_products=80, seed=1)
    Shop.build(data.products, data.events, config={"evaluate": False, "keyword_dim": 8},
               progress=False).save(tmp_path / "shop")
    refs = []
    live = Shop.load(tmp_path / "shop")
    for _ in range(3):
        parts = live.parts
        live.recommend(parts.interactions.user_ids[0], 5)
        live.search("laptop", k=5, user=parts.interactions.user_ids[1])
        parts.keywords.expand("laptop", 3)
        parts.recommender.update(shoprec.Interactions.from_arrays(
            parts.interactions.user_ids[:2], parts.interactions.item_ids[:2],
            timestamps=[int(parts.interactions.timestamps.max()) + 1] * 2)).recommend(parts.interactions.user_ids[0], 3)
        refs += [weakref.ref(o) for o in (live, parts, parts.search, parts.keywords, parts.keywords._session,
                                          parts.recommender, parts.catalogue)]
        live = Shop.load(tmp_path / "shop")  # the swap
        del parts
    gc.collect()
    alive = [type(r()).__name__ for r in refs if r() is not None]
    assert alive == [], f"still alive after the swap: {alive}"
    assert live.recommend(live.parts.interactions.user_ids[0], 5).reason is None

