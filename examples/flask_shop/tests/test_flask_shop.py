"""The Flask example shop through Flask's test client: every endpoint, every error a JSON body
with the right status, never a 500."""

import json

import pytest

flask = pytest.importorskip("flask")
pytest.importorskip("prometheus_client")

import shoprec  # noqa: E402
from flask_shop import create_app  # noqa: E402


@pytest.fixture()
def app(shop_dir, tmp_path):
    return create_app({"SHOP_DIR": shop_dir, "EVENTS_FILE": tmp_path / "events.jsonl", "TESTING": True,
                       "RELOAD_INTERVAL": 0})


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


def test_events(client, app):
    response = client.post("/events", json={"user": "u1", "item": "p00001", "event": "cart", "timestamp": 1.7e9})
    assert response.status_code == 201 and response.get_json() == {"stored": 1}
    response = client.post("/events", json=[{"user": "u1", "item": "p00002"}, {"user": 7, "item": 9, "event": "purchase"}])
    assert response.status_code == 201 and response.get_json()["stored"] == 2
    lines = [json.loads(line) for line in open(app.config["EVENTS_FILE"], encoding="utf-8")]
    assert [(e["user"], e["item"], e["event"]) for e in lines] == [("u1", "p00001", "cart"), ("u1", "p00002", "view"),
                                                                    (7, 9, "purchase")]
    bad_bodies = [
        ("{not json", "application/json"), ("[]", "application/json"), ('{"user": "u1"}', "application/json"),
        ('{"user": "u1", "item": "p1", "event": "teleport"}', "application/json"),
        ('{"user": ["u1"], "item": "p1"}', "application/json"), ('{"user": "u1", "item": "p1", "timestamp": "now"}', "application/json"),
        ('{"user": "u1", "item": "p1", "price": 3}', "application/json"), ("user=u1", "application/x-www-form-urlencoded"),
        ("[1, 2]", "application/json"),
    ]
    for data, kind in bad_bodies:
        response = client.post("/events", data=data, content_type=kind)
        assert response.status_code == 400, data
        assert response.get_json()["status"] == 400
    assert len(open(app.config["EVENTS_FILE"], encoding="utf-8").readlines()) == 3


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
    app = create_app({"SHOP_DIR": target, "RELOAD_INTERVAL": 0, "EVENTS_FILE": tmp_path / "e.jsonl"})
    client = app.test_client()
    before = get(client, "/recommend/u00001?k=3")
    # A new build with one product out of stock replaces the directory.
    rebuilt = shoprec.Shop.load(target)
    rebuilt.set_stock([before["items"][0]["id"]], False)
    rebuilt.save(target)
    after = get(client, "/recommend/u00001?k=3")
    assert before["items"][0]["id"] not in [row["id"] for row in after["items"]]
    assert app.extensions["shoprec"].reloads == 1
