"""Tokenizing shop text: the same rules for building keyword models and for querying them."""

from __future__ import annotations

from typing import Any, List

from . import _core
from .errors import DTypeError, InvalidArgumentError

__all__ = ["tokenize"]


def check_text(text: Any, name: str = "text") -> str:
    """``text`` if it is a str of valid Unicode: a lone surrogate (``"\\udcff"``, what
    ``errors="surrogateescape"`` leaves of undecodable bytes) cannot become UTF-8 and is
    refused with :class:`InvalidArgumentError` naming ``name``."""
    if not isinstance(text, str):
        raise DTypeError(f"{name} must be a str, got {type(text).__name__}")
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise InvalidArgumentError(
                f"{name} contains a lone surrogate {text[exc.start]!r} at position {exc.start}: not valid "
                "Unicode text (decode bytes with errors='replace')"
            ) from None
    return text


def tokenize(text: str) -> List[str]:
    """Split shop text into the terms keyword models are built from.

    Chinese is segmented with jieba-rs (its embedded dictionary, no HMM); Han runs it cannot
    group become character bigrams. Latin words and digits are lower-cased, and ``-``, ``.``,
    ``+``, ``_``, ``/`` stay inside a token between two letters or digits, so model numbers such
    as ``"i5-1340p"`` stay whole. Full-width ASCII is read as ASCII. Whitespace, punctuation,
    emoji and control characters only separate tokens.

    Parameters
    ----------
    text : str
        Any text; there is no length limit here (``KeywordModel.expand`` truncates queries).

    Returns
    -------
    list of str
        The tokens in order of appearance, repeats kept.

    Raises
    ------
    DTypeError
        If ``text`` is not a ``str``.
    InvalidArgumentError
        If ``text`` holds a lone surrogate (not valid Unicode).
    """
    return _core.tokenize(check_text(text))
