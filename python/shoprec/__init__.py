"""shoprec: search, query expansion and recommendations for online shops, in-process on CPU.

The hot paths run in a Rust core (``shoprec._core``) with the GIL released; this package is
the Python face of it.
"""

from __future__ import annotations

from . import clean, evaluate, kernels, tune
from ._persist import load
from .interactions import Interactions
from .keywords import KeywordModel
from .models import Baseline, ItemKNN, Popular, Recommendations, UserKNN
from .segments import NEW_SHOPPERS, InterestSegments, choose_n_segments
from .search import SearchIndex, SearchResults
from .text import tokenize
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
    UnknownIdError,
)

__all__ = [
    "__version__",
    "kernels",
    "evaluate",
    "tune",
    "clean",
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
]
