"""Products and filters as the search engine's plain inputs: product rows read from a
DataFrame or records, ids encoded as text and back, the kind of each filter field, and
filter conditions checked and normalised (:class:`shoprec.SearchIndex` uses these)."""

from __future__ import annotations

import math
import numbers
from typing import Any, Dict, Iterable, List, Mapping, Optional, Tuple

import numpy as np

from ..errors import DTypeError, InvalidArgumentError

STOCK_FIELD = "in_stock"
_KINDS = ("str", "number", "bool")


# ------------------------------------------------------------------------------- ids
def _encode_id(value: Any) -> str:
    """Product ids cross to Rust as strings that remember their type: ``i:42``, ``s:abc``."""
    if type(value) is int:
        return f"i:{value}"
    if type(value) is str and value.isascii():
        return "s:" + value
    if isinstance(value, (bool, np.bool_)):
        raise DTypeError(f"a product id must be an int or a str, got {value!r}")
    if isinstance(value, numbers.Integral):
        return f"i:{int(value)}"
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise InvalidArgumentError(f"a product id cannot hold a lone surrogate, got {value[:40]!r}") from None
        return "s:" + value
    raise DTypeError(f"a product id must be an int or a str, got {type(value).__name__}")


def _decode_id(text: str) -> Any:
    return int(text[2:]) if text.startswith("i:") else text[2:]


# -------------------------------------------------------------------------- products
def _is_missing(value: Any) -> bool:
    if value is None:
        return True
    kind = type(value)
    if kind is str or kind is int or kind is bool:  # the common cases, without isinstance
        return False
    if isinstance(value, float) and math.isnan(value):
        return True
    return isinstance(value, np.floating) and bool(np.isnan(value))


def _records(products: Any, name: str = "products") -> List[Mapping[str, Any]]:
    """A DataFrame or an iterable of mappings as a list of mappings."""
    if hasattr(products, "to_dict") and hasattr(products, "columns"):
        columns = [str(c) for c in products.columns]
        repeated = sorted({c for c in columns if columns.count(c) > 1})
        if repeated:  # to_dict would keep one of them, silently
            raise InvalidArgumentError(f"{name} has repeated column names {repeated}")
        return list(products.to_dict("records"))
    if isinstance(products, Mapping):
        products = [products]
    if isinstance(products, (str, bytes)) or not isinstance(products, Iterable):
        raise DTypeError(f"{name} must be a DataFrame or a list of dicts, got {type(products).__name__}")
    records = list(products)
    for r in records:
        if type(r) is not dict and not isinstance(r, Mapping):
            raise DTypeError(f"{name} must be a DataFrame or a list of dicts, got an element of type {type(r).__name__}")
    return records


_PLAIN_KINDS = {str: "str", bool: "bool", int: "number"}


def _kind_of(value: Any) -> Optional[str]:
    plain = _PLAIN_KINDS.get(type(value))
    if plain is not None:
        return plain
    if value is None:
        return None
    if type(value) is float and value == value:
        return "number"
    if _is_missing(value):
        return None
    if isinstance(value, (bool, np.bool_)):
        return "bool"
    if isinstance(value, numbers.Real):
        return "number"
    if isinstance(value, str):
        return "str"
    if isinstance(value, (list, tuple, set, frozenset, np.ndarray)) and all(isinstance(v, str) for v in value):
        return "str"
    raise InvalidArgumentError(f"a filter value must be a str, a list of str, a number or a bool, got {value!r}")


def _filter_value(value: Any, kind: str, field: str) -> Any:
    plain = type(value)
    # The common cases first, as the general path below would read them.
    if kind == "str" and isinstance(value, str):
        return [value]
    if value is None:
        return None
    if plain is bool and kind == "bool":
        return value
    if (plain is int or (plain is float and value == value)) and kind == "number":
        return float(value)
    if _is_missing(value):
        return None
    found = _kind_of(value)
    if found != kind:
        raise InvalidArgumentError(f"filter field {field!r} holds {kind} values, got {value!r}")
    if kind == "bool":
        return bool(value)
    if kind == "number":
        return float(value)
    return [value] if isinstance(value, str) else sorted({str(v) for v in value})


def _text_value(value: Any) -> str:
    if type(value) is str:
        return value
    if _is_missing(value):
        return ""
    return value if isinstance(value, str) else str(value)


def _text_fields(text: Any) -> List[Tuple[str, float]]:
    if isinstance(text, str):
        text = (text,)
    if isinstance(text, Mapping):
        fields = [(str(k), float(v)) for k, v in text.items()]
    else:
        names = list(text)
        # The first field (the title) counts double unless weights are given.
        fields = [(str(n), 2.0 if i == 0 and len(names) > 1 else 1.0) for i, n in enumerate(names)]
    if not fields:
        raise InvalidArgumentError("text must name at least one field")
    for name, weight in fields:
        if not (math.isfinite(weight) and weight > 0):
            raise InvalidArgumentError(f"text field {name!r} needs a positive weight, got {weight}")
    return fields


def _filter_fields(filters: Any, records: List[Mapping[str, Any]]) -> List[Tuple[str, str]]:
    """Filter fields and their types: declared (``{"price": "number"}``) or read from the data.
    A field named without a type that no product has is left out."""
    if isinstance(filters, str):
        filters = (filters,)
    declared: Dict[str, Optional[str]] = (
        {str(k): v for k, v in filters.items()} if isinstance(filters, Mapping) else {str(n): None for n in filters}
    )
    out = []
    for name, kind in declared.items():
        if kind is not None:
            if kind not in _KINDS:
                raise InvalidArgumentError(f"filter field {name!r}: type must be one of {_KINDS}, got {kind!r}")
            out.append((name, kind))
            continue
        kinds = {k for r in records if (k := _kind_of(r.get(name))) is not None}
        if len(kinds) > 1:
            raise InvalidArgumentError(f"filter field {name!r} mixes value types {sorted(kinds)}")
        if kinds:
            out.append((name, kinds.pop()))
        elif name == STOCK_FIELD and any(name in r for r in records):
            out.append((name, "bool"))
    return out


# --------------------------------------------------------------------------- filters
def _condition(field: str, kind: str, value: Any) -> Tuple[str, str, Any]:
    def bad(why: str) -> InvalidArgumentError:
        return InvalidArgumentError(f"filter on {field!r} ({kind} field): {why}, got {value!r}")

    if kind == "bool":
        if not isinstance(value, (bool, np.bool_)):
            raise bad("needs True or False")
        return (field, "bool", bool(value))
    if kind == "str":
        values = [value] if isinstance(value, str) else value
        if not isinstance(values, (list, tuple, set, frozenset)) or not all(isinstance(v, str) for v in values):
            raise bad("needs a str or a list / set of str")
        # Read as the engine read the products' values: a lone surrogate becomes U+FFFD.
        return (field, "any", sorted({v if v.isascii() else v.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
                                      for v in values}))
    # number: a value, a (min, max) range with None for open, a {"min", "max"} dict, or a set.
    def number(x: Any, allow_none: bool = False) -> Optional[float]:
        if x is None and allow_none:
            return None
        if isinstance(x, (bool, np.bool_)) or not isinstance(x, numbers.Real) or math.isnan(float(x)):
            raise bad("needs numbers")
        return float(x)

    if isinstance(value, tuple):
        if len(value) != 2:
            raise bad("a range is a (min, max) tuple")
        return (field, "range", (number(value[0], True), number(value[1], True)))
    if isinstance(value, Mapping):
        unknown = set(value) - {"min", "max"}
        if unknown:
            raise bad(f"a range takes 'min' and 'max', not {sorted(unknown)}")
        return (field, "range", (number(value.get("min"), True), number(value.get("max"), True)))
    if isinstance(value, (list, set, frozenset)):
        return (field, "numbers", sorted({number(v) for v in value}))  # type: ignore[type-var]
    return (field, "numbers", [number(value)])
