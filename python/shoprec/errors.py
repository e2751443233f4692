"""Exceptions raised by shoprec.

Every error shoprec raises is a :class:`ShoprecError`. Each subclass also derives from the
builtin a Python user would expect (``ValueError``, ``TypeError``, ``KeyError``, ...), so
``except ValueError`` keeps working in code that does not know shoprec.
"""

from __future__ import annotations

__all__ = [
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


class ShoprecError(Exception):
    """Base class of every exception shoprec raises."""


class InvalidArgumentError(ShoprecError, ValueError):
    """An argument has a value shoprec cannot work with (NaN, out-of-range id, even window...)."""


class ShapeMismatchError(ShoprecError, ValueError):
    """Two arguments disagree on a shape or length."""


class DTypeError(ShoprecError, TypeError):
    """An array has a dtype or a number of dimensions shoprec cannot use."""


class UnknownIdError(ShoprecError, KeyError):
    """A user or item id that the model has never seen, where one is required."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class NotFittedError(ShoprecError, RuntimeError):
    """A model method was called before ``fit``."""


class ModelFileError(ShoprecError, ValueError):
    """A saved file is truncated, corrupted, or was not written by shoprec."""


class ModelVersionError(ModelFileError):
    """A saved file was written by a newer shoprec, in a format this version cannot read."""


class InternalError(ShoprecError, RuntimeError):
    """A bug in shoprec (a Rust panic caught at the boundary). Please report it."""


class UnavailableError(ShoprecError, RuntimeError):
    """A part that this shop was built or installed without was asked for (e.g. search when
    shoprec's search extension is not installed, or coupons when none were given to build)."""
