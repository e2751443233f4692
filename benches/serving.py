"""Serving throughput and latency of a Shop: calls per second for recommend and search from 1
and 2 threads, and p50 / p99 of the same calls through the Flask example's test client.

    python benches/serving.py [--users 2000] [--products 5000] [--calls 4000]

Prints a Markdown table for benches/RESULTS.md, with the load average at the start and end
(the 2-thread ratio means something only on an otherwise idle machine with 2+ cores).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "python"))
sys.path.insert(0, str(ROOT / "examples" / "flask_shop"))

import shoprec  # noqa: E402
from shoprec.datasets import demo_shop  # noqa: E402

QUERIES = ["耳机", "running shoes", "无线耳机 sony", "coffee", "咖啡豆", "laptop slim", "口红", "backpack", "", "teh"]


def workload(shop, kind, n):
    users = list(shop.parts.interactions.user_ids[:200]) + ["stranger"]
    if kind == "recommend":
        return [lambda u=users[i % len(users)]: shop.recommend(u, 10) for i in range(n)]
    return [lambda q=QUERIES[i % len(QUERIES)], u=users[i % len(users)]: shop.search(q, user=u, k=10)
            for i in range(n)]


def throughput(calls, threads):
    chunks = [calls[i::threads] for i in range(threads)]
    barrier = threading.Barrier(threads + 1)

    def run(chunk):
        barrier.wait()
        for call in chunk:
            call()

    workers = [threading.Thread(target=run, args=(c,)) for c in chunks]
    for w in workers:
        w.start()
    barrier.wait()
    start = time.perf_counter()
    for w in workers:
        w.join()
    return len(calls) / (time.perf_counter() - start)


def latencies(fn, urls):
    out = []
    for url in urls:
        start = time.perf_counter()
        response = fn(url)
        out.append(time.perf_counter() - start)
        assert response.status_code == 200, (url, response.status_code)
    ms = np.array(out) * 1000
    return float(np.percentile(ms, 50)), float(np.percentile(ms, 99))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=2000)
    parser.add_argument("--products", type=int, default=5000)
    parser.add_argument("--calls", type=int, default=4000)
    args = parser.parse_args()
    load_start = os.getloadavg()
    data = demo_shop(n_users=args.users, n_products=args.products)
    shop = shoprec.Shop.build(data.products, data.events, config={"evaluate": False}, progress=False)
    print("| call | 1 thread calls/s | 2 threads calls/s | ratio | Flask test client p50 ms | p99 ms |")
    print("|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as folder:
        shop.save(Path(folder) / "shop")
        from flask_shop import create_app

        client = create_app({"SHOP_DIR": Path(folder) / "shop"}).test_client()
        kinds = ["recommend"] + (["search"] if shop.has_search else [])
        for kind in kinds:
            calls = workload(shop, kind, args.calls)
            for call in calls[:200]:  # warm up
                call()
            one = throughput(calls, 1)
            two = throughput(calls, 2)
            users = list(shop.parts.interactions.user_ids[:200])
            if kind == "recommend":
                urls = [f"/recommend/{users[i % len(users)]}?k=10" for i in range(1000)]
            else:
                urls = [f"/search?q={QUERIES[i % len(QUERIES)]}&user={users[i % len(users)]}&k=10" for i in range(1000)]
            p50, p99 = latencies(client.get, urls)
            print(f"| {kind} | {one:,.0f} | {two:,.0f} | {two / one:.2f}x | {p50:.2f} | {p99:.2f} |")
    print(f"\n{args.products} products, {args.users} shoppers; load average at start {load_start[0]:.2f}, "
          f"at end {os.getloadavg()[0]:.2f}; {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
