"""``shoprec.Shop``: the whole pipeline behind one object (see :mod:`.serve`).

Modules: :mod:`.config` (ShopConfig), :mod:`.catalogue` (products, filters, stock),
:mod:`.build` (the pipeline), :mod:`.parts` (what a built shop holds and its directory
format), :mod:`.serve` (the Shop), :mod:`.plan` (its hot path: recommend and similar in one
Rust call), :mod:`.coupons`, :mod:`.restock`, :mod:`.search_part`, :mod:`.monitor`,
:mod:`.watch` (switching to a new build), :mod:`.metrics` (Prometheus),
:mod:`.refresh` (real-time updates), :mod:`.web` (serving over HTTP, posted events and
their refresh policy), :mod:`.page` (the example shops' page), :mod:`.progress`.
"""

from __future__ import annotations

from .config import ShopConfig
from .serve import PARTS, Shop, ShopRecommendations
from .watch import ShopWatcher

__all__ = ["Shop", "ShopConfig", "ShopRecommendations", "ShopWatcher", "PARTS"]
