"""Prometheus metrics of a Shop (``prometheus_client``), for a web app's ``/metrics``.

``ShopCollector(get_shop)`` reads :meth:`Shop.stats` at every scrape and exposes
``shoprec_calls_total``, ``shoprec_errors_total``, ``shoprec_empty_total`` and
``shoprec_fallbacks_total`` (labelled by method, and reason), the latency histogram
``shoprec_latency_seconds`` per method, and ``shoprec_products`` / ``shoprec_out_of_stock``.
"""

from __future__ import annotations

from typing import Any, Callable, Iterator

__all__ = ["ShopCollector", "metrics_text"]


class ShopCollector:
    """A prometheus_client collector over a Shop's monitor."""

    def __init__(self, get_shop: Callable[[], Any]) -> None:
        self.get_shop = get_shop

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily

        stats = self.get_shop().stats()
        calls = CounterMetricFamily("shoprec_calls", "Shop calls", labels=["method"])
        errors = CounterMetricFamily("shoprec_errors", "Shop calls that raised", labels=["method"])
        empty = CounterMetricFamily("shoprec_empty", "Shop calls that answered nothing", labels=["method"])
        fallbacks = CounterMetricFamily("shoprec_fallbacks", "Answers from a fallback", labels=["method", "reason"])
        latency = HistogramMetricFamily("shoprec_latency_seconds", "Shop call latency", labels=["method"])
        for method, m in stats["methods"].items():
            calls.add_metric([method], m["calls"])
            errors.add_metric([method], m["errors"])
            empty.add_metric([method], m["empty"])
            for reason, count in m["fallbacks"].items():
                fallbacks.add_metric([method, reason], count)
            buckets = [("+Inf" if bound == float("inf") else repr(bound), count) for bound, count in m["latency_buckets"]]
            latency.add_metric([method], buckets, m["seconds_total"])
        products = GaugeMetricFamily("shoprec_products", "Products in the catalogue")
        products.add_metric([], stats["shop"].get("products") or 0)
        out = GaugeMetricFamily("shoprec_out_of_stock", "Products out of stock")
        out.add_metric([], stats["shop"]["out_of_stock"])
        yield from (calls, errors, empty, fallbacks, latency, products, out)


def metrics_text(get_shop: Callable[[], Any]) -> bytes:
    """The Prometheus text exposition of one shop (a fresh registry, so several apps or tests
    in one process do not collide)."""
    from prometheus_client import CollectorRegistry, generate_latest

    registry = CollectorRegistry()
    registry.register(ShopCollector(get_shop))
    return generate_latest(registry)
