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


def main() -> None:
    rng = np.random.default_rng(2026)
    print("shoprec demo shop (generated data)\n")
    demo_top_k(rng)


if __name__ == "__main__":
    main()
