"""ShopConfig: every choice :meth:`shoprec.Shop.build` makes, in one place, with its default."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Dict, Mapping, Optional, Tuple

from .._validate import check_float, check_int
from ..errors import DTypeError, InvalidArgumentError
from ..interactions import DEFAULT_EVENT_WEIGHTS

__all__ = ["ShopConfig"]


@dataclass(frozen=True)
class ShopConfig:
    """How :meth:`shoprec.Shop.build` builds a shop. Every field has a default.

    Products
        ``id``, ``title``: the product table's id and title columns; ``text``: the columns
        searched (title first, weighted above the rest); ``filters``: the columns search can
        filter and count facets on (those present are used).
    Events
        ``user``, ``item``, ``event``, ``timestamp``, ``rating``: the event table's columns
        (``event`` or ``rating`` may be None); ``event_weights``: the weight of each event type.
    Cleaning
        ``dedupe_window``: repeats of the same event within this gap are one
        (:func:`shoprec.clean.dedupe_events`; None to skip); ``drop_bots``: remove users whose
        volume or burst rate is abnormal (:func:`shoprec.clean.drop_outlier_users`);
        ``sales_window``, ``sales_sigmas``: the Hampel window and threshold for daily sales
        (:func:`shoprec.clean.fix_outliers`), then ``smooth_window`` for the median filter
        (:func:`shoprec.clean.smooth_series`); ``restock_lookback``: days of cleaned sales that
        give a product's daily rate.
    Models
        ``baseline``: the :class:`shoprec.ItemKNN` predicts around the regularised baseline
        ``mu + b_u + b_i`` (scikit-surprise's KNNBaseline) rather than item means; a shop built
        from ratings (``rating=...``) reports that predicted rating in ``explain`` and its
        RMSE / MAE in ``evaluate`` (the ranking does not depend on it).
        ``k_neighbours``, ``similarity``, ``shrinkage``: the :class:`shoprec.ItemKNN` (a
        similarity from few co-shoppers is shrunk towards 0: on the demo shop shrinkage 10
        lifts NDCG@10 from 0.022 to 0.074, above popular-in-segment's 0.041); ``n_segments``: the
        :class:`shoprec.InterestSegments` (fewer when there are few shoppers);
        ``keywords``: build a :class:`shoprec.KeywordModel` from the titles (needs
        onnxruntime; skipped with a warning without it); ``keyword_dim``; ``search``: build
        the search index when :class:`shoprec.SearchIndex` is available.
    Evaluation
        ``evaluate``: hold out each shopper's last event (``leave_last_n``) and report every
        model's ranking metrics at ``eval_k``.
    ``seed`` seeds everything random; ``num_threads`` (0 = every core) the Rust kernels.
    """

    id: str = "id"
    title: str = "title"
    text: Tuple[str, ...] = ("title", "description")
    filters: Tuple[str, ...] = ("category", "brand", "price", "in_stock")
    user: str = "user"
    item: str = "item"
    event: Optional[str] = "event"
    timestamp: Optional[str] = "timestamp"
    rating: Optional[str] = None
    event_weights: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_EVENT_WEIGHTS))
    dedupe_window: Optional[str] = "10s"
    drop_bots: bool = True
    sales_window: int = 15
    sales_sigmas: float = 3.0
    smooth_window: int = 7
    restock_lookback: int = 28
    k_neighbours: int = 50
    similarity: str = "cosine"
    shrinkage: float = 10.0
    baseline: bool = True
    n_segments: int = 8
    keywords: bool = True
    keyword_dim: int = 64
    search: bool = True
    evaluate: bool = True
    eval_k: int = 10
    seed: int = 0
    num_threads: int = 0

    def __post_init__(self) -> None:
        # The numbers and switches, checked here so a bad one fails before an hour's build.
        for name in ("k_neighbours", "n_segments", "keyword_dim", "eval_k", "sales_window", "smooth_window",
                     "restock_lookback"):
            check_int(getattr(self, name), name, minimum=1)
        check_int(self.num_threads, "num_threads", minimum=0)
        check_int(self.seed, "seed")
        check_float(self.shrinkage, "shrinkage", minimum=0.0)
        check_float(self.sales_sigmas, "sales_sigmas", minimum=0.0, strict=True)
        for name in ("drop_bots", "keywords", "search", "evaluate", "baseline"):
            if not isinstance(getattr(self, name), bool):
                raise DTypeError(f"{name} must be True or False, got {getattr(self, name)!r}")

    @classmethod
    def of(cls, config: Any) -> "ShopConfig":
        """A ShopConfig from None (the defaults), a ShopConfig, or a dict of fields."""
        if config is None:
            return cls()
        if isinstance(config, cls):
            return config
        if isinstance(config, Mapping):
            known = {f.name for f in dataclasses.fields(cls)}
            unknown = sorted(set(config) - known)
            if unknown:
                raise InvalidArgumentError(f"unknown config fields {unknown}; known: {sorted(known)}")
            values = dict(config)
            for name in ("text", "filters"):
                if name in values and not isinstance(values[name], str):
                    values[name] = tuple(values[name])
            return cls(**values)
        raise DTypeError(f"config must be a ShopConfig, a dict or None, got {type(config).__name__}")

    def to_dict(self) -> Dict[str, Any]:
        out = dataclasses.asdict(self)
        out["text"], out["filters"] = list(self.text), list(self.filters)
        out["event_weights"] = dict(self.event_weights)
        return out
