"""Shared by the atheris harnesses: what counts as a finding, and small fitted objects."""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "python"))

import numpy as np  # noqa: E402

import shoprec  # noqa: E402
from shoprec.errors import InternalError, ShoprecError  # noqa: E402


def clean(call):
    """Run ``call()``: a ShoprecError (other than InternalError, a Rust panic) is a clean
    refusal; any other exception propagates and atheris reports it as a finding."""
    try:
        return call()
    except InternalError:
        raise
    except ShoprecError:
        return None


def exercise(obj):
    """Use a loaded object the way a shop would; only clean errors are allowed."""
    if isinstance(obj, shoprec.Interactions):
        obj.to_csr()
    elif isinstance(obj, shoprec.InterestSegments):
        clean(lambda: obj.popular_for(obj.user_ids[0] if len(obj.user_ids) else 0, 5))
    elif isinstance(obj, shoprec.KeywordModel):
        clean(lambda: obj.expand("laptop", 5))
        clean(lambda: obj.expand("联想 笔记本", 3))
    elif hasattr(obj, "recommend"):
        users = obj.user_ids
        first = users[0] if len(users) else 0
        clean(lambda: obj.recommend(first, 5))
        clean(lambda: obj.recommend_many(list(users[:3]), 3))
        clean(lambda: obj.predict(first, obj.item_ids[0] if len(obj.item_ids) else 0))
        if hasattr(obj, "recommend_for_history"):
            clean(lambda: obj.recommend_for_history(list(obj.item_ids[:2]), 4))


def small_interactions(seed=0):
    rng = np.random.default_rng(seed)
    users = rng.integers(0, 12, 80)
    items = rng.integers(0, 15, 80)
    return shoprec.Interactions.from_arrays([f"u{u}" for u in users], [f"i{i}" for i in items],
                                            rng.integers(1, 6, 80).astype(float),
                                            timestamps=rng.integers(0, 1000, 80))


TITLES = ["gaming laptop 16GB", "asus laptop notebook", "wireless mouse usb", "gaming keyboard usb",
          "summer floral dress", "cotton summer skirt", "联想 游戏本 笔记本", "无线 鼠标"] * 3
