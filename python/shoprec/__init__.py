"""shoprec: search, query expansion and recommendations for online shops, in-process on CPU.

The hot paths run in a Rust core (``shoprec._core``) with the GIL released; this package is
the Python face of it. Data flows one way through its modules, and a lower one never imports
a higher one:

``errors``, ``_validate``, ``_ids``, ``recommendations`` -> ``io`` -> ``kernels``, ``text`` ->
``interactions`` -> ``segments``, ``clean``, ``keywords`` -> ``models`` -> ``rerank``,
``evaluate``, ``tune``, ``search``, ``distributed`` -> ``shop`` -> ``cli``, ``demo``.
``distributed`` (Dask) is imported on demand: ``from shoprec import distributed``.

Importing this package imports every class that can be saved, so :func:`load` knows them all.
"""

from __future__ import annotations

from . import clean, datasets, evaluate, kernels, rerank, tune
from ._core import __version__
from .errors import (
    DTypeError,
    InternalError,
    InvalidArgumentError,
    ModelFileError,
    ModelVersionError,
    NotFittedError,
    ShapeMismatchError,
    ShoprecError,
    UnavailableError,
    UnknownIdError,
)
from .interactions import Interactions
from .io import load
from .keywords import KeywordModel
from .models import Baseline, ItemKNN, Popular, UserKNN
from .recommendations import Recommendations
from .search import SearchIndex, SearchResults
from .segments import NEW_SHOPPERS, InterestSegments, choose_n_segments
from .shop import Shop, ShopConfig
from .text import tokenize

__all__ = [
    "__version__",
    "kernels",
    "evaluate",
    "tune",
    "clean",
    "datasets",
    "Shop",
    "ShopConfig",
    "rerank",
    "InterestSegments",
    "choose_n_segments",
    "NEW_SHOPPERS",
    "Interactions",
    "ItemKNN",
    "UserKNN",
    "Baseline",
    "Popular",
    "Recommendations",
    "SearchIndex",
    "SearchResults",
    "load",
    "tokenize",
    "KeywordModel",
    "ShoprecError",
    "InvalidArgumentError",
    "ShapeMismatchError",
    "DTypeError",
    "UnknownIdError",
    "NotFittedError",
    "ModelFileError",
    "ModelVersionError",
    "InternalError",
    "UnavailableError",
]
