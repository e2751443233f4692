"""Everything one built shop answers from (:class:`Parts`), and how it is saved as one
directory and mapped back.

A saved shop (``shoprec.io`` directory format, one checksummed manifest)::

    shop/
        manifest.json          type "Shop"; meta: versions, config, what was built from what,
                               the cleaning and evaluation reports, the part list
        tables.shoprec         catalogue columns, stock, sales rates, coupon tables
        interactions.shoprec   the cleaned interactions
        recommender.shoprec    ItemKNN with its Popular(within="segment") fallback and segments
        coupons.shoprec        the coupon ItemKNN (when coupons were given)
        keywords/...           the KeywordModel's files (when built)
        search/...             the SearchIndex's files (when built)

Each ``.shoprec`` file is the one-file model format: loading memory-maps it read-only, so
worker processes that load the same directory share its pages.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Dict, Optional, Tuple

import numpy as np

from ..errors import ModelFileError
from ..interactions import Interactions
from ..io import SavedDirectory, load_as, read_file
from ..io.file import encode
from ..models import ItemKNN, Popular
from ..segments import InterestSegments
from . import search_part
from .catalogue import Catalogue
from .config import ShopConfig
from .coupons import Coupons

__all__ = ["Parts", "SHOP_FORMAT_VERSION"]

SHOP_FORMAT_VERSION = 1
_TABLES = "ShopTables"


@dataclass(frozen=True)
class Parts:
    """The built parts of a shop. Never modified: a stock change, a refresh or a reload makes new
    Parts."""

    catalogue: Catalogue
    interactions: Interactions
    recommender: ItemKNN
    popular: Popular
    segments: InterestSegments
    keywords: Any
    search: Any
    coupons: Optional[Coupons]
    rates: Optional[np.ndarray]
    config: ShopConfig
    reports: Dict[str, Any]

    def replace(self, **changes: Any) -> "Parts":
        return dataclasses.replace(self, **changes)

    # ---------------------------------------------------------------- save
    def to_files(self) -> Tuple[Dict[str, Any], Dict[str, bytes]]:
        arrays: Dict[str, np.ndarray] = {f"catalogue_{k}": v for k, v in self.catalogue.arrays().items()}
        if self.rates is not None:
            arrays["rates"] = self.rates
        if self.coupons is not None:
            arrays.update(self.coupons.arrays())
        files: Dict[str, bytes] = {
            "tables.shoprec": encode(_TABLES, {"version": SHOP_FORMAT_VERSION}, arrays),
            "interactions.shoprec": _file_bytes(self.interactions),
            "recommender.shoprec": _file_bytes(self.recommender),
        }
        if self.coupons is not None and self.coupons.model is not None:
            files["coupons.shoprec"] = _file_bytes(self.coupons.model)
        keyword_meta = None
        if self.keywords is not None:
            keyword_meta, keyword_files = self.keywords._to_files()
            files.update({f"keywords/{name}": data for name, data in keyword_files.items()})
        if self.search is not None:
            files.update(search_part.to_files(self.search))
        from .. import __version__

        meta = {
            "shop_format_version": SHOP_FORMAT_VERSION,
            "shoprec_version": __version__,
            "config": self.config.to_dict(),
            "parts": {"keywords": keyword_meta is not None, "search": self.search is not None,
                      "coupons": self.coupons is not None, "coupon_model": "coupons.shoprec" in files,
                      "sales": self.rates is not None},
            "keywords_meta": keyword_meta,
            "reports": self.reports,
        }
        return meta, files

    # ---------------------------------------------------------------- load
    @classmethod
    def from_directory(cls, saved: SavedDirectory) -> "Parts":
        meta = saved.meta
        version = meta.get("shop_format_version")
        if not isinstance(version, int) or isinstance(version, bool):
            raise ModelFileError(f"{saved.root}: the shop's metadata has no shop_format_version")
        if version > SHOP_FORMAT_VERSION:
            from ..errors import ModelVersionError

            raise ModelVersionError(f"{saved.root}: shop format {version!r}; this shoprec reads up to "
                                    f"{SHOP_FORMAT_VERSION}: upgrade shoprec")
        # The manifest's sections are JSON objects (a list or a number there is a damaged or
        # hand-edited manifest whose checksum was made to match, not a shop).
        for section, optional in (("parts", False), ("config", False), ("reports", False), ("keywords_meta", True)):
            value = meta.get(section)
            if not isinstance(value, dict) and not (optional and value is None):
                raise ModelFileError(f"{saved.root}: the shop's metadata has no {section} object")
        for name in ("build", "evaluation", "refresh"):  # read by stats(), evaluate(), refresh()
            if not isinstance(meta["reports"].get(name), (dict, type(None))):
                raise ModelFileError(f"{saved.root}: the shop's reports have no {name} object")
        if not isinstance(meta["reports"].get("cleaning", []), list):
            raise ModelFileError(f"{saved.root}: the shop's reports have no cleaning list")
        parts = meta["parts"]
        # verify=False: read_directory already checked every file's checksum (or was told not to).
        type_name, _, arrays = read_file(saved.path("tables.shoprec"), verify=False)
        if type_name != _TABLES:
            raise ModelFileError(f"{saved.root}: tables.shoprec holds a {type_name}")
        catalogue = Catalogue.from_arrays({k[len("catalogue_"):]: v for k, v in arrays.items() if k.startswith("catalogue_")})
        interactions = load_as(Interactions, saved.path("interactions.shoprec"), verify=False)
        recommender = load_as(ItemKNN, saved.path("recommender.shoprec"), verify=False)
        popular = recommender.fallback
        if popular is None or popular.segments is None:
            raise ModelFileError(f"{saved.root}: the recommender has no popular-in-segment fallback")
        keywords = None
        if parts.get("keywords"):
            from ..keywords import KeywordModel

            names = [n[len("keywords/"):] for n in saved.files if n.startswith("keywords/")]
            keywords = KeywordModel._from_files(meta["keywords_meta"], {n: saved.read("keywords/" + n) for n in names})
        coupons = None
        if parts.get("coupons"):
            model = load_as(ItemKNN, saved.path("coupons.shoprec"), verify=False) if parts.get("coupon_model") else None
            coupons = Coupons.from_arrays(arrays, model)
        search = None
        if parts.get("search"):
            search = search_part.from_directory(saved.root, keyword_model=keywords, recommender=recommender,
                                                popularity=popular.segments)
        return cls(catalogue=catalogue, interactions=interactions, recommender=recommender, popular=popular,
                   segments=popular.segments, keywords=keywords, search=search, coupons=coupons,
                   rates=arrays.get("rates"), config=ShopConfig.of(_config(meta["config"])), reports=meta["reports"])


def _config(values: Dict[str, Any]) -> Dict[str, Any]:
    return {k: (tuple(v) if k in ("text", "filters") else v) for k, v in values.items()}


def _file_bytes(obj: Any) -> bytes:
    from ..io.registry import _type_name

    params, arrays = obj._to_state()
    return encode(_type_name(obj), params, arrays)
