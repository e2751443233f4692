"""Product search: :class:`SearchIndex` (tantivy with the shop's own tokenizer, query
expansion, typos, filters, facets, personal ranking) and the :class:`SearchResults` it returns.

Example
-------
>>> index = shoprec.SearchIndex.build(products, keyword_model=keywords, recommender=model,
...                                   popularity="sales")
>>> results = index.search("running shoes", k=10, user="u42",
...                        filters={"price": (None, 100), "in_stock": True}, facets=["brand"])
>>> results[0], results.explain(0), results.facets["brand"]
"""

from __future__ import annotations

from .blend import DEFAULT_WEIGHTS, Weights
from .index import SearchIndex
from .results import FALLBACKS, SearchResults
from .tune import tune_weights

__all__ = ["SearchIndex", "SearchResults", "Weights", "DEFAULT_WEIGHTS", "FALLBACKS", "tune_weights"]
