"""The products a shop sells, as columns: ids, titles, categories, brands, prices and stock.

Filters (the same spelling as :meth:`shoprec.SearchIndex.search`): ``{field: value}``, all
must hold. ``category`` and ``brand`` take a str or a list / set of str; ``price`` a number,
a ``(min, max)`` tuple (inclusive, None for open) or ``{"min": .., "max": ..}``; ``in_stock``
True or False. Stock changes (:meth:`Catalogue.with_stock`) make a new catalogue: one being
read is never modified.
"""

from __future__ import annotations

import numbers
from typing import Any, Dict, Mapping, Optional, Tuple

import numpy as np

from .._ids import IdMap, _as_id_array, filter_ids
from ..errors import DTypeError, InvalidArgumentError

__all__ = ["Catalogue", "FILTER_FIELDS"]

FILTER_FIELDS = ("category", "brand", "price", "in_stock")


def _column(products: Any, name: Optional[str], n: int, default: Any, dtype: Any) -> np.ndarray:
    if name is None or name not in products.columns:
        return np.full(n, default, dtype=dtype)
    column = products[name]
    if dtype is object:
        return np.asarray(column.astype(object).where(column.notna(), default).astype(str).to_numpy(), dtype=object)
    try:
        return column.to_numpy(dtype=dtype, na_value=default)
    except (TypeError, ValueError):
        raise DTypeError(f"product column {name!r} must hold numbers") from None


def _number(value: Any, what: str) -> Optional[float]:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not np.isfinite(float(value)):
        raise InvalidArgumentError(f"{what} must be a finite number, got {value!r}")
    return float(value)


class Catalogue:
    """Columns of the product table, by position (``ids[i]`` is product ``i``)."""

    def __init__(self, ids: np.ndarray, titles: np.ndarray, categories: np.ndarray, brands: np.ndarray,
                 prices: np.ndarray, stock: np.ndarray, in_stock: np.ndarray) -> None:
        self.ids = ids
        self.titles = titles
        self.categories = categories
        self.brands = brands
        self.prices = prices
        self.stock = stock
        self.in_stock = in_stock
        self.id_map = IdMap(ids)
        for array in (titles, categories, brands, prices, stock, in_stock):
            array.setflags(write=False)

    @classmethod
    def from_products(cls, products: Any, id_column: str, title_column: str) -> "Catalogue":
        if not hasattr(products, "columns"):
            raise DTypeError(f"products must be a pandas DataFrame, got {type(products).__name__}")
        for role, column in (("id", id_column), ("title", title_column)):
            if column not in products.columns:
                raise InvalidArgumentError(f"products have no {role} column {column!r}; columns: {list(products.columns)}")
        if products[id_column].isna().any():
            raise InvalidArgumentError(f"product id column {id_column!r} has missing values")
        if not products[id_column].is_unique:
            dup = products[id_column][products[id_column].duplicated()].iloc[0]
            raise InvalidArgumentError(f"product ids must be unique; {dup!r} is repeated")
        n = len(products)
        if n == 0:
            raise InvalidArgumentError("products is empty")
        ids = _as_id_array(products[id_column].to_numpy(), "products")
        stock = _column(products, "stock", n, -1, np.int64)
        if "in_stock" in products.columns:
            in_stock = products["in_stock"].fillna(True).to_numpy(dtype=bool)
        else:
            in_stock = stock != 0
        return cls(ids, _column(products, title_column, n, "", object), _column(products, "category", n, "", object),
                   _column(products, "brand", n, "", object), _column(products, "price", n, np.nan, np.float64),
                   stock, in_stock)

    def __len__(self) -> int:
        return len(self.ids)

    # -------------------------------------------------------------------- lookups
    def position(self, item: Any) -> int:
        """The position of a product, -1 if unknown."""
        try:
            return self.id_map.get(item)
        except DTypeError:
            return -1

    def describe(self, item: Any) -> Dict[str, Any]:
        """The product's row as a JSON-ready dict (id, title, category, brand, price, in_stock)."""
        i = self.position(item)
        if i < 0:
            return {"id": item}
        price = float(self.prices[i])
        return {
            "id": self.ids[i].item() if isinstance(self.ids[i], np.generic) else self.ids[i],
            "title": str(self.titles[i]), "category": str(self.categories[i]), "brand": str(self.brands[i]),
            "price": None if np.isnan(price) else price, "in_stock": bool(self.in_stock[i]),
        }

    def out_of_stock_ids(self) -> np.ndarray:
        return self.ids[~self.in_stock]

    # -------------------------------------------------------------------- filters
    def mask(self, filters: Optional[Mapping[str, Any]]) -> Optional[np.ndarray]:
        """The products passing ``filters`` (None: no filter)."""
        if filters is None:
            return None
        if not isinstance(filters, Mapping):
            raise DTypeError(f"filters must be a dict, got {type(filters).__name__}")
        keep = np.ones(len(self), bool)
        for field, value in filters.items():
            if field in ("category", "brand"):
                column = self.categories if field == "category" else self.brands
                values = [value] if isinstance(value, str) else value
                if not isinstance(values, (list, tuple, set, frozenset)) or not all(isinstance(v, str) for v in values):
                    raise InvalidArgumentError(f"filter {field!r} takes a str or a list of str, got {value!r}")
                keep &= np.isin(column, np.array(list(values), dtype=object))
            elif field == "price":
                low, high = self._range(value)
                with np.errstate(invalid="ignore"):
                    if low is not None:
                        keep &= self.prices >= low
                    if high is not None:
                        keep &= self.prices <= high
            elif field == "in_stock":
                if not isinstance(value, (bool, np.bool_)):
                    raise InvalidArgumentError(f"filter 'in_stock' takes True or False, got {value!r}")
                keep &= self.in_stock == bool(value)
            else:
                raise InvalidArgumentError(f"unknown filter field {field!r}; filters are {list(FILTER_FIELDS)}")
        return keep

    @staticmethod
    def _range(value: Any) -> Tuple[Optional[float], Optional[float]]:
        if isinstance(value, Mapping):
            unknown = set(value) - {"min", "max"}
            if unknown:
                raise InvalidArgumentError(f"a price range takes 'min' and 'max', got {sorted(unknown)}")
            return _number(value.get("min"), "price min"), _number(value.get("max"), "price max")
        if isinstance(value, (tuple, list)):
            if len(value) != 2:
                raise InvalidArgumentError(f"a price range is (min, max), got {value!r}")
            return _number(value[0], "price min"), _number(value[1], "price max")
        exact = _number(value, "price")
        return exact, exact

    # -------------------------------------------------------------------- stock
    def with_stock(self, ids: Any, in_stock: Any = None, stock: Any = None) -> Tuple["Catalogue", np.ndarray]:
        """A copy with the stock of ``ids`` changed: a flag ``in_stock`` (bool) or quantities
        ``stock`` (ints; 0 means out of stock). Returns the copy and the known positions."""
        ids_list = list(filter_ids(ids, "ids"))  # one id, a sequence or a generator (read once)
        positions = self.id_map.indices(ids_list, "ids")
        known = positions >= 0
        new_stock = self.stock.copy()
        new_flags = self.in_stock.copy()
        if stock is not None:
            quantities = np.asarray(stock).reshape(-1)
            if quantities.shape != (len(ids_list),) and quantities.shape != (1,):
                raise InvalidArgumentError(f"{len(quantities)} stock values for {len(ids_list)} ids")
            if quantities.dtype.kind not in "iu" or (quantities < 0).any():
                raise InvalidArgumentError("stock must be non-negative integers")
            quantities = np.broadcast_to(quantities, (len(ids_list),))
            new_stock[positions[known]] = quantities[known]
            new_flags[positions[known]] = quantities[known] > 0
        else:
            if not isinstance(in_stock, (bool, np.bool_)):
                raise InvalidArgumentError(f"in_stock must be True or False, got {in_stock!r}")
            new_flags[positions[known]] = bool(in_stock)
            if not in_stock:
                new_stock[positions[known]] = np.where(new_stock[positions[known]] < 0, -1, 0)
        return Catalogue(self.ids, self.titles, self.categories, self.brands, self.prices, new_stock, new_flags), \
            positions[known]

    # -------------------------------------------------------------------- persistence
    def arrays(self) -> Dict[str, np.ndarray]:
        return {"ids": self.ids, "titles": self.titles, "categories": self.categories, "brands": self.brands,
                "prices": self.prices, "stock": self.stock, "in_stock": self.in_stock}

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, np.ndarray]) -> "Catalogue":
        def strings(name: str) -> np.ndarray:
            return np.asarray(arrays[name], dtype=object)

        return cls(arrays["ids"], strings("titles"), strings("categories"), strings("brands"),
                   np.asarray(arrays["prices"], np.float64), np.asarray(arrays["stock"], np.int64),
                   np.asarray(arrays["in_stock"], bool))
