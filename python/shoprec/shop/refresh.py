"""Real-time updates of a Shop: the buffer behind :meth:`shoprec.Shop.record_event` and the
new :class:`Parts` behind :meth:`shoprec.Shop.refresh`.

A refresh builds the new events into an :class:`shoprec.Interactions` exactly as
:meth:`shoprec.Shop.build` does (``Interactions.from_pandas`` with the shop's columns and
event weights), and applies them with the models' ``update``: ``ItemKNN.update`` (which
updates its ``Popular(within="segment")`` fallback, with the categories of products that get
their first events, and the fallback's :class:`shoprec.InterestSegments`, centres kept),
``Interactions.merge`` for the shop's interactions. Each equals a refit on all the events.

What a refresh does not do (a rebuild does): it does not re-run the cleaning (double clicks,
bot-like shoppers) over the new events, and it does not re-evaluate. Events naming a product
that is not in the catalogue are left out and counted (``ignored_unknown_products``): a
product must be in the catalogue to be shown, as at build.

Stock: each new ``purchase`` event takes one unit off a product whose stock is known (a
catalogue with a ``stock`` column); a product reaching 0 goes out of stock, in the catalogue
and in the search index. Products without a known stock are not changed.

The search index gets the new popularity (products' reach over all shoppers, and within
segments) and the new recommender (personal ranking) on a copy of its engine
(:meth:`shoprec.SearchIndex.copy`), so the index the old parts answer from is never written to.
"""

from __future__ import annotations

import threading
import time
from typing import Any, Dict, List, Tuple

import numpy as np

from .._ids import IdMap
from ..errors import DTypeError, InvalidArgumentError
from ..interactions import Interactions
from .parts import Parts

__all__ = ["EventBuffer", "refreshed_parts", "PURCHASE"]

#: The event that takes a unit off a product's stock.
PURCHASE = "purchase"

Event = Tuple[Any, Any, Any, Any]


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def _seconds(timestamp: Any) -> int:
    """A timestamp as whole seconds since the epoch, as ``Interactions`` stores them."""
    if isinstance(timestamp, (bool, np.bool_)):
        raise DTypeError(f"timestamp must be a number of seconds or a datetime, got {timestamp!r}")
    if isinstance(timestamp, (int, np.integer)):
        return int(timestamp)
    if isinstance(timestamp, (float, np.floating)):
        if not np.isfinite(timestamp):
            raise InvalidArgumentError(f"timestamp must be finite, got {timestamp!r}")
        return int(timestamp)
    import pandas as pd

    try:
        stamp = pd.Timestamp(timestamp)
    except (TypeError, ValueError):
        raise DTypeError(f"timestamp must be a number of seconds or a datetime, got {timestamp!r}") from None
    if stamp is pd.NaT:
        raise InvalidArgumentError("timestamp is missing (NaT)")
    if stamp.tzinfo is not None:
        stamp = stamp.tz_convert("UTC").tz_localize(None)
    return int(np.datetime64(stamp.to_datetime64(), "s").astype(np.int64))


def _check_id(value: Any, ids: np.ndarray, what: str) -> Any:
    value = _plain(value)
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise DTypeError(f"a {what} id must be an int or a str, got {type(value).__name__}")
    if len(ids) and (ids.dtype.kind in "iu") != isinstance(value, int):
        kind = "int" if ids.dtype.kind in "iu" else "str"
        raise DTypeError(f"this shop's {what} ids are {kind}s, got {value!r}")
    return value


class EventBuffer:
    """Events waiting for the next refresh, appended and taken under one lock."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._events: List[Event] = []

    def add(self, event: Event) -> None:
        with self._lock:
            self._events.append(event)

    def extend(self, events: List[Event]) -> None:
        with self._lock:
            self._events.extend(events)

    def take(self) -> List[Event]:
        with self._lock:
            events, self._events = self._events, []
        return events

    def put_back(self, events: List[Event]) -> None:
        """Return events a failed refresh took, ahead of those recorded since."""
        with self._lock:
            self._events[:0] = events

    def __len__(self) -> int:
        with self._lock:
            return len(self._events)


def check_event(parts: Parts, user: Any, item: Any, event: Any, timestamp: Any) -> Event:
    """One event as the buffer keeps it, or a clear error (nothing is recorded then)."""
    config = parts.config
    user = _check_id(user, parts.interactions.user_ids, "shopper")
    item = _check_id(item, parts.catalogue.ids, "product")
    if config.rating is not None:
        if isinstance(event, (bool, np.bool_)) or not isinstance(event, (int, float, np.number)) \
                or not np.isfinite(float(event)):
            raise InvalidArgumentError(f"this shop learns from ratings: event must be the rating (a number), got {event!r}")
        event = float(event)
    elif config.event is not None:
        if event not in config.event_weights:
            raise InvalidArgumentError(f"unknown event {event!r}; this shop weighs {sorted(config.event_weights)}")
    if parts.interactions.timestamps is not None:
        timestamp = int(time.time()) if timestamp is None else _seconds(timestamp)
    else:
        timestamp = None
    return (user, item, event, timestamp)


def _new_interactions(parts: Parts, events: List[Event]) -> Interactions:
    """The events as Shop.build turns its events table into interactions."""
    import pandas as pd

    config = parts.config
    columns: Dict[str, Any] = {config.user: [e[0] for e in events], config.item: [e[1] for e in events]}
    value_column = config.rating if config.rating is not None else config.event
    if value_column is not None:
        columns[value_column] = [e[2] for e in events]
    timestamp = config.timestamp if parts.interactions.timestamps is not None else None
    if timestamp is not None:
        columns[timestamp] = np.array([e[3] for e in events], dtype=np.int64)
    frame = pd.DataFrame(columns)
    return Interactions.from_pandas(frame, user=config.user, item=config.item, rating=config.rating,
                                    event=config.event if config.rating is None else None,
                                    timestamp=timestamp, weights=dict(config.event_weights))


def _catalogue_after_purchases(parts: Parts, events: List[Event]) -> Tuple[Any, np.ndarray]:
    """The catalogue with one unit off per purchase (known stock only), and the positions of
    the products that went out of stock."""
    catalogue = parts.catalogue
    if parts.config.rating is not None or parts.config.event is None:
        return catalogue, np.zeros(0, np.int64)
    bought = [e[1] for e in events if e[2] == PURCHASE]
    if not bought:
        return catalogue, np.zeros(0, np.int64)
    positions = catalogue.id_map.indices(bought, "ids")
    units = np.bincount(positions[positions >= 0], minlength=len(catalogue.ids))
    hit = np.flatnonzero((units > 0) & (catalogue.stock >= 0))
    if len(hit) == 0:
        return catalogue, np.zeros(0, np.int64)
    left = np.maximum(catalogue.stock[hit] - units[hit], 0).astype(np.int64)
    updated, _ = catalogue.with_stock(catalogue.ids[hit].tolist(), stock=left)
    gone = hit[(left == 0) & catalogue.in_stock[hit]]
    return updated, gone


def refreshed_parts(parts: Parts, events: List[Event]) -> Tuple[Parts, Dict[str, Any]]:
    """New parts with ``events`` applied (``parts`` is not modified), and the refresh report."""
    started = time.time()
    known = [e for e in events if parts.catalogue.position(e[1]) >= 0]
    report: Dict[str, Any] = {"events": len(events), "applied": len(known),
                              "ignored_unknown_products": len(events) - len(known),
                              "new_shoppers": 0, "new_products": 0, "out_of_stock": 0, "seconds": 0.0}
    if not known:
        report["seconds"] = round(time.time() - started, 3)
        return parts, report
    new = _new_interactions(parts, known)
    old_users, old_items = IdMap(parts.interactions.user_ids), IdMap(parts.interactions.item_ids)
    new_users = [u for u in new.user_ids.tolist() if old_users.get(u) < 0]
    new_items = [i for i in new.item_ids.tolist() if old_items.get(i) < 0]
    categories = {i: str(parts.catalogue.categories[parts.catalogue.position(i)]) for i in new_items}
    recommender = parts.recommender.update(new, categories=categories)
    popular = recommender.fallback
    if popular is None:  # a Shop's ItemKNN always has its popular-in-segment fallback (Parts.from_directory)
        raise InvalidArgumentError("the shop's recommender has no popular-in-segment fallback: rebuild the shop")
    interactions = parts.interactions.merge(new)
    catalogue, gone = _catalogue_after_purchases(parts, known)
    search = parts.search
    if search is not None:
        search = search.copy(recommender=recommender, popularity=popular.segments,
                             num_threads=parts.config.num_threads)
        search.refresh_popularity()
        if len(gone) and "in_stock" in search.filter_fields:
            search.set_stock(catalogue.ids[gone].tolist(), False)
    report.update(new_shoppers=len(new_users), new_products=len(new_items), out_of_stock=int(len(gone)))
    build = dict(parts.reports.get("build") or {})
    build.update(shoppers=int(interactions.n_users), interactions=len(interactions))
    refreshes = dict(parts.reports.get("refresh") or {"count": 0, "events": 0})
    refreshes.update(count=refreshes["count"] + 1, events=refreshes["events"] + len(known),
                     last_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
    reports = dict(parts.reports, build=build, refresh=refreshes)
    report["seconds"] = round(time.time() - started, 3)
    return parts.replace(catalogue=catalogue, interactions=interactions, recommender=recommender, popular=popular,
                         segments=popular.segments, search=search, reports=reports), report
