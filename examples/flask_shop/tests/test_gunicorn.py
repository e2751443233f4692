"""The Flask shop under gunicorn, as shops deploy it: 2 workers x 4 threads with --preload (the
shop loaded and used before the fork), 2,000 requests from 8 client threads, no error."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

pytest.importorskip("flask")
pytest.importorskip("gunicorn")

HERE = Path(__file__).resolve().parents[1]
REQUESTS = 2000


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fetch(url):
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def start(shop_dir, log_dir, **env_extra):
    """gunicorn --preload -w 2 --threads 4 on the Flask example; returns (process, base url)."""
    import shoprec

    port = free_port()
    package_root = str(Path(shoprec.__file__).resolve().parents[1])
    env = dict(os.environ, SHOP_DIR=str(shop_dir), PYTHONPATH=os.pathsep.join([str(HERE), package_root]), **env_extra)
    log = open(log_dir / "gunicorn.log", "w+")
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--preload", "-w", "2", "--threads", "4", "-b", f"127.0.0.1:{port}",
         "--timeout", "60", "app:app"], cwd=HERE, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            fetch(base + "/recommend/x")
            return process, base
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                log.seek(0)
                process.kill()
                pytest.fail("gunicorn did not start:\n" + log.read())
            time.sleep(0.2)


def stop(process):
    process.send_signal(signal.SIGTERM)
    process.wait(30)


@pytest.fixture(scope="module")
def server(shop_dir, tmp_path_factory):
    process, base = start(shop_dir, tmp_path_factory.mktemp("glog"))
    yield base
    stop(process)


def test_two_thousand_requests(server, shop_dir):
    import shoprec

    shop = shoprec.Shop.load(shop_dir)
    users = list(shop.parts.interactions.user_ids[:30]) + ["stranger"]
    items = list(shop.parts.interactions.item_ids[:30])
    urls = []
    for n in range(REQUESTS):
        kind = n % 4
        if kind == 0:
            urls.append((f"/recommend/{users[n % len(users)]}?k=5", 200))
        elif kind == 1:
            urls.append((f"/similar/{items[n % len(items)]}?k=5", 200))
        elif kind == 2:
            urls.append(("/search?q=" + urllib.request.quote(["耳机", "tea", "", "running shoes"][n % 4]),
                         200 if shop.has_search else 503))
        else:
            urls.append(("/similar/no-such-product", 404))
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda u: (u[1],) + fetch(server + u[0]), urls))
    wrong = [(want, got, body) for want, got, body in answers if got != want]
    assert wrong == []
    first = fetch(server + f"/recommend/{users[0]}?k=5")[1]
    assert [r["id"] for r in first["items"]] == list(shop.recommend(users[0], 5).items)


def test_new_builds_under_load_drop_no_request(shop_dir, tmp_path):
    """Two new builds replace the directory while 8 threads send requests to 2 workers x 4
    threads: every request answers 200, and afterwards every worker answers from the last build."""
    import shoprec

    live = tmp_path / "live"
    shop = shoprec.Shop.load(shop_dir)
    shop.save(live)
    user = str(shop.parts.interactions.user_ids[0])
    first = shop.recommend(user, 3).items.tolist()
    process, base = start(live, tmp_path, SHOP_RELOAD_INTERVAL="0")
    try:
        urls = [f"/recommend/{user}?k=3", "/search?q=" + urllib.request.quote("耳机"), "/similar/" + first[0]] * 200
        with ThreadPoolExecutor(8) as pool:
            answers = pool.map(lambda u: fetch(base + u)[0], urls)
            for gone in first[:2]:  # each build sells out one more of the shopper's top products
                time.sleep(0.5)
                shop.set_stock([gone], False)
                shop.save(live)
            statuses = list(answers)
        assert statuses == [200 if shop.has_search or "search" not in u else 503 for u in urls]
        want = shoprec.Shop.load(live).recommend(user, 3).items.tolist()
        assert not set(first[:2]) & set(want)
        for _ in range(20):  # both workers (requests are spread over them)
            assert [r["id"] for r in fetch(base + f"/recommend/{user}?k=3")[1]["items"]] == want
    finally:
        stop(process)
