"""A generated shop that behaves like a real one: :func:`demo_shop`.

Everything is drawn with numpy from one seeded generator, vectorised over all rows (no loop
over events or products), so the same arguments always give the same shop and 5,000 products
with 2,000 shoppers take well under a second.

How it is made:

* **products**: each belongs to one of 16 categories and is titled in Chinese and English from
  its brand, one or two adjectives, the category and a model number (``"华为 轻薄手机 X20 |
  华为 slim phone X20"``). Prices are log-normal around the category's typical price; stock is
  a few days to two months of the product's expected sales, and 5% of products are out of
  stock. Within a category a product's appeal follows a power law (a few best sellers).
* **shoppers** have one to three favourite categories ("tastes").
* **sessions**: each shopper has a few sessions over 90 days; 85% of sessions browse one of the
  shopper's tastes, the rest a random category. A session views one or more products chosen by
  appeal, some are put in the cart and some of those bought, each event a little after the
  one before. 3% of views are double clicks (the same view again within seconds), and a few
  bots each fire hundreds of views within an hour: what :func:`shoprec.clean.dedupe_events`
  and :func:`shoprec.clean.drop_outlier_users` are for.
* **sales**: daily units sold per product (Poisson around the product's appeal, with a weekly
  rhythm), with anomalies injected (bulk orders and data-entry errors of 10-50x the usual
  day) and listed in ``anomalies``: what :func:`shoprec.clean.fix_outliers` is for.
* **coupons**: services and coupons (general ones and one or two per category), and which
  shoppers redeemed which (mostly coupons of their tastes).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .._validate import check_int
from .vocabulary import ADJECTIVES, BRANDS, CATEGORIES, COUPONS

__all__ = ["DemoShop", "demo_shop"]

DAYS = 90
START = np.datetime64("2026-01-01T00:00:00", "s")


@dataclass(frozen=True)
class DemoShop:
    """The tables of a generated shop (pandas DataFrames).

    Attributes
    ----------
    products : DataFrame
        ``id`` (str), ``title`` (Chinese | English), ``title_zh``, ``title_en``,
        ``description``, ``category`` (English slug), ``category_zh``, ``brand``, ``price``
        (float), ``stock`` (int) and ``in_stock`` (bool).
    events : DataFrame
        ``user``, ``item``, ``event`` (``"view"``, ``"cart"``, ``"purchase"``) and
        ``timestamp`` (datetime64), in time order.
    sales : DataFrame
        ``item``, ``date`` and ``units``: daily units sold per product (anomalies included).
    anomalies : DataFrame
        ``item`` and ``date`` of every injected anomaly in ``sales``.
    coupons : DataFrame
        ``id``, ``title`` and ``category`` (empty for coupons of any category).
    redemptions : DataFrame
        ``user``, ``coupon`` and ``timestamp``.
    tastes : DataFrame
        ``user`` and ``category``: the generator's truth about each shopper.
    """

    products: Any
    events: Any
    sales: Any
    anomalies: Any
    coupons: Any
    redemptions: Any
    tastes: Any

    def __repr__(self) -> str:
        return (f"DemoShop({len(self.products)} products, {self.events['user'].nunique()} shoppers, "
                f"{len(self.events)} events, {len(self.sales)} daily sales rows, "
                f"{len(self.coupons)} coupons, {len(self.redemptions)} redemptions)")


def _pick(rng: np.random.Generator, starts: np.ndarray, sizes: np.ndarray, rows: np.ndarray,
          exponent: float = 2.5) -> np.ndarray:
    """One position per row inside the block ``[starts[row], starts[row] + sizes[row])``,
    skewed to the start of the block (the block is ordered by appeal)."""
    u = rng.random(len(rows)) ** exponent
    return starts[rows] + np.minimum((u * sizes[rows]).astype(np.int64), sizes[rows] - 1)


def _products(rng: np.random.Generator, n_products: int) -> Any:
    import pandas as pd

    n_cat = len(CATEGORIES)
    slugs = np.array([c[0] for c in CATEGORIES])
    zh = np.array([c[1] for c in CATEGORIES])
    en = np.array([c[2] for c in CATEGORIES])
    base_price = np.array([c[3] for c in CATEGORIES])
    # Categories of unequal size, products grouped by category.
    shares = rng.dirichlet(np.full(n_cat, 4.0))
    category = np.sort(rng.choice(n_cat, n_products, p=shares))
    brand_lists = [BRANDS[s] for s in slugs]
    brand_pick = (rng.random(n_products) * np.array([len(b) for b in brand_lists])[category]).astype(int)
    flat_brands = np.array([b for blist in brand_lists for b in blist])
    brand_offsets = np.cumsum([0] + [len(b) for b in brand_lists])[:-1]
    brand = flat_brands[brand_offsets[category] + brand_pick]
    adj_zh = np.array([a[0] for a in ADJECTIVES])
    adj_en = np.array([a[1] for a in ADJECTIVES])
    a1 = rng.integers(0, len(ADJECTIVES), n_products)
    a2 = rng.integers(0, len(ADJECTIVES), n_products)
    two = (rng.random(n_products) < 0.4) & (a1 != a2)
    letters = np.array(list("ABCDEFGHKLMPRSTVXZ"))
    model = np.char.add(letters[rng.integers(0, len(letters), n_products)],
                        rng.integers(1, 100, n_products).astype(str))
    adjective_zh = np.where(two, np.char.add(adj_zh[a1], adj_zh[a2]), adj_zh[a1])
    adjective_en = np.where(two, np.char.add(np.char.add(adj_en[a1], " "), adj_en[a2]), adj_en[a1])
    title_zh = np.char.add(np.char.add(np.char.add(np.char.add(brand, " "), adjective_zh), zh[category]),
                           np.char.add(" ", model))
    title_en = np.char.add(np.char.add(np.char.add(np.char.add(np.char.add(brand, " "), adjective_en), " "),
                                       en[category]), np.char.add(" ", model))
    price = np.round(base_price[category] * rng.lognormal(0.0, 0.35, n_products), 0) - 0.1
    ids = np.char.add("p", np.char.zfill(np.arange(1, n_products + 1).astype(str), 5))
    description = np.char.add(np.char.add(np.char.add(zh[category], " "), en[category]),
                              np.char.add(" · ", adjective_en))
    return pd.DataFrame({
        "id": ids.astype(object),
        "title": np.char.add(np.char.add(title_zh, " | "), title_en).astype(object),
        "title_zh": title_zh.astype(object),
        "title_en": title_en.astype(object),
        "description": description.astype(object),
        "category": slugs[category].astype(object),
        "category_zh": zh[category].astype(object),
        "brand": brand.astype(object),
        "price": price,
    }), category, brand_pick


def _appeal_blocks(category: np.ndarray, n_cat: int):
    """Per category: where its products start and how many there are (products are grouped)."""
    sizes = np.bincount(category, minlength=n_cat)
    starts = np.r_[0, np.cumsum(sizes)[:-1]]
    return starts, sizes


def demo_shop(n_users: int = 2000, n_products: int = 5000, seed: int = 0) -> DemoShop:
    """Generate a demo shop (see the module docstring for what is in it).

    Parameters
    ----------
    n_users : int
        Shoppers, at least 10 (plus a few bots: 1 per 400 shoppers, at least 1).
    n_products : int
        Products, at least 2 per category (32).
    seed : int
        The same seed gives the same shop.

    Returns
    -------
    DemoShop
    """
    import pandas as pd

    n_users = check_int(n_users, "n_users", minimum=10)
    n_products = check_int(n_products, "n_products", minimum=2 * len(CATEGORIES))
    seed = check_int(seed, "seed", minimum=0)
    rng = np.random.default_rng(seed)
    n_cat = len(CATEGORIES)
    products, category, brand_pick = _products(rng, n_products)
    # Re-draw until every category has a product (only tiny catalogues can miss one).
    starts, sizes = _appeal_blocks(category, n_cat)
    present = np.flatnonzero(sizes > 0)
    # Appeal within a category: position 0 of a block is its best seller. Product ids are
    # shuffled within the block so the best seller is not always the lowest id.
    order = np.arange(n_products)
    for c in present.tolist():  # 16 categories
        block = order[starts[c]: starts[c] + sizes[c]]
        order[starts[c]: starts[c] + sizes[c]] = rng.permutation(block)
    appeal = np.empty(n_products)
    rank_in_block = np.arange(n_products) - starts[category]
    appeal[order] = 1.0 / (1.0 + rank_in_block) ** 0.9
    rank_of = np.empty(n_products, np.int64)
    rank_of[order] = rank_in_block
    # The same products grouped by (category, brand), best sellers first in each group.
    max_brands = max(len(b) for b in BRANDS.values())
    n_brands = np.array([len(BRANDS[c[0]]) for c in CATEGORIES])
    key = category * max_brands + brand_pick
    by_brand = np.lexsort((rank_of, key))
    brand_sizes = np.bincount(key, minlength=n_cat * max_brands)
    brand_starts = np.r_[0, np.cumsum(brand_sizes)[:-1]]

    # Shoppers and their tastes (1-3 categories, weighted by category size).
    user_ids = np.char.add("u", np.char.zfill(np.arange(1, n_users + 1).astype(str), 5)).astype(object)
    n_tastes = rng.integers(1, 4, n_users)
    cat_weights = sizes / sizes.sum()
    taste_user = np.repeat(np.arange(n_users), n_tastes)
    taste_cat = rng.choice(n_cat, len(taste_user), p=cat_weights)
    taste_start = np.r_[0, np.cumsum(n_tastes)[:-1]]
    taste_brand = (rng.random(len(taste_user)) * n_brands[taste_cat]).astype(np.int64)

    # Sessions: 1 + Poisson(5) per shopper, over 90 days.
    n_sessions = 1 + rng.poisson(5, n_users)
    s_user = np.repeat(np.arange(n_users), n_sessions)
    own = rng.random(len(s_user)) < 0.85
    s_which = taste_start[s_user] + (rng.random(len(s_user)) * n_tastes[s_user]).astype(int)
    s_cat = np.where(own, taste_cat[s_which], rng.choice(n_cat, len(s_user), p=cat_weights))
    # A shopper also has a favourite brand in each of their categories.
    s_brand = np.where(own, taste_brand[s_which], (rng.random(len(s_user)) * n_brands[s_cat]).astype(np.int64))
    s_start = START + (rng.random(len(s_user)) * DAYS * 86400).astype("timedelta64[s]")
    # Views per session: 1 + geometric.
    n_views = rng.geometric(0.35, len(s_user))
    v_session = np.repeat(np.arange(len(s_user)), n_views)
    v_offset = np.arange(len(v_session)) - np.repeat(np.r_[0, np.cumsum(n_views)[:-1]], n_views)
    # 60% of views go to the favourite brand (when it sells in the category): to products next
    # to one the session started from (a product line: what shoppers compare), the rest to any
    # product of the category.
    s_key = s_cat * max_brands + s_brand
    s_anchor = _pick(rng, np.zeros_like(brand_starts), np.maximum(brand_sizes, 1), s_key)
    v_key = s_key[v_session]
    on_brand = (rng.random(len(v_session)) < 0.6) & (brand_sizes[v_key] > 0)
    near = (s_anchor[v_session] + rng.integers(0, 4, len(v_session))) % np.maximum(brand_sizes[v_key], 1)
    v_item = np.where(on_brand, by_brand[np.minimum(brand_starts[v_key] + near, n_products - 1)],
                      order[_pick(rng, starts, sizes, s_cat[v_session])])
    v_time = s_start[v_session] + (v_offset * 60 + rng.integers(5, 50, len(v_session))).astype("timedelta64[s]")
    v_user = s_user[v_session]
    # Cart and purchase, more likely for appealing products.
    p_cart = 0.15 + 0.25 * appeal[v_item]
    carted = rng.random(len(v_item)) < p_cart
    bought = carted & (rng.random(len(v_item)) < 0.5)
    c_time = v_time[carted] + rng.integers(10, 40, int(carted.sum())).astype("timedelta64[s]")
    b_time = v_time[bought] + rng.integers(50, 90, int(bought.sum())).astype("timedelta64[s]")
    # Double clicks: 3% of views repeated within 1-5 seconds.
    dup = rng.random(len(v_item)) < 0.03
    d_time = v_time[dup] + rng.integers(1, 6, int(dup.sum())).astype("timedelta64[s]")
    users = [v_user, v_user[carted], v_user[bought], v_user[dup]]
    items = [v_item, v_item[carted], v_item[bought], v_item[dup]]
    kinds = [np.full(len(v_item), "view"), np.full(int(carted.sum()), "cart"), np.full(int(bought.sum()), "purchase"),
             np.full(int(dup.sum()), "view")]
    times = [v_time, c_time, b_time, d_time]
    # Bots: hundreds of views inside one hour.
    n_bots = max(1, n_users // 400)
    bot_views = rng.integers(300, 800, n_bots)
    bot_user = np.repeat(np.arange(n_users, n_users + n_bots), bot_views)
    bot_start = START + (rng.random(n_bots) * DAYS * 86400).astype("timedelta64[s]")
    users.append(bot_user)
    items.append(rng.integers(0, n_products, len(bot_user)))
    kinds.append(np.full(len(bot_user), "view"))
    times.append(np.repeat(bot_start, bot_views) + rng.integers(0, 3600, len(bot_user)).astype("timedelta64[s]"))
    all_users = np.r_[user_ids, np.char.add("bot", np.arange(1, n_bots + 1).astype(str)).astype(object)]
    events = pd.DataFrame({
        "user": all_users[np.concatenate(users)],
        "item": products["id"].to_numpy()[np.concatenate(items)],
        "event": np.concatenate(kinds).astype(object),
        "timestamp": np.concatenate(times).astype("datetime64[ns]"),
    })
    events = events.sort_values(["timestamp", "user", "item"], kind="stable").reset_index(drop=True)

    # Daily sales: Poisson around appeal (scaled so a category's best seller sells ~6 a day),
    # a weekly rhythm, and anomalies of 10-50x a usual day in 0.3% of cells.
    rate = 6.0 * appeal * (0.5 + rng.random(n_products))
    weekly = 1.0 + 0.3 * np.sin(2 * np.pi * np.arange(DAYS) / 7.0)
    units = rng.poisson(rate[:, None] * weekly[None, :])
    anomaly = rng.random(units.shape) < 0.003
    units = np.where(anomaly, (np.maximum(rate[:, None], 1.0) * rng.integers(10, 51, units.shape)).astype(int), units)
    dates = (START.astype("datetime64[D]") + np.arange(DAYS)).astype("datetime64[ns]")
    sales = pd.DataFrame({
        "item": np.repeat(products["id"].to_numpy(), DAYS),
        "date": np.tile(dates, n_products),
        "units": units.reshape(-1).astype(np.int64),
    })
    rows, cols = np.nonzero(anomaly)
    anomalies = pd.DataFrame({"item": products["id"].to_numpy()[rows], "date": dates[cols]})

    # Stock: 3 to 60 days of expected sales; 5% out of stock.
    stock = np.maximum(np.round(rate * rng.uniform(3.0, 60.0, n_products)), 1).astype(np.int64)
    stock[rng.random(n_products) < 0.05] = 0
    products["stock"] = stock
    products["in_stock"] = stock > 0

    # Coupons: redeemed mostly by shoppers whose tastes match the coupon's category.
    coupon_ids = np.array([c[0] for c in COUPONS], dtype=object)
    coupon_cat = np.array([c[2] for c in COUPONS], dtype=object)
    slugs = np.array([c[0] for c in CATEGORIES], dtype=object)
    coupons = pd.DataFrame({"id": coupon_ids, "title": [c[1] for c in COUPONS], "category": coupon_cat})
    general = np.flatnonzero(coupon_cat == "")
    by_cat = [np.flatnonzero(coupon_cat == s) for s in slugs]
    cat_coupon_starts = np.array([b[0] if len(b) else 0 for b in by_cat])
    cat_coupon_sizes = np.array([len(b) for b in by_cat])
    n_redeem = rng.poisson(1.5, n_users)
    r_user = np.repeat(np.arange(n_users), n_redeem)
    r_cat = taste_cat[taste_start[r_user] + (rng.random(len(r_user)) * n_tastes[r_user]).astype(int)]
    specific = (rng.random(len(r_user)) < 0.8) & (cat_coupon_sizes[r_cat] > 0)
    # Coupons of one category are contiguous in COUPONS.
    r_coupon = np.where(
        specific,
        cat_coupon_starts[r_cat] + (rng.random(len(r_user)) * np.maximum(cat_coupon_sizes[r_cat], 1)).astype(int),
        general[rng.integers(0, len(general), len(r_user))],
    )
    redemptions = pd.DataFrame({
        "user": user_ids[r_user],
        "coupon": coupon_ids[r_coupon],
        "timestamp": (START + (rng.random(len(r_user)) * DAYS * 86400).astype("timedelta64[s]")).astype("datetime64[ns]"),
    }).drop_duplicates(["user", "coupon"]).reset_index(drop=True)
    tastes = pd.DataFrame({"user": user_ids[taste_user], "category": slugs[taste_cat]}).drop_duplicates()
    return DemoShop(products=products, events=events, sales=sales, anomalies=anomalies, coupons=coupons,
                    redemptions=redemptions, tastes=tastes.reset_index(drop=True))
