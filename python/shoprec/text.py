"""Tokenizing shop text: the same rules for building keyword models and for querying them."""

from __future__ import annotations

from typing import Any, List

from . import _core
from .errors import DTypeError

__all__ = ["tokenize"]


def check_text(text: Any, name: str = "text") -> str:
    if not isinstance(text, str):
        raise DTypeError(f"{name} must be a str, got {type(text).__name__}")
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
    """
    return _core.tokenize(check_text(text))
