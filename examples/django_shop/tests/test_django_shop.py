"""The Django example shop through Django's test client: the ORM tables, the management
commands, every endpoint, every error a JSON body with the right status, never a 500."""

import json
import os

import pytest

pytest.importorskip("django")
pytest.importorskip("prometheus_client")


@pytest.fixture(scope="module")
def django_shop(tmp_path_factory):
    import django
    from django.conf import settings

    folder = tmp_path_factory.mktemp("django")
    if settings.configured:
        pytest.skip("Django is already configured in this process")
    os.environ.update(DJANGO_SETTINGS_MODULE="django_shop.settings", SHOP_DB=str(folder / "db.sqlite3"),
                      SHOP_DIR=str(folder / "shop"), SHOP_RELOAD_INTERVAL="0",
                      # posted events wait for POST /refresh (no automatic refresh mid-test)
                      SHOP_REFRESH_EVERY="0", SHOP_REFRESH_INTERVAL="0")
    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("shoprec_demo_data", users=300, products=400, seed=5, stdout=open(os.devnull, "w"))
    call_command("shoprec_build", no_evaluate=True, verbosity=0, stdout=open(os.devnull, "w"))
    return folder


@pytest.fixture()
def client(django_shop):
    from django.test import Client

    return Client()


@pytest.fixture()
def shop(django_shop):
    import shoprec

    return shoprec.Shop.load(django_shop / "shop")


def get(client, url, status=200):
    response = client.get(url)
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"].startswith("application/json")
    return response.json()


def test_build_reads_the_orm_tables(django_shop, shop):
    from store.models import Event, Order, Product

    build = shop.reports["build"]
    assert build["products"] == Product.objects.count()
    assert build["inputs"]["events"]["rows"] == Event.objects.count() + Order.objects.count()
    assert set(shop.parts.interactions.item_ids) <= set(Product.objects.values_list("sku", flat=True))


def test_recommend(client, shop):
    body = get(client, "/recommend/u00001?k=5")
    assert body["part"] == "itemknn" and [r["id"] for r in body["items"]] == list(shop.recommend("u00001", 5).items)
    body = get(client, "/recommend/stranger")
    assert (body["part"], body["reason"]) == ("popular", "unknown_user") and body["items"]


def test_similar(client, shop):
    item = str(shop.parts.interactions.item_ids[1])
    body = get(client, f"/similar/{item}?k=3")
    assert [r["id"] for r in body["items"]] == list(shop.similar(item, 3).items)
    assert get(client, "/similar/not-a-product", 404)["status"] == 404


def test_search(client, shop):
    if not shop.has_search:
        assert get(client, "/search?q=tea", 503)["status"] == 503
        return
    body = get(client, "/search?q=茶叶&k=5")
    assert body["items"] and "brand" in body["facets"]
    body = get(client, "/search?q=&category=tea")
    assert body["reason"] == "empty-query" and all(r["category"] == "tea" for r in body["items"])


@pytest.mark.parametrize("url", ["/search?q=tea&max_price=cheap", "/search?q=tea&k=0", "/recommend/u1?k=abc",
                                 "/similar/p00001?k=101"])
def test_bad_parameters(client, url):
    assert get(client, url, 400)["status"] == 400


def test_events_are_stored(client):
    from store.models import Event

    before = Event.objects.count()
    response = client.post("/events", data=json.dumps([{"user": "u9", "item": "p00002", "event": "cart"},
                                                         {"user": 12, "item": "p00003", "timestamp": 1.7e9}]),
                           content_type="application/json")
    assert response.status_code == 201 and response.json()["stored"] == 2 and response.json()["pending"] >= 2
    assert Event.objects.count() == before + 2
    stored = Event.objects.order_by("-id")[0]
    assert (stored.user, stored.item, stored.event) == ("12", "p00003", "view")
    for data, message in (("{oops", "must be JSON"), ('{"user": "u1"}', "item must be"),
                          ('{"user": "u1", "item": "p1", "event": "fly"}', "unknown event 'fly'"),
                          ("[]", "no events"), ('"text"', "must be a JSON object"),
                          ('{"user": "u1", "item": "p1", "timestamp": -5}', "timestamp must be Unix seconds"),
                          ('[{"user": "u1", "item": "p1"}, {"user": true, "item": "p1"}]', "event 1: user must be")):
        response = client.post("/events", data=data, content_type="application/json")
        assert response.status_code == 400 and response.json()["status"] == 400, data
        assert message in response.json()["error"], (data, response.json())
    assert Event.objects.count() == before + 2
    response = client.get("/events")
    assert response.status_code == 405 and response.json()["status"] == 405


def test_metrics_page_and_404(client):
    get(client, "/recommend/someone")
    response = client.get("/metrics")
    assert response.status_code == 200 and b'shoprec_calls_total{method="recommend"}' in response.content
    response = client.get("/?user=u00001")
    assert response.status_code == 200 and b"Recommended for you" in response.content
    assert get(client, "/no/such/page", 404)["status"] == 404


def test_rebuild_is_picked_up(client, django_shop):
    from django.core.management import call_command
    from store.models import Product

    from store.shop import watcher

    top = get(client, "/recommend/u00001?k=3")["items"][0]["id"]
    Product.objects.filter(sku=top).update(stock=0)
    call_command("shoprec_build", no_evaluate=True, verbosity=0, stdout=open(os.devnull, "w"))
    after = get(client, "/recommend/u00001?k=3")
    assert top not in [r["id"] for r in after["items"]]
    assert watcher().reloads >= 1


def test_posted_events_refresh_the_live_shop(client, django_shop):
    import numpy as np

    import shoprec
    from store.models import Event
    from store.shop import get_shop, live_updates

    live = get_shop()
    client.post("/refresh")  # apply what earlier tests posted, then start from the saved build
    live.reload()
    assert live.pending_events == 0
    saved = shoprec.Shop.load(django_shop / "shop")
    counts = np.bincount(saved.parts.interactions.items)
    item = next(str(saved.parts.interactions.item_ids[i]) for i in np.argsort(-counts, kind="stable")
                if saved.product(str(saved.parts.interactions.item_ids[i]))["in_stock"])
    user, stamp = "a-new-shopper", 1.9e9
    events = [{"user": user, "item": item, "event": "purchase", "timestamp": stamp},
              {"user": "u00001", "item": item, "event": "cart", "timestamp": stamp + 1}]
    # The reference: the saved shop updated directly with the same events, not through the app.
    reference = shoprec.Shop.load(django_shop / "shop")
    reference.record_events([(e["user"], e["item"], e["event"], e["timestamp"]) for e in events])
    reference.refresh()

    before = get(client, f"/recommend/{user}?k=5")
    assert (before["part"], before["reason"]) == ("popular", "unknown_user")
    stored = Event.objects.count()
    response = client.post("/events", data=json.dumps(events), content_type="application/json")
    assert response.status_code == 201 and response.json() == {"stored": 2, "pending": 2, "refreshing": False}
    assert Event.objects.count() == stored + 2
    assert get(client, f"/recommend/{user}?k=5") == before
    response = client.post("/refresh")
    assert response.status_code == 200 and response.json()["applied"] == 2 and live.pending_events == 0
    try:
        after = get(client, f"/recommend/{user}?k=5")
        want = reference.recommend(user, 5)
        assert after["part"] == want.part == "itemknn" and after["items"] != before["items"]
        assert [r["id"] for r in after["items"]] == want.items.tolist()
        assert [r["score"] for r in after["items"]] == pytest.approx(want.scores.tolist(), abs=6e-6)
        assert [r["id"] for r in get(client, "/recommend/u00001?k=8")["items"]] == \
            reference.recommend("u00001", 8).items.tolist()
        assert [r["id"] for r in get(client, f"/similar/{item}?k=6")["items"]] == reference.similar(item, 6).items.tolist()
        # The count trigger, in a background thread: one more event applies both waiting ones.
        live_updates().every = 2
        more = {"user": "u00002", "item": item, "event": "view", "timestamp": stamp + 2}
        reference.record_events([("u00002", item, "view", stamp + 2), ("u00003", item, "view", stamp + 3)])
        reference.refresh()
        assert client.post("/events", data=json.dumps(more), content_type="application/json").json()["refreshing"] is False
        more.update(user="u00003", timestamp=stamp + 3)
        assert client.post("/events", data=json.dumps(more), content_type="application/json").json()["refreshing"] is True
        assert live_updates().wait(60) and live.pending_events == 0
        for shopper in ("u00002", "u00003", user):
            assert [r["id"] for r in get(client, f"/recommend/{shopper}?k=6")["items"]] == \
                reference.recommend(shopper, 6).items.tolist()
    finally:
        live_updates().every = 0
        live.reload()


@pytest.mark.parametrize("method,url", [
    ("get", "/recommend/%00"), ("get", "/recommend/" + "9" * 40), ("get", "/similar/" + "x" * 300),
    ("get", "/search?q=" + "茶叶 " * 400), ("get", "/search?q=tea&k=-1"), ("get", "/search?q=%22%5C*%3A(&user=%00"),
    ("get", "/search?max_price=1e400"), ("post", "/events"), ("post", "/recommend/u1"), ("put", "/events"),
    ("get", "/refresh"),
])
def test_odd_requests_never_500(client, method, url):
    response = getattr(client, method)(url)
    assert response.status_code < 500, (url, response.content[:300])
    assert response["Content-Type"].startswith("application/json")
    assert response.status_code < 400 or response.json()["error"]
