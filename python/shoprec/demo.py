"""A demo shop on generated data: ``python -m shoprec.demo``.

Runs the kernels on a small synthetic shop and prints what they found, so a new user can see
in seconds that the install works and what each piece is for.
"""

from __future__ import annotations

import tempfile
import time

import numpy as np

from . import kernels


def _timed(label: str, fn, *args, **kwargs):
    start = time.perf_counter()
    result = fn(*args, **kwargs)
    print(f"  [{label}: {1000 * (time.perf_counter() - start):.1f} ms]")
    return result


def demo_top_k(rng: np.random.Generator) -> None:
    n_shoppers, n_products = 1000, 20_000
    scores = rng.random((n_shoppers, n_products), dtype=np.float32)
    out_of_stock = rng.choice(n_products, 500, replace=False)
    print(f"Top 5 products for each of {n_shoppers} shoppers over {n_products} products, "
          f"{len(out_of_stock)} out of stock:")
    ids, best = _timed("top_k", kernels.top_k, scores, 5, exclude=out_of_stock)
    print(f"  shopper 0 gets products {ids[0].tolist()} (scores {np.round(best[0], 3).tolist()})")
    assert not np.isin(ids, out_of_stock).any()


def demo_recommender(rng: np.random.Generator) -> None:
    from .interactions import Interactions
    from .models import ItemKNN

    n_events = 20_000
    shoppers = rng.integers(0, 800, n_events)
    # Popular products get more events; each shopper leans towards one of 5 departments.
    departments = shoppers % 5
    products = [f"sku-{d}-{int(p)}" for d, p in zip(departments, rng.random(n_events) ** 2 * 200)]
    events = rng.choice(["view", "cart", "purchase"], n_events, p=[0.7, 0.2, 0.1])
    data = Interactions.from_arrays([f"shopper-{s}" for s in shoppers], products, events=events)
    print(f"\nRecommendations from {data}:")
    model = _timed("ItemKNN fit", ItemKNN(30, similarity="cosine").fit, data)
    recs = _timed("recommend", model.recommend, "shopper-3", 5)
    print(f"  shopper-3 (department 3) gets {recs.items.tolist()}")
    because = model.explain("shopper-3", recs.items[0])[:2]
    print(f"  because of {[item for item, _ in because]}")
    print(f"  a new visitor gets {model.recommend('someone-new', 3).items.tolist()} (most popular)")


def demo_pearson_neighbours(rng: np.random.Generator) -> None:
    import scipy.sparse as sp

    # A small shop: 400 products in 8 categories of 50. Each of 2,000 shoppers has a taste for
    # every category and rates 40 random products: 3 stars, moved by the taste, plus noise.
    n_shoppers, n_products, n_categories, per_shopper = 2000, 400, 8, 40
    category = np.arange(n_products) // (n_products // n_categories)
    taste = rng.normal(size=(n_shoppers, n_categories))
    rows = np.repeat(np.arange(n_shoppers), per_shopper)
    cols = np.concatenate([rng.choice(n_products, per_shopper, replace=False) for _ in range(n_shoppers)])
    stars = np.clip(np.round(3 + 1.2 * taste[rows, category[cols]] + rng.normal(0, 0.7, len(rows))), 1, 5)
    ratings = sp.csr_matrix((stars, (rows, cols)), shape=(n_shoppers, n_products))
    print(f"\nSimilar products from {ratings.nnz} ratings of {n_products} products by {n_shoppers} shoppers "
          f"({n_categories} hidden categories of {n_products // n_categories}), item-item Pearson:")
    similar = _timed("pearson_neighbours", kernels.pearson_neighbours, ratings, 10,
                     similarity="pearson", min_support=5, shrinkage=10.0)
    for product in (0, 123, 399):
        row = similar[product]
        found = row.indices[:5]
        print(f"  product {product} (category {category[product]}): similar products {found.tolist()} "
              f"in categories {category[found].tolist()} "
              f"(similarities {np.round(row.data[:5].astype(float), 2).tolist()})")
    same = np.mean(category[similar.indices] == np.repeat(category, np.diff(similar.indptr)))
    print(f"  {100 * same:.0f}% of all top-10 neighbours share the product's category")
    assert same > 0.5, "the demo shop's categories should show in its neighbours"
def demo_kmeans(rng: np.random.Generator) -> None:
    # Shopper profiles: share of spend in 8 departments, from 4 hidden shopper types.
    departments = ["fresh", "bakery", "drinks", "baby", "pets", "garden", "electronics", "toys"]
    types = rng.dirichlet(np.full(len(departments), 0.4), size=4)
    kinds = rng.integers(0, 4, 5000)
    profiles = np.array([rng.dirichlet(60 * types[k] + 0.1) for k in kinds], dtype=np.float32)
    print(f"Interest clusters of {len(profiles)} shoppers over {len(departments)} departments:")
    fit = _timed("kmeans", kernels.kmeans, profiles, 4, n_init=3, seed=1)
    for c, centre in enumerate(fit.centroids):
        top = np.argsort(-centre)[:2]
        size = int(np.sum(fit.labels == c))
        print(f"  cluster {c}: {size:4d} shoppers, mostly " + " and ".join(
            f"{departments[j]} ({centre[j]:.0%})" for j in top))
    new_shopper = profiles[:1]
    print(f"  a new shopper like shopper 0 falls in cluster {int(fit.predict(new_shopper)[0])}")


def demo_cleaning(rng: np.random.Generator) -> None:
    days = np.arange(365)
    sales = 200 + 40 * np.sin(2 * np.pi * days / 7) + rng.normal(0, 8, size=365)
    sales[[100, 230]] = [1400.0, 5.0]  # a bulk order and a till outage
    print("Cleaning a year of daily sales with a 7-day Hampel filter:")
    cleaned, is_outlier = _timed("hampel", kernels.hampel, sales, 7)
    for day in np.flatnonzero(is_outlier):
        print(f"  day {day}: {sales[day]:.0f} looks wrong, replaced by the local median {cleaned[day]:.0f}")
    many = rng.normal(100, 10, size=(1000, 365))
    groups = np.arange(0, many.size + 1, 365)
    smooth = _timed("median_filter, 1000 series", kernels.median_filter, many.ravel(), 7, groups=groups)
    print(f"  7-day median of 1000 products' sales: first product starts {np.round(smooth[:3], 1).tolist()}")


def demo_segments(rng: np.random.Generator) -> None:
    from .interactions import Interactions
    from .segments import InterestSegments

    n_shoppers, tastes, per_taste = 3000, ("garden", "kitchen", "toys", "books"), 50
    taste = rng.integers(0, len(tastes), n_shoppers)
    users = np.repeat(np.arange(n_shoppers), 12)
    items = (np.repeat(taste, 12) * per_taste + rng.integers(0, per_taste, 12 * n_shoppers)).astype(np.int64)
    noise = rng.random(len(items)) < 0.2  # a fifth of the views wander outside the shopper's taste
    items[noise] = rng.integers(0, len(tastes) * per_taste, int(noise.sum()))
    interactions = Interactions.from_arrays(users, items)
    categories = {item: tastes[item // per_taste] for item in range(len(tastes) * per_taste)}
    print(f"\nInterest segments of {n_shoppers} shoppers with {len(tastes)} hidden tastes:")
    model = _timed("InterestSegments.fit", InterestSegments(len(tastes), seed=1).fit, interactions, categories)
    for segment in range(len(tastes)):
        description = model.describe(segment, k=1)
        print(f"  segment {segment}: {description.size} shoppers, mostly {description.top_attributes[0][0]}")
    print(f"  a new shopper who viewed items 0-4 ({tastes[0]}) joins segment {model.assign([0, 1, 2, 3, 4])}")


def _demo_catalog(rng: np.random.Generator) -> list:
    """A small built-in catalog: product titles made from a few families of related words,
    in English and Chinese, so that the keyword model has real co-occurrence to learn from."""
    families = [
        (["wireless", "bluetooth", "usb"], ["mouse", "keyboard", "headset"], ["logitech", "razer"]),
        (["gaming", "thin", "14-inch"], ["laptop", "notebook"], ["lenovo", "asus", "i5-1340p"]),
        (["organic", "fresh", "whole"], ["milk", "yogurt", "cheese"], ["dairyland", "alpine"]),
        (["无线", "蓝牙", "静音"], ["鼠标", "键盘", "耳机"], ["罗技", "雷蛇"]),
        (["游戏本", "轻薄本", "笔记本电脑"], ["电脑", "硬件", "显卡"], ["联想", "华硕"]),
        (["有机", "新鲜", "全脂"], ["牛奶", "酸奶", "奶酪"], ["蒙牛", "伊利"]),
    ]
    titles = []
    for _ in range(600):
        adjectives, nouns, brands = families[rng.integers(len(families))]
        words = [rng.choice(brands), *rng.choice(adjectives, 2, replace=False), rng.choice(nouns)]
        titles.append(" ".join(str(w) for w in words))
    return titles


def demo_query_expansion(rng: np.random.Generator) -> None:
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        print("\nQuery expansion: skipped (needs onnxruntime: pip install 'shoprec[keywords]')")
        return
    from .keywords import KeywordModel
    from .text import tokenize

    titles = _demo_catalog(rng)
    print(f"\nQuery expansion from {len(titles)} product titles of a built-in catalog:")
    print(f"  tokenize({titles[0]!r}) -> {tokenize(titles[0])}")
    model = _timed("KeywordModel.build (int8 ONNX)", KeywordModel.build, titles, dim=16, seed=0)
    with tempfile.TemporaryDirectory() as directory:
        model.save(directory)
        model = KeywordModel.load(directory)
        for query in ("wireless mouse", "gaming laptop", "笔记本电脑", "牛奶"):
            start = time.perf_counter()
            expansions = model.expand(query, 5)
            micros = 1e6 * (time.perf_counter() - start)
            print(f"  {query!r} -> {[keyword for keyword, _ in expansions]} ({micros:.0f} µs)")


def main() -> None:
    rng = np.random.default_rng(2026)
    print("shoprec demo shop (generated data)\n")
    demo_top_k(rng)
    demo_pearson_neighbours(rng)
    demo_recommender(rng)
    print()
    demo_kmeans(rng)
    print()
    demo_cleaning(rng)
    demo_segments(rng)
    demo_query_expansion(rng)


if __name__ == "__main__":
    main()
