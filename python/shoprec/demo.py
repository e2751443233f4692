"""A demo shop on generated data: ``python -m shoprec.demo``.

Runs the kernels on a small synthetic shop and prints what they found, so a new user can see
in seconds that the install works and what each piece is for.
"""

from __future__ import annotations

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


def main() -> None:
    rng = np.random.default_rng(2026)
    print("shoprec demo shop (generated data)\n")
    demo_top_k(rng)
    print()
    demo_kmeans(rng)
    print()
    demo_cleaning(rng)
    demo_segments(rng)


if __name__ == "__main__":
    main()
