"""One Shop shared by 16 threads making 500 mixed calls each while another thread keeps
reloading it: no error, and every answer equal to the single-threaded one."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

import shoprec
from shoprec.datasets import demo_shop

THREADS = 16
CALLS = 500


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    data = demo_shop(n_users=300, n_products=400, seed=7)
    shop = shoprec.Shop.build(data.products, data.events, coupons=data.coupons, redemptions=data.redemptions,
                              config={"n_segments": 3, "evaluate": False}, progress=False)
    target = tmp_path_factory.mktemp("conc") / "shop"
    shop.save(target)
    return target


def calls(shop):
    """The mixed workload: (name, function) pairs."""
    interactions = shop.parts.interactions
    users = list(interactions.user_ids[:20]) + ["stranger-1", "stranger-2"]
    items = list(interactions.item_ids[:10])
    work = []
    for i, user in enumerate(users):
        work.append((f"recommend {user}", lambda u=user: shop.recommend(u, 10)))
        work.append((f"coupons {user}", lambda u=user: shop.recommend(u, 3, catalogue="coupons")))
        work.append((f"segment {user}", lambda u=user: shop.segment_of(u)))
    for item in items:
        work.append((f"similar {item}", lambda i=item: shop.similar(i, 5)))
        work.append((f"history {item}", lambda i=item: shop.recommend_for_history([i, items[0]], 5)))
    work.append(("filtered", lambda: shop.recommend(users[0], 5, filters={"category": "tea"})))
    if shop.has_search:
        for query in ("耳机", "running shoes", "", "咖啡 coffee", "teh"):
            work.append((f"search {query!r}", lambda q=query: shop.search(q, user=users[1], k=10,
                                                                       facets=["category"])))
    return work


def key(answer):
    if isinstance(answer, int):
        return answer
    parts = [answer.to_list(), getattr(answer, "part", None), getattr(answer, "reason", None),
             getattr(answer, "fallback", None)]
    if hasattr(answer, "facets"):
        parts.append(answer.facets)
    return parts


def test_threads_while_reloading(saved):
    shop = shoprec.Shop.load(saved)
    work = calls(shop)
    expected = {name: key(fn()) for name, fn in work}
    stop = threading.Event()
    reloads = []

    def reloader():
        while not stop.is_set():
            shop.reload(saved)
            reloads.append(1)

    def worker(seed):
        mismatches = []
        for n in range(CALLS):
            name, fn = work[(seed * 7919 + n * 31) % len(work)]
            got = key(fn())
            if got != expected[name]:
                mismatches.append((name, got, expected[name]))
        return mismatches

    thread = threading.Thread(target=reloader)
    thread.start()
    try:
        with ThreadPoolExecutor(THREADS) as pool:
            results = list(pool.map(worker, range(THREADS)))
    finally:
        stop.set()
        thread.join()
    assert [m for r in results for m in r] == []
    assert reloads, "the shop was never reloaded during the run"
    stats = shop.stats()["methods"]
    assert sum(m["errors"] for m in stats.values()) == 0
    assert sum(m["calls"] for m in stats.values()) >= THREADS * CALLS
