"""The pipeline behind :meth:`shoprec.Shop.build`: clean, fit, index, evaluate.

Each step calls an existing part (shoprec.clean, Interactions, InterestSegments, Popular,
ItemKNN, KeywordModel, SearchIndex, shoprec.evaluate); this module only wires them and
collects what each did into the build report that the Shop's manifest records.
"""

from __future__ import annotations

import hashlib
import platform
import time
from typing import Any, Dict, List, Optional, Tuple

import numpy as np

from .. import evaluate as evaluation
from ..clean import CleaningReport, dedupe_events, drop_outlier_users
from ..errors import DTypeError, InvalidArgumentError, UnavailableError
from ..interactions import Interactions
from ..models import Baseline, ItemKNN, Popular
from ..segments import InterestSegments
from . import search_part
from .catalogue import Catalogue
from .config import ShopConfig
from .coupons import Coupons
from .parts import Parts
from .progress import Steps, logger
from .restock import sales_rates

__all__ = ["build_parts", "report_of"]


def report_of(report: CleaningReport) -> Dict[str, Any]:
    """A cleaning report as JSON (without its detail rows)."""
    def plain(value: Any) -> Any:
        if isinstance(value, (np.generic,)):
            return value.item()
        if isinstance(value, np.ndarray):
            return None
        if isinstance(value, dict):
            return {str(k): plain(v) for k, v in value.items()}
        return value if isinstance(value, (str, int, float, bool, type(None), list)) else str(value)

    return {"step": report.step, "n_in": report.n_in, "n_out": report.n_out, "removed": plain(dict(report.removed)),
            "changed": plain(dict(report.changed)), "params": plain(dict(report.params)),
            "extra": {k: v for k, v in plain(dict(report.extra)).items() if v is not None}}


def _fingerprint(frame: Any) -> Dict[str, Any]:
    import pandas as pd

    digest = hashlib.sha256(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes()).hexdigest()
    return {"rows": int(len(frame)), "columns": [str(c) for c in frame.columns], "sha256": digest}


def _check_frame(frame: Any, name: str) -> None:
    """A DataFrame with unique column names (a repeated name would be read as one column)."""
    if not hasattr(frame, "columns") or not hasattr(frame, "iloc"):
        raise DTypeError(f"{name} must be a pandas DataFrame, got {type(frame).__name__}")
    columns = [str(c) for c in frame.columns]
    repeated = sorted({c for c in columns if columns.count(c) > 1})
    if repeated:
        raise InvalidArgumentError(f"{name} has repeated column names {repeated}")


def _check_events(events: Any, config: ShopConfig) -> None:
    _check_frame(events, "events")
    wanted = {"user": config.user, "item": config.item, "event": config.event, "timestamp": config.timestamp,
              "rating": config.rating}
    missing = [f"{role}={col!r}" for role, col in wanted.items() if col is not None and col not in events.columns]
    if missing:
        raise InvalidArgumentError(f"events have no column(s) {', '.join(missing)}; columns: {list(events.columns)} "
                                   "(name them with config={'user': ..., 'item': ..., 'event': ..., 'timestamp': ...})")
    if len(events) == 0:
        raise InvalidArgumentError("events is empty: a shop needs some interactions to learn from")


def _clean(events: Any, config: ShopConfig, steps: Steps) -> Tuple[Any, List[Dict[str, Any]]]:
    reports = []
    if config.dedupe_window is not None and config.timestamp is not None:
        with steps.step("removing double clicks"):
            events, report = dedupe_events(events, config.dedupe_window, user=config.user, item=config.item,
                                           event=config.event, timestamp=config.timestamp)
            reports.append(report_of(report))
    if config.drop_bots:
        with steps.step("removing bot-like shoppers"):
            events, report = drop_outlier_users(events, user=config.user, timestamp=config.timestamp)
            reports.append(report_of(report))
    return events, reports


def _interactions(events: Any, config: ShopConfig, catalogue: Catalogue) -> Tuple[Interactions, Dict[str, Any]]:
    known = events[config.item].isin(catalogue.ids)
    unknown = int((~known).sum())
    if unknown:
        logger.warning("%d events name products that are not in the catalogue: left out", unknown)
        events = events[known]
    if len(events) == 0:
        raise InvalidArgumentError("no event names a product of the catalogue (check the id columns)")
    inter = Interactions.from_pandas(events, user=config.user, item=config.item, rating=config.rating,
                                     event=config.event if config.rating is None else None,
                                     timestamp=config.timestamp, weights=dict(config.event_weights))
    return inter, {"events_unknown_products": unknown}


def _segments(inter: Interactions, config: ShopConfig, attributes: Any) -> InterestSegments:
    active = int(np.count_nonzero(np.bincount(inter.users, minlength=inter.n_users)))
    n = max(1, min(config.n_segments, active // 20 or 1))
    return InterestSegments(n, seed=config.seed, num_threads=config.num_threads).fit(inter, attributes)


def _recommender(inter: Interactions, config: ShopConfig, categories: Any, attributes: Any
                 ) -> Tuple[ItemKNN, Popular, InterestSegments]:
    segments = _segments(inter, config, attributes)
    popular = Popular(within="segment").fit(inter, categories, segments=segments)
    knn = ItemKNN(config.k_neighbours, similarity=config.similarity, shrinkage=config.shrinkage,
                  baseline=config.baseline, num_threads=config.num_threads)
    return knn.fit(inter, fallback=popular), popular, segments


def _evaluate(inter: Interactions, config: ShopConfig, categories: Any, attributes: Any,
              coupon_inter: Optional[Interactions]) -> Dict[str, Any]:
    """Hold out each shopper's last interaction (random 20% without timestamps), refit every
    model on the rest, and report ranking metrics at ``eval_k``."""
    k = config.eval_k
    if inter.timestamps is not None:
        train, test = evaluation.leave_last_n(inter, 1)
        protocol = "leave_last_n(1): each shopper's latest product held out"
    else:
        train, test = evaluation.random_split(inter, 0.2, seed=config.seed)
        protocol = "random_split(0.2)"
    report: Dict[str, Any] = {"protocol": protocol, "k": k, "train": len(train), "test": len(test), "models": {}}
    if len(test) == 0:
        report["note"] = "nothing to hold out (every shopper has a single interaction)"
        return report
    knn, segment_popular, _ = _recommender(train, config, categories, attributes)
    models = {
        "ItemKNN (with popular-in-segment fallback)": knn,
        "Popular(within='segment')": segment_popular,
        "Popular": Popular().fit(train),
    }
    for name, model in models.items():
        report["models"][name] = _rounded(evaluation.ranking_metrics(model, test, k, num_threads=config.num_threads))
    if train.explicit:
        # A shop of ratings: how well the ItemKNN (with baselines, unless configured off)
        # predicts the held-out ratings, beside the baseline alone.
        report["rating_accuracy"] = {
            f"ItemKNN (baseline={config.baseline})": _rounded(evaluation.rating_metrics(knn, test, num_threads=config.num_threads)),
            "Baseline": _rounded(evaluation.rating_metrics(Baseline().fit(train), test, num_threads=config.num_threads)),
        }
    if coupon_inter is not None and len(coupon_inter) >= 10:
        c_train, c_test = evaluation.random_split(coupon_inter, 0.2, seed=config.seed)
        if len(c_test) and len(c_train):
            c_models = {"coupons ItemKNN": ItemKNN(20, similarity="cosine").fit(c_train), "coupons Popular": Popular().fit(c_train)}
            for name, model in c_models.items():
                report["models"][name] = _rounded(evaluation.ranking_metrics(model, c_test, min(k, 5)))
    return report


def _rounded(metrics: Dict[str, Any]) -> Dict[str, Any]:
    return {key: round(float(value), 5) if isinstance(value, float) else value for key, value in metrics.items()}


def build_parts(products: Any, events: Any, *, config: ShopConfig, sales: Any = None, coupons: Any = None,
                redemptions: Any = None, progress: bool = True) -> Parts:
    """Run the whole pipeline; see :meth:`shoprec.Shop.build`."""
    started = time.time()
    _check_frame(products, "products")
    _check_events(events, config)
    if (coupons is None) != (redemptions is None):
        raise InvalidArgumentError("give coupons and redemptions together (or neither)")
    n_steps = 4 + (config.dedupe_window is not None and config.timestamp is not None) + bool(config.drop_bots) \
        + bool(config.keywords) + bool(config.search) + bool(config.evaluate) + (sales is not None) + (coupons is not None)
    steps = Steps(n_steps, show=progress)
    build: Dict[str, Any] = {"inputs": {"products": _fingerprint(products), "events": _fingerprint(events)}}
    try:
        with steps.step("reading the catalogue"):
            catalogue = Catalogue.from_products(products, config.id, config.title)
        cleaned, cleaning = _clean(events, config, steps)
        with steps.step("counting interactions"):
            inter, notes = _interactions(cleaned, config, catalogue)
            build.update(notes)
        categories = dict(zip(catalogue.ids.tolist(), catalogue.categories.tolist()))
        attribute_columns = [c for c in ("category", "brand") if c in products.columns]
        attributes = products[[config.id] + attribute_columns] if attribute_columns else None
        with steps.step("fitting segments and recommender"):
            knn, popular, segments = _recommender(inter, config, categories, attributes)
        keywords = None
        if config.keywords:
            with steps.step("building the keyword model"):
                keywords = _keywords(products, config)
        coupon_part, coupon_inter = None, None
        if coupons is not None:
            with steps.step("learning coupons"):
                coupon_part = Coupons.build(coupons, redemptions, segments, user=config.user,
                                            num_threads=config.num_threads)
                if coupon_part.model is not None:
                    coupon_inter = _coupon_interactions(coupon_part)
                build["inputs"]["coupons"] = _fingerprint(coupons)
                build["inputs"]["redemptions"] = _fingerprint(redemptions)
        rates = None
        if sales is not None:
            with steps.step("cleaning daily sales"):
                rates, sales_reports, summary = sales_rates(
                    sales, catalogue, item=config.item if config.item in sales.columns else "item", date="date",
                    value="units" if "units" in sales.columns else "value", window=config.sales_window,
                    n_sigmas=config.sales_sigmas, smooth_window=config.smooth_window,
                    lookback=config.restock_lookback, num_threads=config.num_threads)
                cleaning.extend(report_of(r) for r in sales_reports)
                build["sales"] = summary
                build["inputs"]["sales"] = _fingerprint(sales)
        search = None
        if config.search:
            with steps.step("indexing products for search"):
                if search_part.available():
                    # Popularity from the segments: overall reach, and within the shopper's segment.
                    search = search_part.build(products, id_column=config.id, text=config.text, filters=config.filters,
                                               keyword_model=keywords, recommender=knn, popularity=segments,
                                               num_threads=config.num_threads)
                else:
                    logger.warning("%s", search_part.NOT_AVAILABLE)
        evaluation_report: Optional[Dict[str, Any]] = None
        if config.evaluate:
            with steps.step("evaluating on held-out events"):
                evaluation_report = _evaluate(inter, config, categories, attributes, coupon_inter)
        with steps.step("finishing"):
            pass
    finally:
        steps.close()
    build.update({
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "seconds": round(time.time() - started, 3),
        "steps": steps.timings, "python": platform.python_version(),
        "products": len(catalogue), "shoppers": int(inter.n_users), "interactions": len(inter),
        "segments": int(segments.n_segments), "keywords": keywords is not None, "search": search is not None,
        "coupons": 0 if coupon_part is None else len(coupon_part), "sales": build.get("sales"),
    })
    return Parts(catalogue=catalogue, interactions=inter, recommender=knn, popular=popular, segments=segments,
                 keywords=keywords, search=search, coupons=coupon_part, rates=rates, config=config,
                 reports={"build": build, "cleaning": cleaning, "evaluation": evaluation_report})


def _coupon_interactions(coupons: Coupons) -> Interactions:
    indptr, indices, _ = coupons.model._fitted().history
    state = coupons.model._fitted()
    users = np.repeat(state.users.ids, np.diff(indptr))
    return Interactions.from_arrays(users, state.items.ids[indices])


def _keywords(products: Any, config: ShopConfig) -> Any:
    try:
        from ..keywords import KeywordModel

        texts = products[config.title].astype(str).tolist()
        return KeywordModel.build(texts, dim=config.keyword_dim, seed=config.seed, num_threads=config.num_threads)
    except (ImportError, UnavailableError) as exc:  # onnxruntime missing
        logger.warning("no keyword model (query expansion off): %s", exc)
        return None
