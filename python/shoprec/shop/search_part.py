"""The Shop's search part: a :class:`shoprec.SearchIndex` when shoprec has its search
extension, else nothing (and :meth:`Shop.search` says search is not available).

Everything the Shop needs from search goes through these four functions, so the rest of the
Shop does not depend on how the index is built or stored.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Dict

from ..errors import UnavailableError
from ..io import scratch_directory

try:  # the search extension (shoprec.search) may be absent from this build
    from ..search import SearchIndex
except ImportError:  # pragma: no cover - depends on the build
    SearchIndex = None

__all__ = ["available", "build", "to_files", "from_directory", "NOT_AVAILABLE"]

NOT_AVAILABLE = ("search is not available in this shop: this shoprec was installed without its search "
                 "extension (shoprec.SearchIndex), or the shop was built with search=False")
PREFIX = "search/"


def available() -> bool:
    """Whether this shoprec can build and open search indexes (the Python face and the Rust
    engine: a build without the extension has neither)."""
    from .. import _core

    return SearchIndex is not None and hasattr(_core, "SearchEngine")


def build(products: Any, *, id_column: str, text: Any, filters: Any, keyword_model: Any, recommender: Any,
          popularity: Any, num_threads: int) -> Any:
    if not available():
        raise UnavailableError(NOT_AVAILABLE)
    text = [c for c in text if c in products.columns]
    filters = [c for c in filters if c in products.columns]
    return SearchIndex.build(products, id=id_column, text=tuple(text), filters=tuple(filters),
                             keyword_model=keyword_model, recommender=recommender, popularity=popularity,
                             num_threads=num_threads)


def to_files(index: Any) -> Dict[str, bytes]:
    """The index's saved files, named under ``search/``."""
    with scratch_directory() as staging:
        target = staging / "index"
        index.save(target)
        files = {}
        for path in sorted(target.rglob("*")):
            if path.is_file():
                files[PREFIX + path.relative_to(target).as_posix()] = path.read_bytes()
        return files


def from_directory(root: Path, *, keyword_model: Any, recommender: Any, popularity: Any) -> Any:
    if not available():
        raise UnavailableError(NOT_AVAILABLE + f" (the shop at {os.fspath(root)} has an index, but it cannot be opened)")
    return SearchIndex.load(root / PREFIX.rstrip("/"), keyword_model=keyword_model, recommender=recommender,
                            popularity=popularity)
