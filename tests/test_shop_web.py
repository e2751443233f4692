"""shoprec.shop.web (what the example web shops are made of) and Shop.record_events: request
parameters, posted events checked all-or-none, error statuses, the refresh policy of
LiveUpdates (count, age, failure), each against the Shop called directly."""

import json
import time

import pytest

import shoprec
from shoprec.datasets import demo_shop
from shoprec.errors import DTypeError, InvalidArgumentError, ShoprecError, UnavailableError, UnknownIdError
from shoprec.shop.page import NO_SEARCH, page_html
from shoprec.shop.web import (BadRequest, LiveUpdates, error_status, int_arg, parse_events, price_arg,
                              recommend_body, similar_body)


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    data = demo_shop(n_users=120, n_products=200, seed=3)
    shop = shoprec.Shop.build(data.products, data.events, config={"evaluate": False, "n_segments": 3}, progress=False)
    target = tmp_path_factory.mktemp("web") / "shop"
    shop.save(target)
    return target


def test_parameters():
    assert int_arg({}, "k", 10) == 10 and int_arg({"k": ""}, "k", 7) == 7 and int_arg({"k": "100"}, "k", 1) == 100
    for text in ("0", "101", "x", "1.5"):
        with pytest.raises(BadRequest, match="k must be"):
            int_arg({"k": text}, "k", 10)
    assert price_arg({"p": "12.5"}, "p") == 12.5 and price_arg({}, "p") is None
    for text in ("cheap", "-1", "nan", "inf"):
        with pytest.raises(BadRequest, match="p must be"):
            price_arg({"p": text}, "p")
    assert issubclass(BadRequest, InvalidArgumentError)


def test_parse_events():
    rows = parse_events(b'[{"user": 7, "item": "p1", "event": "cart", "timestamp": 5}, {"user": "u", "item": 3}]',
                        now=100.0)
    assert rows == [{"user": "7", "item": "p1", "event": "cart", "timestamp": 5.0},
                    {"user": "u", "item": "3", "event": "view", "timestamp": 100.0}]
    assert parse_events({"user": "u", "item": "i"}, now=1)[0]["timestamp"] == 1.0
    bad = [(b"{x", "must be JSON"), (b"\xff", "must be JSON"), ([], "no events"), ("[3]", "event 0 must be"),
           ({"user": "u"}, "item must be"), ({"user": True, "item": "i"}, "user must be"),
           ({"user": "u", "item": "i", "event": 1}, "event must be a string"),
           ({"user": "u", "item": "i", "timestamp": 5e9}, "timestamp"),
           ({"user": "u", "item": "i", "timestamp": float("nan")}, "timestamp"),
           ({"user": "u", "item": "i", "x": 1}, "unknown fields ['x']"),
           ([{"user": "u", "item": "i"}, {"user": "u", "item": ""}], "event 1: item")]
    for body, message in bad:
        with pytest.raises(BadRequest, match=message.replace("[", r"\[").replace("]", r"\]")):
            parse_events(body)


def test_error_status():
    assert [error_status(e("m")) for e in (BadRequest, InvalidArgumentError, DTypeError, UnknownIdError,
                                           UnavailableError, ShoprecError, ValueError)] == [400, 400, 400, 404, 503,
                                                                                             500, None]


def test_bodies_equal_the_shop(saved):
    shop = shoprec.Shop.load(saved)
    user = str(shop.parts.interactions.user_ids[0])
    body = recommend_body(shop, user, {"k": "4"})
    assert body["user"] == user and [r["id"] for r in body["items"]] == shop.recommend(user, 4).items.tolist()
    item = str(shop.parts.interactions.item_ids[0])
    body = similar_body(shop, item, {})
    assert body["item"]["id"] == item and [r["id"] for r in body["items"]] == shop.similar(item, 10).items.tolist()
    with pytest.raises(UnknownIdError):
        similar_body(shop, "no-such", {})
    json.dumps(body)


def test_page():
    html = page_html('"><script>x</script>', NO_SEARCH)
    assert "&quot;&gt;&lt;script&gt;" in html and "<script>x" not in html and "Search is not available" in html
    assert "Search is not available" not in page_html("u1") and 'value="u1"' in page_html("u1")


def test_record_events_all_or_none(saved):
    shop = shoprec.Shop.load(saved)
    user = str(shop.parts.interactions.user_ids[0])
    with pytest.raises(InvalidArgumentError, match="event 1: unknown event 'fly'"):
        shop.record_events([(user, "p00001", "view", 1), (user, "p00001", "fly", 2)])
    with pytest.raises(DTypeError, match="event 0"):
        shop.record_events([(user, "p00001", "view")])
    assert shop.pending_events == 0
    assert shop.record_events(iter([(user, "p00001", "view", 1), ("new", "p00002", "purchase", None)])) == 2
    assert shop.pending_events == 2


def equal_answers(a, b, users):
    for user in users:
        assert a.recommend(user, 8).items.tolist() == b.recommend(user, 8).items.tolist(), user


def test_live_updates_by_count_and_age(saved):
    events = [{"user": "a-new-one", "item": "p00003", "event": "purchase", "timestamp": 1.9e9},
              {"user": "a-new-one", "item": "p00004", "event": "cart", "timestamp": 1.9e9 + 1}]
    reference = shoprec.Shop.load(saved)
    reference.record_events([(e["user"], e["item"], e["event"], e["timestamp"]) for e in events])
    reference.refresh()
    users = ["a-new-one"] + [str(u) for u in reference.parts.interactions.user_ids[:5]]

    shop = shoprec.Shop.load(saved)
    live = LiveUpdates(every=2, interval=0)
    assert live.record(shop, parse_events(events[:1])) == (1, False)
    assert live.record(shop, parse_events(events[1:])) == (1, True)
    assert live.wait(60) and live.refreshes == 1 and shop.pending_events == 0
    equal_answers(shop, reference, users)

    shop = shoprec.Shop.load(saved)
    live = LiveUpdates(every=0, interval=0.2, background=False)
    assert live.record(shop, parse_events(events)) == (2, False)
    assert not live.poke(shop) and shop.pending_events == 2
    time.sleep(0.3)
    assert live.poke(shop) and shop.pending_events == 0 and live.last_report["applied"] == 2
    equal_answers(shop, reference, users)

    shop = shoprec.Shop.load(saved)
    live = LiveUpdates(every=0, interval=0)
    live.record(shop, parse_events(events))
    assert not live.poke(shop) and shop.pending_events == 2  # only an explicit refresh
    assert live.refresh(shop)["applied"] == 2
    equal_answers(shop, reference, users)
    for bad in ({"every": -1}, {"every": 1.5}, {"interval": -1}, {"interval": "x"}):
        with pytest.raises(InvalidArgumentError):
            LiveUpdates(**bad)


def test_failed_refresh_keeps_events_and_waits(saved, monkeypatch):
    shop = shoprec.Shop.load(saved)
    live = LiveUpdates(every=1, interval=60, background=False)
    import shoprec.shop.serve as serve

    monkeypatch.setattr(serve, "refreshed_parts", lambda parts, events: (_ for _ in ()).throw(RuntimeError("boom")))
    parts = shop.parts
    assert live.record(shop, parse_events({"user": "u", "item": "p00001"})) == (1, True)
    assert live.failed == 1 and shop.pending_events == 1 and shop.parts is parts
    assert not live.poke(shop)  # no retry before the interval
    monkeypatch.undo()
    assert live.refresh(shop)["applied"] == 1 and shop.pending_events == 0
