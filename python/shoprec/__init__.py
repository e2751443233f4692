"""shoprec: search, query expansion and recommendations for online shops, in-process on CPU.

The hot paths run in a Rust core (``shoprec._core``) with the GIL released; this package is
the Python face of it.
"""

from __future__ import annotations

from . import kernels
from ._persist import load
from .interactions import Interactions
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
    "Interactions",
    "load",
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
