"""``shoprec.Shop``: one object that builds a shop's models from its products and events and
answers a web shop's questions (recommend, similar, search, segments, explanations, coupons,
restocking), safely under many threads, switching to a new build without dropping a request.

Every answer says where it came from: :class:`ShopRecommendations` carries, as every
:class:`shoprec.Recommendations` does, ``source`` (``"model"`` or ``"fallback"``) and ``reason``
(why a fallback, one of :data:`shoprec.recommendations.FALLBACK_REASONS`), and also ``part``
(which part of the shop answered, a key of :data:`PARTS`); :class:`shoprec.SearchResults`
carries ``fallback``.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from time import perf_counter
from typing import Any, Dict, List, Mapping, Optional, Sequence

import numpy as np


from .._ids import filter_ids
from .._validate import check_k
from ..errors import DTypeError, InvalidArgumentError, UnavailableError, UnknownIdError
from ..io import PathLike, load_as, register, save
from ..recommendations import Recommendations
from ..segments import NEW_SHOPPERS
from . import search_part
from .build import build_parts
from .config import ShopConfig
from .monitor import Monitor
from .parts import Parts
from .plan import ServingPlan
from .refresh import EventBuffer, check_event, refreshed_parts
from .restock import restock_rows

__all__ = ["Shop", "ShopRecommendations", "PARTS"]

#: What :attr:`ShopRecommendations.part` can say.
PARTS = {
    "itemknn": "items similar to what this shopper interacted with (ItemKNN)",
    "popular-in-segment": "popular with shoppers like this one (their interest segment)",
    "popular": "popular with everyone (new or unknown shopper)",
    "similar-items": "items other shoppers interacted with together with this one (ItemKNN neighbours)",
    "popular-in-category": "popular in the product's category (no shopper evidence for the product)",
    "coupons-itemknn": "coupons redeemed by shoppers who redeemed the same coupons",
    "coupons-popular-in-segment": "coupons popular with shoppers like this one",
    "coupons-popular": "coupons popular with everyone",
}


class ShopRecommendations(Recommendations):
    """:class:`shoprec.Recommendations` marked with the part of the shop that answered.

    Attributes
    ----------
    source, reason : str
        As for every :class:`shoprec.Recommendations`: ``"model"`` when the first choice
        answered from its own evidence, else ``"fallback"`` with the ``reason``
        (``"unknown_user"``, ``"no_history"`` (also: a product no shopper touched, a shopper
        without redemptions), ``"no_positive_score"``, ``"empty_history"``).
    part : str
        A key of :data:`PARTS`: which part answered.
    segment : int or None
        The shopper's interest segment when it was used.
    """

    __slots__ = ("part", "segment")

    def __init__(self, recs: Recommendations, part: str, reason: Optional[str] = None,
                 segment: Optional[int] = None) -> None:
        super().__init__(recs.items, recs.scores, "model" if reason is None else "fallback", reason)
        self.part = part
        self.segment = segment

    @classmethod
    def _model_answer(cls, items: np.ndarray, scores: np.ndarray, part: str) -> "ShopRecommendations":
        """A model answer of the serving hot path, without re-checking source and reason."""
        answer = cls.__new__(cls)
        answer.items, answer.scores, answer.source, answer.reason = items, scores, "model", None
        answer.part, answer.segment = part, None
        return answer

    def __repr__(self) -> str:
        why = f", reason={self.reason!r}" if self.reason else ""
        return f"ShopRecommendations(part={self.part!r}, source={self.source!r}{why}, {self.to_list()!r})"


def _coerce(text: Any, ids: np.ndarray) -> Any:
    if isinstance(text, str) and ids.dtype.kind in "iu":
        digits = text[1:] if text.startswith("-") else text
        if digits.isdigit() and digits.isascii():
            return int(text)
    return text


def _history_list(items: Any) -> List[Any]:
    # One id, a sequence or a generator (read once, not taken for one id).
    return list(filter_ids(items, "history"))


@register("Shop")
class Shop:
    """A whole shop: recommendations, similar items, search, segments, coupons and restocking,
    built from the shop's products and events with :meth:`build`, kept with :meth:`save` as one
    directory and opened with :meth:`load`.

    Thread safety: a Shop answers from an immutable set of parts; :meth:`reload`,
    :meth:`set_stock` and :meth:`refresh` build a new set and swap one reference, so a request
    in flight finishes on the parts it started with. Rust work runs with the GIL released.

    Real-time updates: :meth:`record_event` buffers new events (from any thread);
    :meth:`refresh` applies them (the models' ``update``, equal to a refit) and swaps the new
    parts in.
    """

    def __init__(self, parts: Parts, directory: Optional[PathLike] = None) -> None:
        self._parts = parts
        self._swap_lock = threading.Lock()
        self.directory = None if directory is None else Path(os.fspath(directory))
        self.monitor = Monitor()
        self._pending = EventBuffer()
        self._plan: Optional[ServingPlan] = None

    # ================================================================== build, save, load
    @classmethod
    def build(cls, products: Any, events: Any, *, config: Any = None, sales: Any = None, coupons: Any = None,
              redemptions: Any = None, progress: bool = True) -> "Shop":
        """Build a shop: clean the events (double clicks, bot-like shoppers, with reports),
        fit the interest segments, the popular-in-segment fallback and the ItemKNN recommender,
        build the keyword model and the search index, learn the coupons, clean the daily
        sales, and evaluate every model on held-out events.

        Parameters
        ----------
        products : pandas.DataFrame
            One row per product: an id and a title column (``config.id``, ``config.title``),
            and optionally ``description``, ``category``, ``brand``, ``price``, ``stock``
            (units; 0 is out of stock) and ``in_stock`` (bool).
        events : pandas.DataFrame
            One row per event: ``user``, ``item`` (a product id), ``event`` (``view``,
            ``cart``, ``purchase``, ``favorite``; or ``config.rating`` for ratings) and
            ``timestamp``. Column names are set in ``config``.
        config : ShopConfig or dict, optional
            See :class:`shoprec.ShopConfig`.
        sales : pandas.DataFrame, optional
            Daily sales (``item``, ``date``, ``units``) for :meth:`restock_report`.
        coupons, redemptions : pandas.DataFrame, optional
            The coupon and service catalogue (``id``, ``title``, ``category``) and who redeemed
            what (``user``, ``coupon``), for ``recommend(user, catalogue="coupons")``.
        progress : bool
            Draw a progress bar on a terminal (steps are logged at INFO either way).

        Raises
        ------
        InvalidArgumentError
            A missing column, an empty table, duplicate product ids, no event naming a
            product, a bad config field.
        """
        config = ShopConfig.of(config)
        return cls(build_parts(products, events, config=config, sales=sales, coupons=coupons,
                               redemptions=redemptions, progress=progress))

    def save(self, directory: PathLike) -> None:
        """Write the shop as one directory, atomically (a reader sees the old shop or the new
        one, never a mix); see :mod:`shoprec.shop.parts` for the layout."""
        save(directory, self)

    def _to_files(self) -> Any:
        return self._parts.to_files()

    @classmethod
    def _from_directory(cls, saved: Any) -> "Shop":
        return cls(Parts.from_directory(saved), saved.root)

    @classmethod
    def load(cls, directory: PathLike, *, verify: bool = True) -> "Shop":
        """Open a saved shop. Model files are memory-mapped (worker processes share them).

        Raises
        ------
        FileNotFoundError, ModelFileError, ModelVersionError
        """
        return load_as(cls, directory, verify=verify)

    def reload(self, directory: Optional[PathLike] = None) -> None:
        """Load the shop saved at ``directory`` (default: where this one came from) and switch
        to it. Requests in flight finish on the old parts; the next ones use the new."""
        target = directory if directory is not None else self.directory
        if target is None:
            raise InvalidArgumentError("this shop was not loaded from a directory: give reload(directory)")
        fresh = load_as(Shop, target)
        with self._swap_lock:
            self._parts = fresh._parts
            self.directory = fresh.directory

    # ================================================================== real-time updates
    def record_event(self, user: Any, item: Any, event: Any = "view", timestamp: Any = None) -> None:
        """Buffer one new event until the next :meth:`refresh` (thread-safe, cheap: nothing is
        recomputed). ``event`` is an event type of ``config.event_weights`` (``"view"``,
        ``"cart"``, ``"purchase"``...), or the rating for a shop built from ratings;
        ``timestamp`` is a datetime or seconds since the epoch (default: now). A product that
        is not in the catalogue is accepted here and left out by :meth:`refresh` (counted in
        its report).

        Raises
        ------
        DTypeError, InvalidArgumentError
            An id of the wrong type (this shop's ids are ints or strs), an unknown event type,
            a bad timestamp; nothing is recorded then.
        """
        self._pending.add(check_event(self._parts, user, item, event, timestamp))

    def record_events(self, events: Any) -> int:
        """Buffer several events at once, all or none: ``events`` is an iterable of
        ``(user, item, event, timestamp)`` tuples (``timestamp`` None: now), each checked as
        by :meth:`record_event` before any is recorded. Returns how many were recorded.

        Raises
        ------
        DTypeError, InvalidArgumentError
            A row that is not a 4-tuple, or an event :meth:`record_event` would refuse (the
            message names its position); nothing is recorded then.
        """
        parts = self._parts
        checked = []
        for index, row in enumerate(events):
            if not isinstance(row, (tuple, list)) or len(row) != 4:
                raise DTypeError(f"event {index}: a (user, item, event, timestamp) tuple, got {row!r}")
            try:
                checked.append(check_event(parts, *row))
            except (DTypeError, InvalidArgumentError) as exc:
                raise type(exc)(f"event {index}: {exc}") from None
        self._pending.extend(checked)
        return len(checked)

    @property
    def pending_events(self) -> int:
        """How many recorded events the next :meth:`refresh` will apply."""
        return len(self._pending)

    def refresh(self) -> Dict[str, Any]:
        """Apply the recorded events and switch to the result: the shop's interactions are
        merged, ``ItemKNN``, its popular-in-segment fallback and the interest segments are
        updated (``update``: equal to a refit on all the events; new shoppers get a segment,
        centres are kept), purchases take units off known stock, and the search index gets
        the new popularity and recommender (on a copy: see :mod:`shoprec.shop.refresh`).
        Requests in flight finish on the old parts; the next ones get the new. Cleaning
        (double clicks, bots) and evaluation are not re-run: rebuild for those. The shop is
        not saved: call :meth:`save`.

        Returns
        -------
        dict
            ``events`` (taken from the buffer), ``applied``, ``ignored_unknown_products``
            (events naming a product not in the catalogue), ``new_shoppers``,
            ``new_products`` (catalogue products with their first events), ``out_of_stock``
            (products a purchase sold out), ``seconds``.

        If the update fails the events go back to the buffer and the shop is unchanged.
        """
        with self._swap_lock:
            events = self._pending.take()
            try:
                fresh, report = refreshed_parts(self._parts, events)
            except BaseException:
                self._pending.put_back(events)
                raise
            self._parts = fresh
        return report

    @property
    def parts(self) -> Parts:
        """The current parts (recommender, segments, keywords, search, catalogue...)."""
        return self._parts

    @property
    def config(self) -> ShopConfig:
        return self._parts.config

    @property
    def reports(self) -> Dict[str, Any]:
        """The build, cleaning and evaluation reports (as saved in the manifest)."""
        return self._parts.reports

    def __repr__(self) -> str:
        b = self._parts.reports.get("build") or {}
        return (f"Shop({b.get('products')} products, {b.get('shoppers')} shoppers, {b.get('segments')} segments, "
                f"search={'on' if self._parts.search is not None else 'off'}, coupons={b.get('coupons')})")

    # ================================================================== answers
    def _plan_for(self, parts: Parts) -> ServingPlan:
        """The hot-path plan of ``parts`` (:mod:`.plan`), built at the first request on them.
        Two threads may both build it: the same plan, one of them kept."""
        plan = self._plan
        if plan is None or plan.parts is not parts:
            plan = self._plan = ServingPlan(parts)
        return plan

    def _stock_filters(self, parts: Parts, filters: Optional[Mapping[str, Any]], include_out_of_stock: bool
                       ) -> Dict[str, Any]:
        """``items=`` / ``exclude=`` for a recommender call."""
        catalogue = parts.catalogue
        mask = catalogue.mask(filters)
        if mask is None:
            return {} if include_out_of_stock else {"exclude": catalogue.out_of_stock_ids()}
        if not include_out_of_stock:
            mask = mask & catalogue.in_stock
        return {"items": catalogue.ids[mask]}

    def recommend(self, user: Any, k: int = 10, *, filters: Optional[Mapping[str, Any]] = None,
                  catalogue: str = "products", include_out_of_stock: bool = False) -> ShopRecommendations:
        """The ``k`` best products (or coupons) for ``user``.

        A shopper with history gets ItemKNN's recommendations; an unknown shopper, one without
        history, or one for whom no candidate has neighbour evidence gets the products popular
        in their interest segment (``part``, ``source`` and ``reason`` say which). Out-of-stock products
        are left out unless ``include_out_of_stock``. ``filters`` as for search
        (``{"category": "phone", "price": (None, 500)}``).

        ``catalogue="coupons"`` recommends services and coupons instead (learned from
        redemptions, falling back to the coupons popular in the shopper's segment).
        """
        # Monitored as by ``monitor.track``, inline: this is the hottest call of a shop.
        method = "recommend" if catalogue == "products" else f"recommend_{catalogue}"
        start = perf_counter()
        try:
            parts = self._parts
            k = check_k(k)
            if catalogue == "coupons":
                answer = self._recommend_coupons(parts, user, k)
            elif catalogue == "products":
                fast = None if filters is not None else self._plan_for(parts).recommend(user, k, include_out_of_stock)
                if fast is not None:
                    answer = ShopRecommendations._model_answer(fast[0], fast[1], "itemknn")
                else:
                    answer = self._recommend_products(parts, user, k, filters, include_out_of_stock)
            else:
                raise InvalidArgumentError(f"catalogue must be 'products' or 'coupons', got {catalogue!r}")
        except BaseException:
            self.monitor.record(method, perf_counter() - start, error=True)
            raise
        self.monitor.record(method, perf_counter() - start, empty=len(answer) == 0, fallback=answer.reason)
        return answer

    def _recommend_products(self, parts: Parts, user: Any, k: int, filters: Any, include_out_of_stock: bool
                            ) -> ShopRecommendations:
        candidates = self._stock_filters(parts, filters, include_out_of_stock)
        # ItemKNN answers, or hands over to its popular-in-segment fallback and says why.
        recs = parts.recommender.recommend(user, k, **candidates)
        if not recs.is_fallback:
            return ShopRecommendations(recs, "itemknn")
        segment = parts.segments.segment_of(user)
        return ShopRecommendations(recs, "popular" if segment == NEW_SHOPPERS else "popular-in-segment", recs.reason,
                                   segment)

    def _recommend_coupons(self, parts: Parts, user: Any, k: int) -> ShopRecommendations:
        if parts.coupons is None:
            raise UnavailableError("this shop has no coupons: build it with coupons= and redemptions=")
        segment = parts.segments.segment_of(user)
        recs, part, reason = parts.coupons.recommend(user, segment, k)
        return ShopRecommendations(recs, part, reason, None if part == "coupons-itemknn" else segment)

    def recommend_for_history(self, items: Sequence[Any], k: int = 10, *, filters: Optional[Mapping[str, Any]] = None,
                              include_out_of_stock: bool = False) -> ShopRecommendations:
        """Recommendations for an anonymous shopper from the products they just viewed or
        bought (no refit); with no known product, the products popular with shoppers whose
        history looks like this one (their segment), else with everyone."""
        with self.monitor.track("recommend_for_history") as call:
            parts = self._parts
            k = check_k(k)
            history = _history_list(items)
            candidates = self._stock_filters(parts, filters, include_out_of_stock)
            recs = parts.recommender.recommend_for_history(history, k, **candidates)
            if not recs.is_fallback:
                answer = ShopRecommendations(recs, "itemknn")
            else:
                known = parts.recommender._fitted().items.known_indices(history, "items") if history else []
                segment = parts.segments.assign(history) if len(known) else NEW_SHOPPERS
                answer = ShopRecommendations(recs, "popular" if segment == NEW_SHOPPERS else "popular-in-segment",
                                             recs.reason, segment)
            call.fallback, call.empty = answer.reason, len(answer) == 0
            return answer

    def similar(self, item: Any, k: int = 10, *, include_out_of_stock: bool = False) -> ShopRecommendations:
        """The ``k`` products most similar to ``item`` (from shoppers' co-interactions); a
        product no shopper touched gets the popular products of its category.

        Raises
        ------
        UnknownIdError
            ``item`` is not a product of the catalogue.
        """
        start = perf_counter()
        try:
            answer = self._similar(item, k, include_out_of_stock)
        except BaseException:
            self.monitor.record("similar", perf_counter() - start, error=True)
            raise
        self.monitor.record("similar", perf_counter() - start, empty=len(answer) == 0, fallback=answer.reason)
        return answer

    def _similar(self, item: Any, k: int, include_out_of_stock: bool) -> ShopRecommendations:
        parts = self._parts
        k = check_k(k)
        position = parts.catalogue.position(item)
        if position < 0:
            raise UnknownIdError(f"product {item!r} is not in the catalogue")
        fast = self._plan_for(parts).similar(item, k, include_out_of_stock)
        if fast is not None:
            return ShopRecommendations._model_answer(fast[0], fast[1], "similar-items")
        exclude = None if include_out_of_stock else parts.catalogue.out_of_stock_ids()
        knn = parts.recommender
        recs: Optional[Recommendations] = None
        if knn._fitted().items.get(item) >= 0:
            recs = knn.similar_items(item, k, exclude=exclude)
        if recs is not None and len(recs):
            return ShopRecommendations(recs, "similar-items")
        category = str(parts.catalogue.categories[position])
        excluded = [item] if exclude is None else [item] + exclude.tolist()
        try:
            recs = parts.popular.recommend(None, k, exclude=excluded, category=category)
        except UnknownIdError:  # a category no shopper's product belongs to
            recs = parts.popular.recommend(None, k, exclude=excluded)
        return ShopRecommendations(recs, "popular-in-category", "no_history")

    def search(self, query: str, *, user: Any = None, k: int = 20, filters: Optional[Mapping[str, Any]] = None,
               facets: Optional[Sequence[str]] = None, include_out_of_stock: bool = False, **options: Any) -> Any:
        """Search the products (:meth:`shoprec.SearchIndex.search`): the shopper's words
        expanded by the keyword model, typos tolerated, filters and facets, ranked with the
        shopper's affinity. Out-of-stock products are left out unless ``include_out_of_stock``
        (or a filter on ``in_stock`` is given). An empty query gets popular products, marked
        in ``results.fallback``.

        Raises
        ------
        UnavailableError
            The shop has no search index (see :data:`shoprec.shop.search_part.NOT_AVAILABLE`).
        InvalidArgumentError
            A bad filter or facet.
        """
        with self.monitor.track("search") as call:
            parts = self._parts
            if parts.search is None:
                raise UnavailableError(search_part.NOT_AVAILABLE)
            if not isinstance(query, str):
                raise DTypeError(f"query must be a str, got {type(query).__name__}")
            if filters is not None and not isinstance(filters, Mapping):
                raise InvalidArgumentError(f"filters must be a dict of field to value, got {type(filters).__name__}")
            filters = dict(filters or {})
            if not include_out_of_stock and "in_stock" not in filters and "in_stock" in getattr(
                    parts.search, "filter_fields", {}):
                filters["in_stock"] = True
            results = parts.search.search(query, check_k(k), user=user, filters=filters or None,
                                          facets=list(facets) if facets else None, **options)
            call.fallback, call.empty = results.fallback, len(results) == 0
            return results

    @property
    def has_search(self) -> bool:
        return self._parts.search is not None

    # ================================================================== shoppers
    def segment_of(self, user: Any) -> int:
        """The shopper's interest segment (-1: new shoppers, and shoppers the shop never saw)."""
        with self.monitor.track("segment_of"):
            return self._parts.segments.segment_of(user)

    def describe_segment(self, segment: int, k: int = 5) -> Any:
        """What sets a segment apart (:meth:`shoprec.InterestSegments.describe`)."""
        return self._parts.segments.describe(segment, k)

    @property
    def n_segments(self) -> int:
        return self._parts.segments.n_segments

    def explain(self, user: Any, item: Any) -> Dict[str, Any]:
        """Why ``item`` is recommended to ``user``: for a shopper with history, the products of
        their history that lead to it (``because``: product, title and contribution to the
        score, largest first), and in a shop built from ratings the ``predicted_rating`` (the
        ItemKNN's, around the baseline); otherwise the segment whose popular products it is among.

        Raises
        ------
        UnknownIdError
            ``item`` is not a product of the catalogue.
        """
        with self.monitor.track("explain"):
            parts = self._parts
            if parts.catalogue.position(item) < 0:
                raise UnknownIdError(f"product {item!r} is not in the catalogue")
            state = parts.recommender._fitted()
            segment = parts.segments.segment_of(user)
            out: Dict[str, Any] = {"user": user, "item": parts.catalogue.describe(item), "segment": segment}
            index = state.users.get(user)
            if index >= 0 and state.history_counts[index] > 0 and state.items.get(item) >= 0:
                if parts.interactions.explicit:
                    # A shop of ratings: the rating the ItemKNN (with baselines) predicts.
                    out["predicted_rating"] = round(float(parts.recommender.predict(user, item)), 4)
                because = parts.recommender.explain(user, item)
                if because:
                    out["part"] = "itemknn"
                    out["because"] = [dict(parts.catalogue.describe(i), contribution=round(c, 4)) for i, c in because[:5]]
                    out["text"] = "because you looked at " + ", ".join(b["title"] for b in out["because"][:3])
                    return out
            out["part"] = "popular" if segment == NEW_SHOPPERS else "popular-in-segment"
            out["because"] = []
            out["text"] = ("popular with everyone" if segment == NEW_SHOPPERS
                           else f"popular with shoppers like you (segment {segment})")
            return out

    # ================================================================== catalogue and stock
    def product(self, item: Any) -> Dict[str, Any]:
        """The product as a dict (id, title, category, brand, price, in_stock)."""
        parts = self._parts
        if parts.catalogue.position(item) < 0:
            raise UnknownIdError(f"product {item!r} is not in the catalogue")
        return parts.catalogue.describe(item)

    def coupon(self, coupon: Any) -> Dict[str, Any]:
        parts = self._parts
        if parts.coupons is None:
            raise UnavailableError("this shop has no coupons")
        return parts.coupons.describe(coupon)

    def describe(self, answer: Any) -> List[Dict[str, Any]]:
        """The rows of an answer (recommendations, similar items, coupons or search results)
        as dicts with the product's (or coupon's) fields and the score."""
        parts = self._parts
        coupons = str(getattr(answer, "part", "")).startswith("coupons")
        lookup = parts.coupons.describe if coupons and parts.coupons is not None else parts.catalogue.describe
        return [dict(lookup(item), score=round(score, 5)) for item, score in answer]

    def user_id(self, text: Any) -> Any:
        """A shopper id typed in a URL or a shell (always a str) as this shop's ids are: an int
        when the shop's shoppers have integer ids (MovieLens), else unchanged."""
        return _coerce(text, self._parts.interactions.user_ids)

    def item_id(self, text: Any) -> Any:
        """A product id from a URL or a shell, as this shop's product ids are (see :meth:`user_id`)."""
        return _coerce(text, self._parts.catalogue.ids)

    def as_dict(self, answer: Any) -> Dict[str, Any]:
        """An answer as JSON-ready data: ``part``, ``source`` (``"model"`` or ``"fallback"``),
        ``reason`` and the described ``items``; for search results also ``total``,
        ``expansions`` and ``facets`` (``part`` is ``"search"``, ``reason`` the search's
        fallback)."""
        if isinstance(answer, ShopRecommendations):
            return {"part": answer.part, "source": answer.source, "reason": answer.reason,
                    "items": self.describe(answer)}
        reason = getattr(answer, "fallback", None)
        return {"part": "search", "source": "fallback" if reason else "model", "reason": reason,
                "items": self.describe(answer), "total": int(answer.total),
                "expansions": [[w, float(s)] for w, s in answer.expansions],
                "facets": {field: {str(v): int(n) for v, n in counts.items()} for field, counts in answer.facets.items()}}

    def set_stock(self, ids: Any, in_stock: Any = None, *, stock: Any = None) -> int:
        """Mark products in or out of stock (``in_stock=True/False``) or set their units
        (``stock=[...]``); takes effect for the next answer (search included). Returns how
        many of ``ids`` are products of the catalogue."""
        if (in_stock is None) == (stock is None):
            raise InvalidArgumentError("give either in_stock or stock")
        with self._swap_lock:
            parts = self._parts
            catalogue, positions = parts.catalogue.with_stock(ids, in_stock=in_stock, stock=stock)
            if parts.search is not None and len(positions):
                flags = catalogue.in_stock[positions]
                for flag in (True, False):
                    chosen = catalogue.ids[positions[flags == flag]]
                    if len(chosen):
                        parts.search.set_stock(chosen.tolist(), flag)
            self._parts = parts.replace(catalogue=catalogue)
            return int(len(positions))

    def restock_report(self, days: float = 7) -> List[Dict[str, Any]]:
        """Products whose stock runs out within ``days`` at their cleaned daily sales rate
        (outliers replaced, median-filtered), soonest first.

        Raises
        ------
        UnavailableError
            The shop was built without ``sales``.
        """
        parts = self._parts
        if parts.rates is None:
            raise UnavailableError("this shop was built without daily sales: build it with sales=")
        if isinstance(days, bool) or not isinstance(days, (int, float)) or not days >= 0:
            raise InvalidArgumentError(f"days must be a number >= 0, got {days!r}")
        return restock_rows(parts.catalogue, parts.rates, float(days))

    # ================================================================== evaluation, stats
    def evaluate(self) -> Dict[str, Any]:
        """The held-out evaluation of every model, computed at build time (protocol, sizes and
        ranking metrics per model; see :func:`shoprec.evaluate.ranking_metrics`; for a shop built
        from ratings also ``rating_accuracy``: RMSE and MAE of the ItemKNN and of the baseline)."""
        report = self._parts.reports.get("evaluation")
        if report is None:
            raise UnavailableError("this shop was built with evaluate=False")
        return report

    def stats(self) -> Dict[str, Any]:
        """Monitoring: calls, errors, empty answers, fallbacks and latency per method, and
        what the shop holds."""
        out = self.monitor.snapshot()
        build = self._parts.reports.get("build") or {}
        out["shop"] = {key: build.get(key) for key in ("built_at", "products", "shoppers", "interactions",
                                                       "segments", "search", "coupons")}
        out["shop"]["directory"] = None if self.directory is None else os.fspath(self.directory)
        out["shop"]["out_of_stock"] = int((~self._parts.catalogue.in_stock).sum())
        return out
