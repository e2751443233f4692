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
    demo_segments(rng)


if __name__ == "__main__":
    main()
