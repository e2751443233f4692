"""Shared by the example shops' tests: one small demo shop built once per test session."""

import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
for folder in ("flask_shop", "django_shop"):
    if str(HERE / folder) not in sys.path:
        sys.path.insert(0, str(HERE / folder))


@pytest.fixture(scope="session")
def demo_data():
    from shoprec.datasets import demo_shop

    return demo_shop(n_users=300, n_products=400, seed=5)


@pytest.fixture(scope="session")
def shop_dir(tmp_path_factory, demo_data):
    import shoprec

    shop = shoprec.Shop.build(demo_data.products, demo_data.events, coupons=demo_data.coupons,
                              redemptions=demo_data.redemptions, config={"n_segments": 3, "evaluate": False},
                              progress=False)
    target = tmp_path_factory.mktemp("shops") / "shop"
    shop.save(target)
    return target
