"""``shoprec.SearchIndex``: product search on tantivy with the shop's own tokenizer, query
expansion from a :class:`shoprec.KeywordModel`, typo tolerance, filters, facets, and a ranking
that knows the shopper.

The index itself (BM25, typos, filters, facet counts, live writes) is the Rust crate
``shoprec-search``; this module turns products and filters into its plain inputs, expands the
query, and re-ranks the best candidates (see :mod:`shoprec.search.blend`).
"""

from __future__ import annotations

import math
import numbers
import os
import threading
from itertools import repeat
from pathlib import Path
from typing import Any, Dict, Hashable, List, Mapping, Optional, Sequence, Tuple

import numpy as np

from .. import _core
from .._ids import filter_ids
from .._validate import K_LIMIT, check_float, check_int, check_k, check_num_threads, check_path
from ..errors import DTypeError, InternalError, InvalidArgumentError, ModelFileError, ModelVersionError, UnknownIdError
from ..io import SavedDirectory, read_directory, register, scratch_directory
from ..io import PathLike
from ..io import save as io_save
from .blend import DEFAULT_WEIGHTS, Weights, rank
from .products import (
    STOCK_FIELD,
    _encode_id, _decode_id, _is_missing, _records, _filter_value, _text_value, _text_fields, _filter_fields, _condition,
)
from .results import SearchResults

__all__ = ["SearchIndex"]

FORMAT = "shoprec-search-index"
FORMAT_VERSION = 1


_KEEP: Any = object()  # SearchIndex.copy: keep this attachment

# Positions in the engine's answer: (ids, text, expansion, popularity, total, facets, words,
# corrections, expansions_used, browsed).
_TOTAL, _WORDS = 4, 6

# Guards the swap of a forked child's engine for its own copy (SearchIndex._writable); a new
# lock in every child, as the parent's may have been held by another thread at fork().
_FORK_LOCK = threading.Lock()


def _new_fork_lock() -> None:
    global _FORK_LOCK
    _FORK_LOCK = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_new_fork_lock)


@register("SearchIndex")
class SearchIndex:
    """Product search for one shop: BM25 over the shop's own tokenizer, typo tolerance, query
    expansion, filters and facets, and a ranking that blends text relevance with the shopper's
    affinity and popularity.

    Build one with :meth:`build`; change products with :meth:`add`, :meth:`update`,
    :meth:`delete` and :meth:`set_stock` (visible to the next search, no rebuild); keep it
    with :meth:`save` and :meth:`load`. An index is safe to share between threads: searches run
    in Rust with the GIL released, concurrently with each other and with writes.

    Attributes
    ----------
    weights : Weights
        The blend's weights (:data:`shoprec.search.DEFAULT_WEIGHTS` unless changed).
    keyword_model, recommender, popularity
        What was attached at :meth:`build` (or :meth:`load`).
    RESULT_CACHE_MB : float
        How much memory the index may spend remembering the engine's answers (the matches
        before the shopper's personal ranking) between two writes; 0 remembers none. A search
        asked again with the same words, filters, facets, expansions and page gets the
        remembered matches, which are the matches it would get: a write (:meth:`add`,
        :meth:`update`, :meth:`delete`, :meth:`set_stock`) starts afresh. When half of it is
        full, what was not asked again since the last time is forgotten. An answer takes about
        7 KB for the usual 100 candidates, so the default 32 MB holds about 4,500; one over a
        32nd of the budget (a long page, a facet over thousands of values) is not remembered.
        The shopper's personal scores, the segment's popularity and the blend are computed on
        every search.
    """

    #: Memory for the engine's answers remembered between two writes, in MB (see above).
    RESULT_CACHE_MB = 32

    def __init__(self, engine: Any, *, keyword_model: Any = None, recommender: Any = None,
                 popularity: Any = None, weights: Weights = DEFAULT_WEIGHTS) -> None:
        self._engine = engine
        self.keyword_model = keyword_model
        self.recommender = recommender
        self.popularity = popularity
        self.weights = weights
        text_fields, filter_fields, user_words, stock = engine.fields()
        self._text_fields: List[Tuple[str, float]] = [(n, float(w)) for n, w in text_fields]
        self._filter_kinds: Dict[str, str] = dict(filter_fields)
        self._user_words: List[str] = list(user_words)
        self._stock: Optional[str] = stock

    # ------------------------------------------------------------------------ building
    @classmethod
    def build(
        cls,
        products: Any,
        *,
        id: str = "id",  # noqa: A002 - the issue's spelling
        text: Any = ("title", "description"),
        filters: Any = ("category", "brand", "price", "in_stock"),
        keyword_model: Any = None,
        recommender: Any = None,
        popularity: Any = None,
        path: Optional[PathLike] = None,
        num_threads: int = 0,
        user_words: Optional[Sequence[str]] = None,
        weights: Weights = DEFAULT_WEIGHTS,
    ) -> "SearchIndex":
        """Index a catalogue.

        Parameters
        ----------
        products : DataFrame or list of dict
            One row per product.
        id : str
            The column of product ids (int or str, unique).
        text : sequence of str or dict of str to float
            The text columns. A sequence weighs the first (the title) double; a dict gives each
            field's weight, e.g. ``{"title": 2.0, "description": 1.0}``.
        filters : sequence of str or dict of str to {"str", "number", "bool"}
            The columns to filter and count facets on. Types are read from the data unless
            given; a named column no product has is left out. ``in_stock`` (bool) is the flag
            :meth:`set_stock` changes; a product without it counts as in stock.
        keyword_model : KeywordModel, optional
            Expands queries (``search(expand=True)``); its user words also go to the tokenizer,
            so a word means the same thing to both.
        recommender : fitted recommender, optional
            Gives the shopper's affinity to the candidates (``recommend(user, k, items=...)``,
            ``recommend_for_history``).
        popularity : str, dict, pandas Series or InterestSegments, optional
            A column of ``products`` or a mapping from id to a popularity (sales, views).
            Products without one get 0. Fitted :class:`shoprec.InterestSegments` give each
            product its reach over all shoppers, and a shopper known to them (``user`` or
            ``history``) the popularity within their segment ("popular with shoppers like
            you").
        path : str or PathLike, optional
            Keep the index in a new directory there instead of in memory.
        num_threads : int
            Indexing threads; 0 means every core (at most 8).
        user_words : list of str, optional
            Words the tokenizer keeps whole (default: the keyword model's).
        weights : Weights
            The blend's weights.

        Returns
        -------
        SearchIndex

        Raises
        ------
        InvalidArgumentError
            For a duplicate or missing id, a filter column with mixed types, a bad weight.
        """
        num_threads = check_num_threads(num_threads)
        records = _records(products)
        text_fields = _text_fields(text)
        filter_fields = _filter_fields(filters, records)
        if user_words is None:
            user_words = list(getattr(keyword_model, "user_words", None) or [])
        stock = STOCK_FIELD if (STOCK_FIELD, "bool") in filter_fields else None
        engine = _core.SearchEngine(
            text_fields, filter_fields, [str(w) for w in user_words], stock,
            None if path is None else os.fspath(path), num_threads,
        )
        index = cls(engine, keyword_model=keyword_model, recommender=recommender, popularity=popularity,
                    weights=weights)
        index._id_column = id
        index._engine.add(index._rows(records, id))
        return index

    _id_column = "id"

    def _segments(self) -> Any:
        """The attached InterestSegments, if popularity is one (duck-typed: search sits above
        segments and needs only ``assign`` and ``popular_items``)."""
        source = self.popularity
        return source if hasattr(source, "popular_items") and hasattr(source, "assign") else None

    def _segment_popularity(self, segment: int) -> "_SegmentReach":
        """Reach of every item in one segment (-1: all shoppers), computed once per segment."""
        cache = self.__dict__.setdefault("_segment_cache", {})
        found = cache.get(segment)
        if found is None:
            segments = self.popularity
            found = _SegmentReach(segments.popular_items(segment, k=max(1, len(segments.item_ids))))
            cache[segment] = found
        return found

    def _popularity_of(self, record: Mapping[str, Any], key: Any) -> float:
        source = self.popularity
        if source is None:
            return 0.0
        if type(source) is str:  # a column: the common case, read directly
            value = record.get(source)
            if (type(value) is int or type(value) is float) and math.isfinite(value):
                return float(value)
        if self._segments() is not None:
            value = self._segment_popularity(-1).by_id.get(key, 0.0)
        elif isinstance(source, str):
            value = record.get(source)
        else:
            try:
                value = source.get(key) if hasattr(source, "get") else None
            except TypeError:
                value = None
        if _is_missing(value) or not isinstance(value, numbers.Real) or not math.isfinite(float(value)):
            return 0.0
        return float(value)

    def _rows(self, records: List[Mapping[str, Any]], id_column: Optional[str] = None) -> List[Tuple[Any, ...]]:
        id_column = id_column or self._id_column
        filters = list(self._filter_kinds.items())
        stock = [name for name, _ in filters].index(self._stock) if self._stock in self._filter_kinds else -1
        text_names = [name for name, _ in self._text_fields]
        popularity_of = self._popularity_of
        rows = []
        for r in records:
            key = r.get(id_column)
            if key is None or _is_missing(key):
                raise InvalidArgumentError(f"every product needs an id in column {id_column!r}: {dict(r)!r}")
            key = key.item() if isinstance(key, np.generic) else key
            values = [_filter_value(r.get(name), kind, name) for name, kind in filters]
            if stock >= 0 and values[stock] is None:
                values[stock] = True
            texts = [_text_value(r.get(name)) for name in text_names]
            rows.append((_encode_id(key), texts, values, popularity_of(r, key)))
        return rows

    # -------------------------------------------------------------------------- writes
    def _writable(self) -> Any:
        """The engine to write to. In a child of ``fork()`` the parent's index cannot be
        written (tantivy's writer threads stayed in the parent): the child's first write
        switches this index to its own in-memory copy, so the child's writes change only the
        child's index, as every other object a child changes."""
        if not self._engine.forked():
            return self._engine
        with _FORK_LOCK:
            if self._engine.forked():
                with scratch_directory() as tmp:
                    root = os.path.join(tmp, "index")
                    self._engine.save(root)
                    self._engine = _core.SearchEngine.load(
                        root, list(self._text_fields), list(self._filter_kinds.items()), list(self._user_words),
                        self._stock, None, 0)
        return self._engine

    def add(self, products: Any) -> None:
        """Add new products (a DataFrame or list of dicts, columns as at :meth:`build`).

        Raises
        ------
        InvalidArgumentError
            If an id is already in the index (use :meth:`update`); nothing is added then.
        """
        self._writable().add(self._rows(_records(products)))

    def update(self, products: Any) -> None:
        """Replace products, matched by id, with these new versions (every column).

        Raises
        ------
        UnknownIdError
            If an id is not in the index; nothing is changed then.
        """
        self._writable().update(self._rows(_records(products)))

    def delete(self, ids: Any) -> int:
        """Remove products by id; unknown ids are ignored. Returns how many were removed."""
        return int(self._writable().delete(self._ids(ids)))

    def set_stock(self, ids: Any, in_stock: bool) -> int:
        """Set the ``in_stock`` flag of products. Returns how many changed.

        Raises
        ------
        UnknownIdError
            If an id is not in the index (nothing is changed then).
        InvalidArgumentError
            If the index has no ``in_stock`` field.
        """
        if not isinstance(in_stock, (bool, np.bool_)):
            raise DTypeError(f"in_stock must be a bool, got {type(in_stock).__name__}")
        return int(self._writable().set_stock(self._ids(ids), bool(in_stock)))

    def copy(self, *, recommender: Any = _KEEP, popularity: Any = _KEEP, keyword_model: Any = _KEEP,
             num_threads: int = 0) -> "SearchIndex":
        """An independent in-memory copy of this index (same products, fields and weights),
        with other attachments where given (e.g. an updated recommender and segments). Writes
        to one never show in the other, so the copy can be changed (:meth:`refresh_popularity`,
        :meth:`set_stock`) while this one keeps answering. Costs a save and a load of the
        index (in a temporary directory)."""
        with scratch_directory() as tmp:
            root = os.path.join(tmp, "index")
            self._engine.save(root)
            engine = _core.SearchEngine.load(root, list(self._text_fields), list(self._filter_kinds.items()),
                                             list(self._user_words), self._stock, None, check_num_threads(num_threads))
        index = type(self)(engine,
                           keyword_model=self.keyword_model if keyword_model is _KEEP else keyword_model,
                           recommender=self.recommender if recommender is _KEEP else recommender,
                           popularity=self.popularity if popularity is _KEEP else popularity,
                           weights=self.weights)
        index._id_column = self._id_column
        return index

    def refresh_popularity(self) -> int:
        """Recompute every product's stored popularity from the attached ``popularity`` (a
        mapping, or :class:`shoprec.InterestSegments` that were updated) and rewrite the
        products whose popularity changed. A column name keeps the values read at build.
        Returns how many products changed."""
        if isinstance(self.popularity, str):
            return 0
        self.__dict__.pop("_segment_cache", None)
        changed = []
        for row in self.products():
            stored = row.pop("popularity")
            if self._popularity_of(row, row[self._id_column]) != stored:
                changed.append(row)
        if changed:
            self._writable().update(self._rows(changed))
        return len(changed)

    @staticmethod
    def _ids(ids: Any) -> List[str]:
        # One id or any iterable of ids (a generator is read once); None is not ids.
        return [_encode_id(i.item() if isinstance(i, np.generic) else i) for i in filter_ids(ids, "ids")]

    def __len__(self) -> int:
        return len(self._engine)

    def __repr__(self) -> str:
        fields = ", ".join(f"{n}={w:g}" for n, w in self._text_fields)
        return f"SearchIndex({len(self)} products, text: {fields}, filters: {list(self._filter_kinds)})"

    @property
    def filter_fields(self) -> Dict[str, str]:
        """The filter fields and their types (``"str"``, ``"number"``, ``"bool"``)."""
        return dict(self._filter_kinds)

    @property
    def text_fields(self) -> Dict[str, float]:
        """The text fields and their weights."""
        return dict(self._text_fields)

    def tokenize(self, text: str) -> List[str]:
        """The tokens this index reads ``text`` as: those of the shop tokenizer (``shoprec.tokenize``
        with the index's user words), Latin diacritics folded to ASCII."""
        if not isinstance(text, str):
            raise DTypeError(f"text must be a str, got {type(text).__name__}")
        return list(self._engine.analyze(text))

    def products(self) -> List[Dict[str, Any]]:
        """Every product as the index holds it (id, text and filter columns, ``popularity``), by id."""
        out = []
        for key, texts, values, popularity in self._engine.products():
            row: Dict[str, Any] = {self._id_column: _decode_id(key)}
            row.update({name: t for (name, _), t in zip(self._text_fields, texts)})
            for (name, kind), v in zip(self._filter_kinds.items(), values):
                row[name] = v[0] if kind == "str" and isinstance(v, list) and len(v) == 1 else v
            row["popularity"] = popularity
            out.append(row)
        return out

    def set_weights(self, **changes: Any) -> None:
        """Change some blend weights (see :class:`shoprec.search.Weights`)."""
        self.weights = self.weights.replace(**changes)

    # -------------------------------------------------------------------------- search
    def _filters(self, filters: Any) -> List[Tuple[str, str, Any]]:
        if filters is None:
            return []
        if type(filters) is not dict and not isinstance(filters, Mapping):
            raise InvalidArgumentError(f"filters must be a dict of field to value, got {type(filters).__name__}")
        out = []
        for field, value in filters.items():
            kind = self._filter_kinds.get(field) if isinstance(field, str) else None
            if kind is None:
                known = ", ".join(repr(f) for f in self._filter_kinds) or "none"
                raise InvalidArgumentError(f"cannot filter on {field!r}: not a filter field of this index (filter fields: {known})")
            out.append(_condition(field, kind, value))
        return out

    def _facets(self, facets: Any) -> List[str]:
        if facets is None:
            return []
        if isinstance(facets, str):
            facets = [facets]
        if not hasattr(facets, "__iter__"):
            raise InvalidArgumentError(f"facets must be a field name or a list of them, got {facets!r}")
        out = []
        for name in facets:
            kind = self._filter_kinds.get(name) if isinstance(name, str) else None
            if kind not in ("str", "bool"):
                raise InvalidArgumentError(f"cannot count facets of {name!r}: facets are string or bool filter fields ({list(self._filter_kinds)})")
            out.append(name)
        return out

    def _expansions(self, query: str) -> List[Tuple[str, float]]:
        model, n = self.keyword_model, self.weights.n_expansions
        if model is None or n == 0 or self.weights.expansion == 0:
            return []
        try:
            found = model.expand(query, n)
        except (ValueError, TypeError, KeyError):
            return []
        if not found:
            return []
        top = max(float(s) for _, s in found)
        if not top > 0:
            return []
        return [(str(kw), self.weights.expansion * max(float(s), 0.0) / top) for kw, s in found if float(s) > 0]

    def search(
        self,
        query: str,
        k: int = 20,
        *,
        user: Optional[Hashable] = None,
        history: Optional[Sequence[Any]] = None,
        filters: Optional[Mapping[str, Any]] = None,
        expand: bool = True,
        typos: bool = True,
        facets: Optional[Sequence[str]] = None,
        offset: int = 0,
    ) -> SearchResults:
        """Search the catalogue.

        Steps: tokenize the query (its first 1,000 characters, 32 distinct words); expand it
        with the attached keyword model (expansions weigh below the shopper's words and re-rank
        the products that have them; only when the shopper's words match nothing do the
        expansions' matches become the answer); retrieve
        with BM25 over the weighted text fields, times the fraction of the shopper's words a
        product matches (so products with all of them come first); a word found only inside longer
        tokens (Chinese character bigrams, parts of joined Latin tokens) counts half; a Latin word
        with no match in the catalogue may match with one edit when it or the catalogue word has
        5-8 letters and with two at 9+ (at half and a quarter of an exact match's weight); filter; count facets over all matches; re-rank the
        best ``weights.candidates`` by blending text relevance with the shopper's affinity and
        popularity (:mod:`shoprec.search.blend`).

        When there is nothing to search for (empty, whitespace or punctuation only), the most
        popular products passing the filters come back with ``fallback="empty-query"``. When
        nothing matches, the search is retried with expansion and typos on
        (``fallback="relaxed"``), then popular products passing the filters
        (``fallback="popular"``).

        Parameters
        ----------
        query : str
            Any text. Never raises for its content.
        k : int
            How many results.
        user : hashable, optional
            The shopper, for personal ranking. A user the recommender does not know gets no
            personal part.
        history : sequence of product ids, optional
            Items an anonymous shopper viewed or bought (used when ``user`` is not given).
        filters : dict, optional
            ``{field: value}``, all must hold. A string field takes a str or a list / set of
            str (any of them); a number field takes a number, a list / set of numbers, a
            ``(min, max)`` tuple (inclusive, None for open) or ``{"min": .., "max": ..}``; a
            bool field takes True or False.
        expand : bool
            Expand the query with the attached keyword model.
        typos : bool
            Let Latin words match with typos.
        facets : sequence of str, optional
            String or bool filter fields to count values of, over all matches after filters.
        offset : int
            Skip this many results (paging).

        Returns
        -------
        SearchResults

        Raises
        ------
        InvalidArgumentError
            For a filter or facet on an unknown field or with a value of the wrong type.
        DTypeError
            If ``query`` is not a str.
        """
        if not isinstance(query, str):
            raise DTypeError(f"query must be a str, got {type(query).__name__}")
        if type(k) is not int or not 1 <= k <= K_LIMIT:  # the common case without the checks' isinstance
            k = check_k(k)
        if type(offset) is not int or offset < 0:
            offset = check_int(offset, "offset", minimum=0)
        if offset:
            offset = min(offset, len(self))  # past the end: no results
        conditions = self._filters(filters)
        facet_names = self._facets(facets)
        megabytes = self.RESULT_CACHE_MB
        if type(megabytes) is int and 0 <= megabytes < 1 << 20:
            remember = megabytes << 20
        else:  # a float, or a bad value: checked (and at most 1 TB)
            remember = int(min(check_float(megabytes, "RESULT_CACHE_MB", minimum=0.0), 1 << 20) * (1 << 20))
        # Lone surrogates cannot cross to Rust or onnxruntime as UTF-8: read them as U+FFFD.
        text = query[:1000].encode("utf-8", "replace").decode("utf-8") if not query.isascii() else query[:1000]
        limit = max(self.weights.candidates, offset + k)
        expansions = self._expansions(text) if expand else []
        out = self._engine.search(text, expansions, bool(typos), conditions, facet_names, limit, False, remember)
        fallback = None
        words = out[_WORDS]
        if not words and not expansions:
            fallback = "empty-query"
            out = self._engine.search("", [], False, conditions, facet_names, limit, True, remember)
        elif out[_TOTAL] == 0:
            if not (expand and typos):
                expansions = self._expansions(text)
                out = self._engine.search(text, expansions, True, conditions, facet_names, limit, False, remember)
                fallback = "relaxed" if out[_TOTAL] > 0 else None
            if out[_TOTAL] == 0:
                fallback = "popular"
                out = self._engine.search("", [], False, conditions, facet_names, limit, True, remember)
                out = out[:_WORDS] + (words, [], [], True)
        return self._rank(out, expansions, user, history, k, offset, fallback, words)

    def _rank(self, out: Tuple[Any, ...], expansions: List[Tuple[str, float]], user: Any, history: Any,
              k: int, offset: int, fallback: Optional[str], words: List[str]) -> SearchResults:
        ids, text, expansion, popularity, total, facets, _, corrections, expansions_used, _ = out
        id_list = ids.tolist() if isinstance(ids, np.ndarray) else ids
        segment_popularity = self._shopper_segment_popularity(user, history)
        if segment_popularity is not None:
            popularity = segment_popularity.of(ids, id_list)
        personal = self._personal(ids, id_list, user, history)
        # Best blended score first; ties keep the engine's order (text, popularity, id).
        order, score, parts = rank(text, expansion, personal, popularity, self.weights, offset, k)
        items = np.empty(len(order), dtype=object)
        items[:] = [id_list[i] for i in order.tolist()]
        used = set(expansions_used)
        return SearchResults(
            items,
            score,
            parts,
            words=list(words),
            expansions=[(kw, w) for kw, w in expansions if kw in used],
            corrections=[tuple(c) for c in corrections],
            facets={name: {self._facet_value(name, v): int(c) for v, c in counts} for name, counts in facets},
            total=int(total),
            fallback=fallback,
        )

    def _facet_value(self, field: str, value: str) -> Any:
        return value == "true" if self._filter_kinds.get(field) == "bool" else value

    def _shopper_segment_popularity(self, user: Any, history: Any) -> Optional["_SegmentReach"]:
        """Item reach within the shopper's segment, when segments are attached and place them."""
        segments = self._segments()
        if segments is None or (user is None and history is None):
            return None
        try:
            segment = segments.assign(user if user is not None else list(history))
        except (UnknownIdError, KeyError, TypeError, ValueError):
            return None
        return None if segment < 0 else self._segment_popularity(int(segment))

    def _personal(self, ids: Any, id_list: List[Any], user: Any, history: Any) -> Optional[np.ndarray]:
        """The recommender's raw scores for the candidates (NaN where it gave none), or None
        when it has nothing personal to say: an unknown user, a history with no known item,
        no evidence for any candidate (its answer is then a fallback, ``recs.source``).
        ``ids`` are the candidates as the engine gave them (an int64 array when every id is an
        int: it maps to a model's integer ids without the per-id str/int rule), ``id_list``
        the same as a list."""
        model = self.recommender
        if model is None or not id_list or (user is None and history is None):
            return None
        items: Any = ids
        n = len(id_list)
        try:
            if user is not None:
                # shoprec's models answer in one Rust call, the scores already aligned.
                aligned = getattr(model, "_recommend_aligned", None)
                found = aligned(user, items) if aligned is not None else None
                if found is not None:
                    return found[0] if found[1] else None
                recs = model.recommend(user, n, items=items, exclude_seen=False)
            else:
                recs = model.recommend_for_history(list(history), n, items=items, exclude_seen=False)
        except (UnknownIdError, KeyError, TypeError):
            return None
        if getattr(recs, "source", "model") != "model":
            return None
        scores = dict(zip(np.asarray(recs.items).tolist(), np.asarray(recs.scores, dtype=np.float64).tolist()))
        return np.array([scores.get(i, np.nan) for i in id_list], dtype=np.float64)

    # ---------------------------------------------------------------------- persistence
    def save(self, directory: PathLike) -> None:
        """Write the index as a shoprec directory (``manifest.json`` with the SHA-256 of every
        file, the tantivy index under ``index/``), atomically; see :mod:`shoprec.io`.

        The keyword model and recommender are not saved with it (they have their own
        ``save``); pass them again to :meth:`load`.

        Raises
        ------
        InvalidArgumentError
            If ``directory`` exists and is not a directory shoprec wrote (nothing is replaced).
        """
        io_save(directory, self)

    def _to_files(self) -> Tuple[Dict[str, Any], Dict[str, bytes]]:
        meta = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "id": self._id_column,
            "text_fields": [[n, w] for n, w in self._text_fields],
            "filter_fields": [[n, k] for n, k in self._filter_kinds.items()],
            "user_words": self._user_words,
            "stock_field": self._stock,
            "weights": dict(self.weights.__dict__),
            "popularity": self.popularity if isinstance(self.popularity, str) else None,
            "products": len(self),
        }
        files: Dict[str, bytes] = {}
        with scratch_directory() as tmp:
            root = Path(tmp) / "index"
            self._engine.save(os.fspath(root))
            for path in sorted(root.rglob("*")):
                if path.is_file():
                    files["index/" + path.relative_to(root).as_posix()] = path.read_bytes()
        return meta, files

    @classmethod
    def _from_directory(cls, saved: SavedDirectory, *, keyword_model: Any = None, recommender: Any = None,
                        popularity: Any = None, path: Optional[PathLike] = None, num_threads: int = 0) -> "SearchIndex":
        meta = saved.meta
        if meta.get("format") != FORMAT:
            raise ModelFileError(f"{saved.root}: the metadata does not describe a shoprec search index")
        version = meta.get("format_version")
        if not isinstance(version, int) or isinstance(version, bool):
            raise ModelFileError(f"{saved.root}: the search index's metadata has no format_version")
        if version > FORMAT_VERSION:
            raise ModelVersionError(
                f"{saved.root}: a search index of format {version}; this shoprec reads up to {FORMAT_VERSION}: upgrade shoprec"
            )
        if not any(name.startswith("index/") for name in saved.files):
            raise ModelFileError(f"{saved.root}: the search index has no index files")
        fields = ([(str(n), float(w)) for n, w in meta["text_fields"]], [(str(n), str(k)) for n, k in meta["filter_fields"]],
                  [str(w) for w in meta["user_words"]], meta["stock_field"])
        try:
            engine = _core.SearchEngine.load(os.fspath(saved.root / "index"), *fields,
                                             None if path is None else os.fspath(path), check_num_threads(num_threads))
        except InternalError as exc:
            # tantivy asserts on some damaged files it reads (a slice past the end of a file,
            # found by fuzz_search_directory); the load copies every document, so this is the
            # only place stored bytes are read. With checksums on, damaged files never get here.
            raise ModelFileError(f"{saved.root}: the search index files are damaged (tantivy: {exc})") from None
        if len(engine) != meta.get("products", len(engine)):
            raise ModelFileError(f"{saved.root}: the index holds {len(engine)} products, the metadata says {meta['products']}")
        index = cls(engine, keyword_model=keyword_model, recommender=recommender,
                    popularity=popularity if popularity is not None else meta.get("popularity"),
                    weights=Weights(**meta["weights"]))
        index._id_column = str(meta["id"])
        return index

    @classmethod
    def load(
        cls,
        directory: PathLike,
        *,
        keyword_model: Any = None,
        recommender: Any = None,
        popularity: Any = None,
        path: Optional[PathLike] = None,
        num_threads: int = 0,
    ) -> "SearchIndex":
        """Open an index written by :meth:`save` (also :func:`shoprec.load`, without the
        attachments), in memory or copied into a new directory at ``path``. Every file is
        checked against its SHA-256 first; searches give exactly the answers of the saved index.

        Raises
        ------
        ModelFileError
            If ``directory`` holds no saved search index, or a file is missing or corrupted.
        ModelVersionError
            If it was written by a newer shoprec.
        """
        saved = read_directory(check_path(directory, "directory"))
        if saved.type != "SearchIndex":
            raise ModelFileError(f"{os.fspath(directory)!r} holds a {saved.type}, not a SearchIndex")
        return cls._from_directory(saved, keyword_model=keyword_model, recommender=recommender,
                                   popularity=popularity, path=path, num_threads=num_threads)


class _SegmentReach:
    """One segment's reach per item, looked up for a search's candidates: by binary search in
    a sorted array when both the items and the candidates are integers (an int64 array, as
    the engine gives all-int ids), by a dict otherwise (the same matches either way)."""

    def __init__(self, pairs: List[Tuple[Any, float]]) -> None:
        self.by_id: Dict[Any, float] = dict(pairs)
        keys = list(self.by_id)
        self.sorted: Optional[np.ndarray] = None
        if keys and all(type(key) is int and -(2**63) <= key < 2**63 for key in keys):
            as_int64 = np.array(keys, dtype=np.int64)
            order = np.argsort(as_int64, kind="stable")
            self.sorted = as_int64[order]
            self.values = np.array([self.by_id[key] for key in keys], dtype=np.float64)[order]

    def of(self, ids: Any, id_list: List[Any]) -> np.ndarray:
        """The reach of every candidate, 0 for items the segments do not know."""
        known = self.sorted
        if known is not None and isinstance(ids, np.ndarray) and ids.dtype == np.int64:
            at = np.minimum(np.searchsorted(known, ids), len(known) - 1)
            return np.where(known[at] == ids, self.values[at], 0.0)
        return np.fromiter(map(self.by_id.get, id_list, repeat(0.0)), np.float64, len(id_list))
