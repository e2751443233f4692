"""The bad-input matrix (tests/test_bad_input.py), part 3: the entry points of search
(``SearchIndex``), the ``Shop`` and ``update``, with what each may return for a bad value."""

from __future__ import annotations

from bad_input_models import _recs, accept_filter, accept_k, accept_user
from bad_input_values import _events

# ----------------------------------------------------------- search, Shop, update, CLI
_HUGE_K = ("huge", "2**31", "2**63", "2**64", "np.uint64_huge")


def _results(r):
    return isinstance(r, __import__("shoprec").SearchResults)


def _same_search(a, b):
    return _results(a) and a.items.tolist() == b.items.tolist() and a.total == b.total and a.fallback == b.fallback


def accept_search_user(call):
    """A user the recommender does not know (or cannot read) gets no personal part: the
    anonymous answer; the string form of a known int id is that user (the model's id rule)."""
    def accept(vn, v, r, fx, **_):
        if vn in ("str_of_known_int", "float_of_known", "np.int8"):
            return _same_search(r, call(fx, fx.known_user))
        return _same_search(r, call(fx, None))
    return accept


def accept_search_history(call):
    """One id, a generator, a set or a dict of known ids: the history of that id; no known id:
    the anonymous answer."""
    def accept(vn, v, r, fx, **_):
        if vn in ("generator", "single_str", "set", "tuple", "dict", "mixed", "with_none", "with_nan"):
            return _same_search(r, call(fx, [fx.known_item]))
        return _same_search(r, call(fx, None))
    return accept


def accept_search_filters(vn, v, r, fx, **_):
    if vn in ("None", "empty_dict", "open_range"):
        return _results(r) and r.total > 0
    if vn == "set_of_str":
        return _results(r) and r.total > 0
    return vn in ("inf_range", "surrogate_value", "1MB_value") and _results(r) and r.fallback is not None


def accept_facets(vn, v, r, fx, **_):
    return _results(r) and vn in ("None", "str", "generator", "empty") and (
        vn in ("None", "empty") or set(r.facets) == {"category"})


def accept_products(mode):
    """What building or adding rows may return: an index with the new product; text that is
    not a str is read as its str; a NaN price is a missing price."""
    ok = {"dict", "1MB_title", "surrogate_title", "int_title", "nan_price", "huge_int_id", "nested_title"}
    # A new index reads each filter field's type from the data (str prices make a str field).
    new_types = {"known_id", "str_price", "int_category", "str_stock"}
    def accept(vn, v, r, fx, **_):
        if mode == "build":
            return vn in ok | new_types | {"empty", "empty_frame"} and r is not None \
                and len(r) == (0 if vn.startswith("empty") else 1)
        if mode == "add":
            return vn in ok | {"empty", "empty_frame"} and r is None
        return vn in ("empty", "empty_frame", "known_id") and r is None
    return accept


def _shop_user_accept(call):
    def accept(vn, v, r, fx, **_):
        return accept_user(vn, v, r, fx, call=lambda u: call(fx, u))
    return accept


def accept_update(vn, v, r, fx, **_):
    return vn in ("empty_selection", "new_user", "known_pair", "new_item") and getattr(r, "is_fitted", True) \
        and r is not None


def _search_entries():
    S = lambda fx: fx.search  # noqa: E731
    q = "gaming laptop"

    def by_user(fx, u):
        return S(fx).search(q, 5, user=u)

    def by_history(fx, h):
        return S(fx).search(q, 5, history=h)

    return [
        ("SearchIndex.search[query]", "query", "text", lambda fx, v: S(fx).search(v, 5),
         lambda vn, v, r, fx: isinstance(v, str) and _results(r) and len(r) <= 5),
        ("SearchIndex.search[k]", "k", "k", lambda fx, v: S(fx).search(q, v),
         lambda vn, v, r, fx: (vn in _HUGE_K and _results(r) and len(r) <= 40) or (vn == "np.int8" and len(r) == 3)),
        ("SearchIndex.search[offset]", "offset", "k", lambda fx, v: S(fx).search(q, 5, offset=v),
         lambda vn, v, r, fx: vn in _HUGE_K + ("zero", "np.int8") and _results(r)),
        ("SearchIndex.search[user]", "user", "user", by_user, accept_search_user(by_user)),
        ("SearchIndex.search[history]", "history", "ids", by_history, accept_search_history(by_history)),
        ("SearchIndex.search[filters]", ("filters", "filter", "price", "category", "in_stock"), "filters", lambda fx, v: S(fx).search(q, 5, filters=v),
         accept_search_filters),
        ("SearchIndex.search[facets]", ("facets", "facet"), "facets", lambda fx, v: S(fx).search(q, 5, facets=v),
         accept_facets),
        ("SearchIndex.build[products]", ("products", "product", "id", "filter field"), "products", lambda fx, v: type(S(fx)).build(v),
         accept_products("build")),
        ("SearchIndex.add[products]", ("products", "product", "id", "filter field"), "products", lambda fx, v: S(fx).add(v), accept_products("add")),
        ("SearchIndex.update[products]", ("products", "product", "id", "filter field"), "products", lambda fx, v: S(fx).update(v),
         accept_products("update")),
        ("SearchIndex.set_stock[ids]", ("ids", "id"), "ids", lambda fx, v: S(fx).set_stock(v, False),
         lambda vn, v, r, fx: isinstance(r, int) and vn in ("empty_list", "empty_array", "generator", "single_str",
                                                             "set", "tuple", "dict")),
        ("SearchIndex.delete[ids]", ("ids", "id"), "ids", lambda fx, v: S(fx).delete(v),
         lambda vn, v, r, fx: isinstance(r, int) and vn in ("empty_list", "empty_array", "generator", "single_str",
                                                             "set", "tuple", "dict", "unknown", "1MB", "int",
                                                             "int_array")),  # unknown ids are ignored
        ("SearchIndex.load", ("directory", "path"), "path", lambda fx, v: type(S(fx)).load(v), None),
    ]


def _shop_entries():
    shop = lambda fx: fx.shop  # noqa: E731
    Shop = lambda fx: type(fx.shop)  # noqa: E731

    def rec(fx, u):
        return shop(fx).recommend(u, 5)

    def search_user(fx, u):
        return shop(fx).search("gaming laptop", user=u, k=5)

    def history(fx, h):
        return shop(fx).recommend_for_history(h, 40, include_out_of_stock=True)

    return [
        ("Shop.recommend[user]", "user", "user", rec, _shop_user_accept(rec)),
        ("Shop.recommend[k]", "k", "k", lambda fx, v: shop(fx).recommend(fx.known_user, v),
         lambda vn, v, r, fx: accept_k(vn, v, r, fx, n_max=40)),
        ("Shop.recommend[filters]", ("filters", "filter", "price", "category", "in_stock"), "filters",
         lambda fx, v: shop(fx).recommend(fx.known_user, 5, filters=v),
         lambda vn, v, r, fx: _recs(r) and vn in ("None", "empty_dict", "open_range", "set_of_str", "inf_range",
                                                  "surrogate_value", "1MB_value")),
        ("Shop.recommend_for_history[items]", "history", "ids", history,
         # Complex or boolean "ids" are no known product: the fallback, marked empty_history.
         lambda vn, v, r, fx: accept_filter("history")(vn, v, r, fx, call=lambda h: history(fx, h))
         or (vn in ("complex", "bool_array") and r.reason == "empty_history")),
        ("Shop.similar[item]", ("item", "product"), "item", lambda fx, v: shop(fx).similar(v, 5), None),
        ("Shop.similar[k]", "k", "k", lambda fx, v: shop(fx).similar(fx.known_item, v),
         lambda vn, v, r, fx: accept_k(vn, v, r, fx, n_max=40)),
        ("Shop.search[query]", "query", "text", lambda fx, v: shop(fx).search(v, k=5),
         lambda vn, v, r, fx: isinstance(v, str) and _results(r)),
        ("Shop.search[k]", "k", "k", lambda fx, v: shop(fx).search("mouse", k=v),
         lambda vn, v, r, fx: (vn in _HUGE_K and _results(r) and len(r) <= 40) or (vn == "np.int8" and len(r) <= 3)),
        ("Shop.search[user]", "user", "user", search_user, accept_search_user(search_user)),
        ("Shop.search[filters]", ("filters", "filter", "price", "category", "in_stock"), "filters",
         lambda fx, v: shop(fx).search("gaming laptop", k=5, filters=v), accept_search_filters),
        ("Shop.explain[item]", ("item", "product"), "item", lambda fx, v: shop(fx).explain(fx.known_user, v), None),
        ("Shop.explain[user]", "user", "user", lambda fx, v: shop(fx).explain(v, fx.known_item),
         lambda vn, v, r, fx: isinstance(r, dict) and r["item"]["id"] == fx.known_item),
        ("Shop.record_event[user]", ("user", "shopper"), "user", lambda fx, v: shop(fx).record_event(v, fx.known_item),
         lambda vn, v, r, fx: r is None and vn in ("unknown", "negative", "huge", "str_of_known_int", "np.int8",
                                                   "padded_str_of_int")),
        ("Shop.record_event[item]", ("item", "product"), "item", lambda fx, v: shop(fx).record_event(fx.known_user, v),
         # Any product id of the shop's id type is accepted (refresh leaves out what is not a product).
         lambda vn, v, r, fx: r is None and vn in ("unknown", "empty_str", "emoji", "control", "1MB", "surrogate")),
        ("Shop.record_event[timestamp]", "timestamp", "cutoff",
         lambda fx, v: shop(fx).record_event(fx.known_user, fx.known_item, "view", v),
         lambda vn, v, r, fx: r is None and vn in ("None", "timestamp", "datetime64", "datetime", "str")),
        ("Shop.set_stock[ids]", "ids", "ids", lambda fx, v: shop(fx).set_stock(v, in_stock=False),
         lambda vn, v, r, fx: isinstance(r, int) and vn not in ("None", "unhashable")),
        ("Shop.build[products]", ("products", "product", "id", "filter field"), "products",
         lambda fx, v: Shop(fx).build(v, fx.events, config={"evaluate": False, "keywords": False}, progress=False),
         None),
        ("Shop.build[events]", ("events", "interactions", "df", "ratings", "rating"), "frame",
         lambda fx, v: Shop(fx).build(fx.products, v, config={"event": None, "rating": "rating", "evaluate": False,
                                                               "keywords": False}, progress=False),
         lambda vn, v, r, fx: vn in ("mixed_ids", "nan_rating") and r is not None),
        ("Shop.load", ("directory", "path"), "path", lambda fx, v: Shop(fx).load(v), None),
    ]


def _update_entries():
    rows = []
    for name in ("itemknn", "userknn", "baseline", "popular"):
        rows.append((f"{name}.update[new_events]", ("new_events", "new events", "users", "items"), "new_events",
                     lambda fx, v, name=name: fx.models[name].update(v), accept_update))
    rows += [
        ("itemknn.update[cap]", "cap", "number", lambda fx, v: fx.models["itemknn"].update(
            _events(fx, [fx.known_user], [fx.known_item]), combine="sum", cap=v),
         lambda vn, v, r, fx: vn in ("None", "huge") and r.is_fitted),
        ("itemknn.update[combine]", "combine", "text", lambda fx, v: fx.models["itemknn"].update(
            _events(fx, [fx.known_user], [fx.known_item]), combine=v),
         lambda vn, v, r, fx: vn == "None" and r.is_fitted),  # None: the default
        ("InterestSegments.update[new_events]", ("new_events", "new events", "users", "items"), "new_events",
         lambda fx, v: fx.segments.update(v), accept_update),
    ]
    return rows
