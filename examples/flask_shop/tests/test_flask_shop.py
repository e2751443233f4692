"""The Flask example shop through Flask's test client: every endpoint, every error a JSON body
with the right status, never a 500."""

import csv
import json
import time

import numpy as np
import pytest

flask = pytest.importorskip("flask")
pytest.importorskip("prometheus_client")

import shoprec  # noqa: E402
from flask_shop import create_app  # noqa: E402


@pytest.fixture()
def app(shop_dir, tmp_path):
    # Posted events wait for POST /refresh (no automatic refresh in the middle of a test).
    return create_app({"SHOP_DIR": shop_dir, "EVENTS_FILE": tmp_path / "events.csv", "TESTING": True,
                       "RELOAD_INTERVAL": 0, "REFRESH_EVERY": 0, "REFRESH_INTERVAL": 0})


@pytest.fixture()
def client(app):
    return app.test_client()


@pytest.fixture(scope="module")
def shop(shop_dir):
    return shoprec.Shop.load(shop_dir)


def get(client, url, status=200):
    response = client.get(url)
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.is_json
    return response.get_json()


def test_recommend_known_and_unknown_user(client, shop):
    body = get(client, "/recommend/u00001?k=5")
    assert (body["part"], body["source"], body["reason"]) == ("itemknn", "model", None)
    assert [row["id"] for row in body["items"]] == list(shop.recommend("u00001", 5).items)
    body = get(client, "/recommend/somebody-new")
    assert (body["part"], body["source"], body["reason"]) == ("popular", "fallback", "unknown_user")
    assert len(body["items"]) == 10
    body = get(client, "/recommend/u00001?coupons=1&k=3")
    assert body["part"].startswith("coupons") and len(body["items"]) <= 3


def test_similar(client, shop):
    item = str(shop.parts.interactions.item_ids[0])
    body = get(client, f"/similar/{item}?k=4")
    assert body["item"]["id"] == item
    assert [row["id"] for row in body["items"]] == list(shop.similar(item, 4).items)
    body = get(client, "/similar/no-such-product", 404)
    assert body["status"] == 404 and "no-such-product" in body["error"]


def test_search(client, shop):
    if not shop.has_search:
        assert get(client, "/search?q=phone", 503)["status"] == 503
        return
    body = get(client, "/search?q=耳机&k=5")
    assert body["items"] and body["total"] >= len(body["items"]) and "category" in body["facets"]
    assert [row["id"] for row in body["items"]] == list(shop.search("耳机", k=5, facets=["category", "brand"]).items)
    body = get(client, "/search?q=running+shoes&category=running-shoes&max_price=500")
    assert body["items"] and all(r["category"] == "running-shoes" and r["price"] <= 500 for r in body["items"])
    body = get(client, "/search?q=")
    assert (body["source"], body["reason"]) == ("fallback", "empty-query") and body["items"]
    body = get(client, "/search?q=%20%20&user=unknown-shopper")
    assert body["reason"] == "empty-query"


@pytest.mark.parametrize("url", [
    "/search?q=phone&max_price=cheap", "/search?q=phone&max_price=-1", "/search?q=phone&max_price=nan",
    "/search?q=phone&k=0", "/search?q=phone&k=many", "/recommend/u1?k=1000", "/similar/p00001?k=x",
])
def test_bad_parameters_are_400(client, url):
    body = get(client, url, 400)
    assert body["status"] == 400 and body["error"]


def test_unknown_route_and_method_are_json(client):
    assert get(client, "/nope", 404)["status"] == 404
    response = client.delete("/recommend/u1")
    assert response.status_code == 405 and response.get_json()["status"] == 405


def post(client, body, status=201, **kwargs):
    response = client.post("/events", json=body, **kwargs) if not kwargs else client.post("/events", **kwargs)
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.is_json
    return response.get_json()


def test_events(client, app):
    shop = app.extensions["shoprec"].shop
    body = post(client, {"user": "u1", "item": "p00001", "event": "cart", "timestamp": 1.7e9})
    assert body == {"stored": 1, "pending": 1, "refreshing": False}
    body = post(client, [{"user": "u1", "item": "p00002"}, {"user": 7, "item": 9, "event": "purchase"}])
    assert body["stored"] == 2 and body["pending"] == 3 == shop.pending_events
    lines = list(csv.DictReader(open(app.config["EVENTS_FILE"], encoding="utf-8", newline="")))
    assert [(e["user"], e["item"], e["event"]) for e in lines] == [("u1", "p00001", "cart"), ("u1", "p00002", "view"),
                                                                    ("7", "9", "purchase")]
    assert float(lines[0]["timestamp"]) == 1.7e9
    bad_bodies = [
        ("{not json", "application/json", "must be JSON"), ("[]", "application/json", "no events"),
        ('{"user": "u1"}', "application/json", "item must be"),
        ('{"user": "u1", "item": "p1", "event": "teleport"}', "application/json", "unknown event 'teleport'"),
        ('{"user": ["u1"], "item": "p1"}', "application/json", "user must be"),
        ('{"user": "u1", "item": "p1", "timestamp": "now"}', "application/json", "timestamp must be Unix seconds"),
        ('{"user": "u1", "item": "p1", "price": 3}', "application/json", "unknown fields ['price']"),
        ("user=u1", "application/x-www-form-urlencoded", "must be JSON"),
        ("[1, 2]", "application/json", "event 0 must be a JSON object"),
        # One bad event in a list: none is recorded or stored.
        ('[{"user": "u1", "item": "p1"}, {"user": "u1", "item": "p1", "event": 5}]', "application/json",
         "event 1: event must be a string"),
        ('[{"user": "u1", "item": "p1"}, {"user": "u1", "item": "p1", "event": "fly"}]', "application/json",
         "event 1: unknown event 'fly'"),
        ('{"user": "%s", "item": "p1"}' % ("x" * 65), "application/json", "at most 64 characters"),
    ]
    for data, kind, message in bad_bodies:
        body = post(client, None, 400, data=data, content_type=kind)
        assert body["status"] == 400 and message in body["error"], (data, body)
    assert len(open(app.config["EVENTS_FILE"], encoding="utf-8").readlines()) == 1 + 3  # the header
    assert shop.pending_events == 3


def posted_and_reference(client, shop_dir, user, item):
    """Post events for a new shopper and an old one, then the reference: a Shop loaded from the
    same build and updated directly with the same events (not through the app)."""
    stamp = 1.9e9
    events = [{"user": user, "item": item, "event": "purchase", "timestamp": stamp},
              {"user": "u00001", "item": item, "event": "cart", "timestamp": stamp + 1}]
    reference = shoprec.Shop.load(shop_dir)
    reference.record_events([(e["user"], e["item"], e["event"], e["timestamp"]) for e in events])
    assert reference.refresh()["applied"] == 2
    return events, reference


def same_answers(client, reference, user, item):
    body = get(client, f"/recommend/{user}?k=5")
    want = reference.recommend(user, 5)
    assert (body["part"], body["reason"]) == (want.part, want.reason)
    assert [row["id"] for row in body["items"]] == want.items.tolist()
    assert [row["score"] for row in body["items"]] == pytest.approx(want.scores.tolist(), abs=6e-6)
    assert [r["id"] for r in get(client, "/recommend/u00001?k=8")["items"]] == reference.recommend("u00001", 8).items.tolist()
    assert [r["id"] for r in get(client, f"/similar/{item}?k=6")["items"]] == reference.similar(item, 6).items.tolist()
    if reference.has_search:
        got = get(client, f"/search?q=&user={user}&k=10")
        assert [r["id"] for r in got["items"]] == reference.search("", user=user, k=10,
                                                                   facets=["category", "brand"]).items.tolist()


def popular_item(shop):
    counts = np.bincount(shop.parts.interactions.items)
    for index in np.argsort(-counts, kind="stable"):
        item = str(shop.parts.interactions.item_ids[index])
        if shop.product(item)["in_stock"]:
            return item
    raise AssertionError("no product in stock")


def test_posted_events_refresh_the_live_shop(client, app, shop_dir, shop):
    user, item = "a-new-shopper", popular_item(shop)
    before = get(client, f"/recommend/{user}?k=5")
    assert (before["part"], before["reason"]) == ("popular", "unknown_user")
    events, reference = posted_and_reference(client, shop_dir, user, item)
    assert post(client, events)["pending"] == 2
    assert get(client, f"/recommend/{user}?k=5") == before  # not applied before the refresh
    report = client.post("/refresh")
    assert report.status_code == 200 and report.get_json()["applied"] == 2
    assert report.get_json()["new_shoppers"] == 1
    assert app.extensions["shoprec"].shop.pending_events == 0
    after = get(client, f"/recommend/{user}?k=5")
    assert after["part"] == "itemknn" and after["items"] != before["items"]
    same_answers(client, reference, user, item)


def test_refresh_after_n_events_and_after_an_interval(shop_dir, tmp_path, shop):
    user, item = "another-new-shopper", popular_item(shop)
    # After 2 events, in a background thread.
    app = create_app({"SHOP_DIR": shop_dir, "EVENTS_FILE": tmp_path / "a.csv", "RELOAD_INTERVAL": 0,
                      "REFRESH_EVERY": 2, "REFRESH_INTERVAL": 0})
    client = app.test_client()
    events, reference = posted_and_reference(client, shop_dir, user, item)
    assert post(client, events[:1])["refreshing"] is False
    assert post(client, events[1:])["refreshing"] is True
    live = app.extensions["shoprec_live"]
    assert live.wait(60) and live.refreshes == 1 and live.failed == 0
    same_answers(client, reference, user, item)
    # When the oldest waiting event is 0.2 s old: the first request after that starts it.
    app = create_app({"SHOP_DIR": shop_dir, "EVENTS_FILE": tmp_path / "b.csv", "RELOAD_INTERVAL": 0,
                      "REFRESH_EVERY": 0, "REFRESH_INTERVAL": 0.2})
    client = app.test_client()
    assert post(client, events)["refreshing"] is False
    live = app.extensions["shoprec_live"]
    time.sleep(0.3)
    get(client, "/recommend/u00002")
    assert live.wait(60) and live.refreshes == 1
    same_answers(client, reference, user, item)


def test_refresh_endpoint_can_be_turned_off(shop_dir, tmp_path):
    app = create_app({"SHOP_DIR": shop_dir, "EVENTS_FILE": tmp_path / "e.csv", "REFRESH_ENDPOINT": False})
    response = app.test_client().post("/refresh")
    assert response.status_code == 404 and "turned off" in response.get_json()["error"]


def test_metrics(client):
    get(client, "/recommend/somebody")
    get(client, "/similar/nope", 404)
    response = client.get("/metrics")
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert 'shoprec_calls_total{method="recommend"}' in text
    assert 'shoprec_fallbacks_total{method="recommend",reason="unknown_user"}' in text
    assert 'shoprec_errors_total{method="similar"}' in text
    assert "shoprec_latency_seconds_bucket" in text


def test_page(client):
    response = client.get("/?user=u00001")
    assert response.status_code == 200 and "text/html" in response.content_type
    html = response.get_data(as_text=True)
    assert 'id="q"' in html and "Recommended for you" in html and 'value="u00001"' in html


def test_switches_to_a_new_build(shop_dir, tmp_path, demo_data):
    target = tmp_path / "live"
    shoprec.Shop.load(shop_dir).save(target)
    app = create_app({"SHOP_DIR": target, "RELOAD_INTERVAL": 0, "EVENTS_FILE": tmp_path / "e.csv"})
    client = app.test_client()
    before = get(client, "/recommend/u00001?k=3")
    # A new build with one product out of stock replaces the directory.
    rebuilt = shoprec.Shop.load(target)
    rebuilt.set_stock([before["items"][0]["id"]], False)
    rebuilt.save(target)
    after = get(client, "/recommend/u00001?k=3")
    assert before["items"][0]["id"] not in [row["id"] for row in after["items"]]
    assert app.extensions["shoprec"].reloads == 1


ODD_REQUESTS = [
    ("get", "/recommend/%00"), ("get", "/recommend/" + "9" * 40), ("get", "/recommend/%F0%9F%98%80?k=3"),
    ("get", "/similar/%00"), ("get", "/similar/" + "x" * 300), ("get", "/search?q=" + "耳机 " * 400),
    ("get", "/search?q=phone&k=-1"), ("get", "/search?q=phone&category="), ("get", "/search?q=phone&brand=%00"),
    ("get", "/search?q=%22%5C*%3A(&user=%00"), ("get", "/search?max_price=1e400"), ("get", "/recommend/u1?coupons=yes&k=1"),
    ("post", "/events"), ("post", "/recommend/u1"), ("put", "/events"), ("get", "/?user=%3Cb%3E"),
]


@pytest.mark.parametrize("method,url", ODD_REQUESTS)
def test_odd_requests_never_500(client, method, url):
    response = getattr(client, method)(url)
    assert response.status_code < 500, (url, response.get_data(as_text=True)[:300])
    if url.startswith("/?"):
        assert "&lt;b&gt;" in response.get_data(as_text=True)
    else:
        assert response.is_json and (response.status_code < 400 or response.get_json()["error"])


def test_posted_events_reach_the_next_build(demo_data, tmp_path):
    """The loop a shop runs: events posted to the app are in EVENTS_FILE, `shoprec build
    --events history --events EVENTS_FILE` builds from both, and the app switches to that build;
    its answers equal a Shop built in Python from the history plus the posted events."""
    import io

    import pandas as pd

    from shoprec.cli import main

    demo_data.products.to_csv(tmp_path / "products.csv", index=False)
    demo_data.events.to_csv(tmp_path / "events.csv", index=False)
    config = {"n_segments": 3, "evaluate": False, "keywords": False}
    live = tmp_path / "live"

    def build(*events):
        argv = ["build", "--products", str(tmp_path / "products.csv"), "--config", json.dumps(config), "--out", str(live),
                "--quiet"]
        for path in events:
            argv += ["--events", str(path)]
        assert main(argv, out=io.StringIO()) == 0

    build(tmp_path / "events.csv")
    app = create_app({"SHOP_DIR": live, "RELOAD_INTERVAL": 0, "REFRESH_EVERY": 0, "REFRESH_INTERVAL": 0})
    client = app.test_client()
    item = popular_item(app.extensions["shoprec"].shop)
    posted = [{"user": "loop-shopper", "item": item, "event": "purchase", "timestamp": 1.9e9},
              {"user": "u00001", "item": item, "event": "cart", "timestamp": 1.9e9 + 60}]
    post(client, posted)
    assert get(client, "/recommend/loop-shopper?k=5")["reason"] == "unknown_user"
    build(tmp_path / "events.csv", app.config["EVENTS_FILE"])

    extra = pd.DataFrame(posted).assign(timestamp=lambda f: pd.to_datetime(f["timestamp"], unit="s"))
    reference = shoprec.Shop.build(demo_data.products, pd.concat([demo_data.events, extra], ignore_index=True),
                                   config=config, progress=False)
    assert reference.reports["build"]["shoppers"] == app.extensions["shoprec"].shop.reports["build"]["shoppers"]
    for user in ("loop-shopper", "u00001", "u00002"):
        body = get(client, f"/recommend/{user}?k=5")
        want = reference.recommend(user, 5)
        assert (body["part"], [r["id"] for r in body["items"]]) == (want.part, want.items.tolist()), user
    assert get(client, "/recommend/loop-shopper?k=5")["part"] == "itemknn"
    assert app.extensions["shoprec"].reloads == 1
