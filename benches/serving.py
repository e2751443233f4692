"""Serving throughput and latency of a Shop: calls per second for recommend, similar and search
from 1 and 2 threads, p50 / p99 of the same calls through the Flask example's test client, and the
Flask example under gunicorn: requests per second and p50 / p99 latency per endpoint
(recommend, similar, search, POST /events) for each ``--gunicorn WORKERSxTHREADS``
configuration (default ``1x1`` and ``2x4``, both with ``--preload``), from ``--clients``
client threads on this machine (a new loopback connection per request).

    python benches/serving.py [--users 2000] [--products 5000] [--calls 4000]
        [--gunicorn 1x1 --gunicorn 2x4] [--requests 400] [--clients 8] [--no-in-process]
        [--no-gunicorn] [--detach-min-work N]

Under the in-process table, where one ``recommend`` call's time goes: the whole call on one
thread, the Rust call alone (``KnnIndex.recommend_user``: argument passing, array borrows,
scoring, result arrays) and the scoring kernel alone (``recommend_many`` over the same users on
one thread, per user: the part a serving call runs with the GIL released), the rest being
Python holding the GIL. ``--detach-min-work`` overrides
:data:`shoprec.shop.plan.DETACH_MIN_WORK` (0: every call releases the GIL; a huge value: none).

Prints Markdown tables for benches/RESULTS.md, with the load average at the start and end
(the 2-thread ratio means something only on an otherwise idle machine with 2+ cores; the
client threads share the machine's cores with the server).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
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
    if kind == "similar":
        items = list(shop.parts.interactions.item_ids[:200])
        return [lambda p=items[i % len(items)]: shop.similar(p, 10) for i in range(n)]
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


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def request(port, method, path, body=None):
    """One request on a new loopback connection: (status, seconds)."""
    start = time.perf_counter()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        headers = {"Content-Type": "application/json"} if body is not None else {}
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        response.read()
        status = response.status
    finally:
        connection.close()
    return status, time.perf_counter() - start


def endpoint_requests(shop, n):
    """(method, path, body, expected status) per endpoint, n each."""
    users = [str(u) for u in shop.parts.interactions.user_ids[:200]] + ["stranger"]
    items = [str(i) for i in shop.parts.interactions.item_ids[:200]]
    out = {
        "GET /recommend/<user>": [("GET", f"/recommend/{users[i % len(users)]}?k=10", None, 200) for i in range(n)],
        "GET /similar/<item>": [("GET", f"/similar/{items[i % len(items)]}?k=10", None, 200) for i in range(n)],
    }
    if shop.has_search:
        out["GET /search"] = [("GET", "/search?" + urllib.parse.urlencode(
            {"q": QUERIES[i % len(QUERIES)], "user": users[i % len(users)], "k": 10}), None, 200) for i in range(n)]
    out["POST /events"] = [("POST", "/events", json.dumps({"user": users[i % len(users)], "item": items[(7 * i) % len(items)],
                                                           "event": "view"}), 201) for i in range(n)]
    return out


def gunicorn_run(shop_dir, workers, threads, plan, clients):
    """Start the Flask example under gunicorn, send each endpoint's requests from ``clients``
    threads, stop it. Returns {endpoint: (requests/s, p50 ms, p99 ms, errors)}."""
    port = free_port()
    here = ROOT / "examples" / "flask_shop"
    env = dict(os.environ, SHOP_DIR=str(shop_dir), PYTHONPATH=os.pathsep.join([str(here), str(ROOT / "python")]))
    log = tempfile.TemporaryFile("w+")
    command = [sys.executable, "-m", "gunicorn", "--preload", "-w", str(workers), "--threads", str(threads),
               "-b", f"127.0.0.1:{port}", "--timeout", "120", "app:app"]
    process = subprocess.Popen(command, cwd=here, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                request(port, "GET", "/recommend/warm-up")
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    log.seek(0)
                    raise RuntimeError("gunicorn did not start:\n" + log.read())
                time.sleep(0.2)
        for method, path, body, _ in [r for rows in plan.values() for r in rows[:20]]:  # warm up every worker
            request(port, method, path, body)
        out = {}
        for name, rows in plan.items():
            with ThreadPoolExecutor(clients) as pool:
                start = time.perf_counter()
                answers = list(pool.map(lambda r: (r[3],) + request(port, r[0], r[1], r[2]), rows))
                wall = time.perf_counter() - start
            ms = np.array([a[2] for a in answers]) * 1000
            errors = sum(1 for want, got, _ in answers if want != got)
            out[name] = (len(rows) / wall, float(np.percentile(ms, 50)), float(np.percentile(ms, 99)), errors)
        return out
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(60)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=2000)
    parser.add_argument("--products", type=int, default=5000)
    parser.add_argument("--calls", type=int, default=4000)
    parser.add_argument("--gunicorn", action="append", default=None, metavar="WORKERSxTHREADS",
                        help="a gunicorn configuration to measure (repeatable; default 1x1 and 2x4)")
    parser.add_argument("--requests", type=int, default=400, help="requests per endpoint per gunicorn configuration")
    parser.add_argument("--clients", type=int, default=8, help="client threads sending the requests")
    parser.add_argument("--no-in-process", action="store_true", help="only the gunicorn runs")
    parser.add_argument("--no-gunicorn", action="store_true", help="only the in-process runs")
    parser.add_argument("--detach-min-work", type=int, default=None,
                        help="override shoprec.shop.plan.DETACH_MIN_WORK (0: always release the GIL)")
    args = parser.parse_args()
    if args.detach_min_work is not None:
        from shoprec.shop import plan

        plan.DETACH_MIN_WORK = args.detach_min_work
    configs = []
    for text in [] if args.no_gunicorn else args.gunicorn or ["1x1", "2x4"]:
        try:
            workers, threads = (int(x) for x in text.lower().split("x"))
        except ValueError:
            parser.error(f"--gunicorn takes WORKERSxTHREADS such as 2x4, got {text!r}")
        configs.append((workers, threads))
    load_start = os.getloadavg()
    started = time.perf_counter()
    data = demo_shop(n_users=args.users, n_products=args.products)
    shop = shoprec.Shop.build(data.products, data.events, config={"evaluate": False}, progress=False)
    with tempfile.TemporaryDirectory() as folder:
        shop.save(Path(folder) / "shop")
        if not args.no_in_process:
            in_process(shop, Path(folder) / "shop", args.calls)
        if configs:
            plan = endpoint_requests(shop, args.requests)
            results = {(w, t): gunicorn_run(Path(folder) / "shop", w, t, plan, args.clients) for w, t in configs}
            head = " | ".join(f"{w} worker{'s' if w > 1 else ''} x {t} thread{'s' if t > 1 else ''}" for w, t in configs)
            print(f"\n| endpoint (gunicorn --preload, {args.clients} clients) | " + head + " |")
            print("|---|" + "---|" * len(configs))
            for name in plan:
                cells = []
                for config in configs:
                    rate, p50, p99, errors = results[config][name]
                    cells.append(f"{rate:,.0f} req/s, p50 {p50:.1f} ms, p99 {p99:.1f} ms" + (f", {errors} errors" if errors else ""))
                print(f"| {name} | " + " | ".join(cells) + " |")
            if len(configs) > 1:
                base = configs[0]
                print("\nthroughput ratio against " + f"{base[0]}x{base[1]}: " + "; ".join(
                    f"{name} " + ", ".join(f"{w}x{t} {results[(w, t)][name][0] / results[base][name][0]:.2f}x"
                                           for w, t in configs[1:]) for name in plan))
    print(f"\n{args.products} products, {args.users} shoppers; load average (1 min) at start {load_start[0]:.2f}, "
          f"at end {os.getloadavg()[0]:.2f}; {os.cpu_count()} CPUs; {time.perf_counter() - started:.0f} s")


def in_process(shop, shop_dir, n_calls):
    from shoprec.shop import plan

    print(f"(shoprec.shop.plan.DETACH_MIN_WORK = {plan.DETACH_MIN_WORK})\n")
    print("| call | 1 thread calls/s | 2 threads calls/s | ratio | Flask test client p50 ms | p99 ms |")
    print("|---|---|---|---|---|---|")
    from flask_shop import create_app

    client = create_app({"SHOP_DIR": shop_dir}).test_client()
    kinds = ["recommend", "similar"] + (["search"] if shop.has_search else [])
    for kind in kinds:
        calls = workload(shop, kind, n_calls)
        for call in calls[:200]:  # warm up
            call()
        one = throughput(calls, 1)
        two = throughput(calls, 2)
        users = list(shop.parts.interactions.user_ids[:200])
        if kind == "recommend":
            urls = [f"/recommend/{users[i % len(users)]}?k=10" for i in range(1000)]
        elif kind == "similar":
            items = list(shop.parts.interactions.item_ids[:200])
            urls = [f"/similar/{items[i % len(items)]}?k=10" for i in range(1000)]
        else:
            urls = [f"/search?q={QUERIES[i % len(QUERIES)]}&user={users[i % len(users)]}&k=10" for i in range(1000)]
        p50, p99 = latencies(client.get, urls)
        print(f"| {kind} | {one:,.0f} | {two:,.0f} | {two / one:.2f}x | {p50:.2f} | {p99:.2f} |")
    gil_split(shop, n_calls)


def gil_split(shop, n_calls):
    """Per-call microseconds of ``recommend`` (the workload's shoppers with history): the whole
    call, the Rust call alone, and the scoring kernel alone (run with the GIL released)."""
    state = shop.parts.recommender._fitted()
    users = [u for u in shop.parts.interactions.user_ids[:200] if not shop.recommend(u, 10).is_fallback]
    positions = np.array([state.users.get(u) for u in users], np.int32)
    exclude = np.unique(state.items.known_indices(shop.parts.catalogue.out_of_stock_ids(), "oos")).astype(np.int32)
    rounds = max(1, n_calls // len(users))

    def best_of(fn, repeat=5):
        times = []
        for _ in range(repeat):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
        return min(times) / (rounds * len(users)) * 1e6

    def whole():
        for _ in range(rounds):
            for u in users:
                shop.recommend(u, 10)

    # Before the serving path existed (to measure an older build): the padded call it replaced.
    single = getattr(state.index, "recommend_user", None) or (lambda p, k, e: state.index.recommend(p, k, None, e, True))

    def rust_call():
        for _ in range(rounds):
            for p in positions.tolist():
                single(p, 10, exclude)

    def kernel():
        for _ in range(rounds):
            state.index.recommend_many(positions, 10, None, exclude, True, 1)

    total, call, core = best_of(whole), best_of(rust_call), best_of(kernel)
    # The hand-over floor: the bare Rust call (no Shop, no monitor, no ids) from 1 and 2
    # threads, releasing the GIL around its scoring or keeping it. If this does not scale, no
    # amount of trimming the Python around it will make Shop.recommend scale.
    print("\n| bare `KnnIndex.recommend_user` call | 1 thread calls/s | 2 threads calls/s | ratio |")
    print("|---|---|---|---|")
    for label, detach_min in (("GIL released around the scoring", 0), ("GIL kept", 1 << 60)):
        bare = [lambda p=p: state.index.recommend_user(p, 10, exclude, detach_min)
                for p in positions.tolist() * max(1, n_calls // len(users))]
        one, two = throughput(bare, 1), throughput(bare, 2)
        print(f"| {label} | {one:,.0f} | {two:,.0f} | {two / one:.2f}x |")
    print(f"\nrecommend, one thread, {len(users)} shoppers with history (best of 5): {total:.1f} us per call = "
          f"{total - call:.1f} us Python + {call - core:.1f} us crossing into Rust and back (GIL held) + "
          f"{core:.1f} us scoring (the GIL-free part); ceiling of the 2-thread ratio when only the scoring "
          f"overlaps: {total / max(total - core, 1e-9):.2f}x")


if __name__ == "__main__":
    main()
