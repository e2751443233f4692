"""Keyword models: query expansion learnt from the shop's own catalog and search log.

A :class:`KeywordModel` is built from product titles (and, optionally, query sessions), saved
as a directory holding a quantized ONNX model, and queried in-process with onnxruntime::

    model = KeywordModel.build(titles, queries=sessions)
    model.save("kw-model")
    model = KeywordModel.load("kw-model")
    model.expand("笔记本电脑")        # [("轻薄本", 0.71), ("游戏本", 0.69), ...]

How a keyword is scored for a query (all of it inside the ONNX graph):

1. The query's terms (:func:`shoprec.tokenize` with the catalog's user words) are looked up in
   a term-vector table. Term vectors come from the PPMI matrix of term co-occurrence within
   titles and query sessions, reduced by a randomised truncated SVD to ``dim`` dimensions
   (``U * S``) and scaled to unit length.
2. The vectors are summed and scaled to unit length; its dot product with every keyword's
   unit vector is the *similarity* part of the score.
3. Each term ``t`` also carries its ``evidence_per_term`` strongest co-occurrence links to
   keywords ``j`` (the first-order evidence the low-rank vectors blur), weighted
   ``count(t, j) / (df(t) * df(j) ** keyword_damping)``: the share of ``t``'s texts that also
   name ``j``, damped by how common ``j`` is, so that every query term has its say whatever
   its frequency and generic terms (包邮, 新款) do not top every list. Summed over the query's
   terms and multiplied by ``evidence_weight``, they are added to the similarity. Neither the
   SVD alone nor PPMI links beat ranking every term by raw co-occurrence counts; this mix
   does (see ``benches/RESULTS.md``).
4. TopK, with at most ``max(1, floor(k * model_number_share))`` model-number keywords (any
   keyword holding a digit: 8864-ig3, ddr3) so that they never crowd out words; when the
   catalogue has fewer than ``k`` word keywords, model numbers fill the remaining places.
   Keywords that are the query's own terms are dropped afterwards.

A query term the model does not know is looked up without its joiners (typec finds type-c),
then replaced by its longest known sub-words (护手霜 -> 护手, 霜), so unseen and mixed-script
queries expand from their known parts.

``precision="int8"`` stores the term table as int8 with one scale per row, the keyword matrix
as int8 with one scale per keyword (the dot product is an integer MatMulInteger against the
query vector quantized by DynamicQuantizeLinear), and the evidence weights as uint8 with one
scale per term. ``precision="fp32"`` keeps everything in float32, for comparison.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from .. import _core
from .._core import Tokenizer
from ..io import PicklesByValue, SavedDirectory, read_directory, register, save
from .graph import FORMAT, FORMAT_VERSION, _EPS, IR_VERSION, OPSET, _evidence, conditional_weights, is_model_number, write_onnx
from .session import LazySession
from .._validate import check_choice, check_float, check_int, check_k, check_num_threads, check_path
from ..errors import DTypeError, InvalidArgumentError, ModelFileError, ModelVersionError
from ..text import check_text

if TYPE_CHECKING:  # pragma: no cover
    from .encoder import EncoderKeywordModel

__all__ = ["KeywordModel"]

#: Queries are cut to this many characters, then to this many known terms, before lookup.
MAX_QUERY_CHARS = 1000
MAX_QUERY_TERMS = 32
FILES = ("model.onnx", "vocab.txt", "keywords.txt", "userdict.txt")


_NO_JOINERS = str.maketrans("", "", "-.+_/")

#: The largest embedding dimension :meth:`KeywordModel.build` accepts.
MAX_DIM = 4096


def _check_texts(texts: Any, name: str) -> List[str]:
    if isinstance(texts, str) or not isinstance(texts, Iterable):
        raise DTypeError(f"{name} must be a list of str, got {type(texts).__name__}")
    out = [check_text(t, f"{name}[{i}]") for i, t in enumerate(texts)]
    return out


def _check_sessions(queries: Any) -> List[str]:
    """Query sessions as texts: a session (list of queries) becomes one text; a plain string
    is a session of one query."""
    if queries is None:
        return []
    if isinstance(queries, str) or not isinstance(queries, Iterable):
        raise DTypeError(f"queries must be a list of sessions, got {type(queries).__name__}")
    texts = []
    for i, session in enumerate(queries):
        if isinstance(session, str):
            texts.append(session)
        else:
            texts.append(" ".join(_check_texts(session, f"queries[{i}]")))
    return texts


@register("KeywordModel")
class KeywordModel(PicklesByValue):
    """Query expansion with a keyword model built from the shop's own catalog.

    Build one with :meth:`build`, keep it with :meth:`save`, and open it in every worker with
    :meth:`load`. A model is immutable; one instance (and its single onnxruntime session) is
    shared safely by all threads of a process.
    """

    def __init__(self, onnx_bytes: bytes, vocab: List[str], keywords: List[str], user_words: List[str], meta: Dict[str, Any], num_threads: int = 1) -> None:
        self._onnx_bytes = onnx_bytes
        self.vocab = vocab
        self.keywords = keywords
        self.user_words = user_words
        self.meta = meta
        self._tokenizer = Tokenizer(user_words)
        self._term_ids = {t: i for i, t in enumerate(vocab)}
        # Latin terms spelt with joiners (type-c, i5-1340p), by their spelling without them.
        self._joinless = {j: i for j, i in reversed([(t.translate(_NO_JOINERS), i) for t, i in self._term_ids.items()
                                                    if t.isascii() and not t.isalnum()]) if j}
        # The keywords that are exactly one term, by term id, to drop a query's own terms.
        self._keyword_of_term: Dict[int, List[int]] = {}
        self._keyword_of_text: Dict[str, List[int]] = {}
        for j, keyword in enumerate(keywords):
            ids = [self._term_ids.get(t) for t in self._tokenizer.tokenize(keyword)]
            if len(ids) == 1 and ids[0] is not None:
                self._keyword_of_term.setdefault(ids[0], []).append(j)
            self._keyword_of_text.setdefault(" ".join(self._tokenizer.tokenize(keyword)), []).append(j)
        self.num_threads = num_threads
        # Basic graph optimizations only: at the extended level onnxruntime fuses the query's
        # DynamicQuantizeLinear and the MatMulInteger into one DynamicQuantizeMatMul, which
        # runs the [1, dim] x [dim, n_keywords] product about twice as slow as MatMulInteger
        # over its prepacked keyword matrix (onnxruntime 1.32, x86-64; benches/RESULTS.md,
        # keyword models). The answers are the same at both levels.
        self._session = LazySession(onnx_bytes, num_threads, optimization="basic")
        self._expand_cache: Dict[Tuple[str, int], Tuple[Tuple[str, float], ...]] = {}

    # ----------------------------------------------------------------------------- building
    @classmethod
    def build(
        cls,
        texts: Sequence[str],
        *,
        queries: Optional[Sequence[Union[str, Sequence[str]]]] = None,
        dim: int = 64,
        max_terms: int = 50_000,
        keywords: Optional[Sequence[str]] = None,
        precision: str = "int8",
        seed: int = 0,
        min_count: int = 1,
        min_keyword_count: int = 1,
        max_keywords: int = 20_000,
        evidence_per_term: int = 20,
        evidence_weight: float = 1.0,
        keyword_damping: float = 0.25,
        model_number_share: float = 0.2,
        num_threads: int = 0,
    ) -> "KeywordModel":
        """Build a keyword model from product texts and, optionally, query sessions.

        Parameters
        ----------
        texts : list of str
            Product titles or descriptions; terms co-occur when they appear in the same text.
        queries : list of sessions, optional
            Search log: each session is a list of queries typed in one visit (or one str);
            terms co-occur when they appear in the same session.
        dim : int
            Dimension of the term vectors (truncated SVD rank). 64 ranked as well as 128 on
            held-out Taobao titles once the co-occurrence evidence is added, at half the cost.
        max_terms : int
            Vocabulary size: the most frequent terms found in at least ``min_count`` texts.
        keywords : list of str, optional
            The expansions the model may return. By default the frequent catalog terms and
            discovered phrases (at most ``max_keywords``, numbers and one-letter Latin terms
            left out). A given keyword is the sum of its terms' vectors; keywords without any
            known term are dropped (counted in ``meta["keywords_dropped"]``). Only one-term
            keywords receive co-occurrence evidence. Keywords holding a digit (model numbers)
            are listed after the others in ``model.keywords``, each group in its given order.
        precision : {"int8", "fp32"}
            Storage and arithmetic of the ONNX model.
        seed : int
            Seed of the randomised SVD: the same inputs and seed give the same model.
        min_count : int
            Terms found in fewer texts are left out of the vocabulary. The default 1 keeps
            terms seen once: on a small catalog a brand named in one title is still evidence.
        min_keyword_count : int
            Default keywords must appear in at least this many texts.
        max_keywords : int
            At most this many default keywords, the most frequent first.
        evidence_per_term, evidence_weight
            How many co-occurrence links to keywords each term keeps, and their weight against
            the cosine similarity (see the module documentation). 20 links rank within 0.002
            precision@10 of 32 on held-out Taobao titles and keep the int8 file under 30 % of
            the fp32 one.
        keyword_damping : float
            Exponent of a keyword's document frequency dividing its co-occurrence evidence:
            0 ranks by ``P(keyword | term)`` (favours common keywords), 1 by a lift (favours
            rare ones). 0.25 ranked best on held-out Taobao titles.
        model_number_share : float
            At most ``max(1, floor(k * model_number_share))`` keywords holding a digit
            (model numbers, specifications) in an expansion of ``k`` (more only where the
            catalogue has fewer than ``k`` other keywords); 1 turns the cap off.
        num_threads : int
            Threads for building (0 = every core). The GIL is released while building.

        Returns
        -------
        KeywordModel

        Raises
        ------
        DTypeError
            If ``texts`` or ``queries`` are not lists of strings.
        InvalidArgumentError
            If an argument is out of range, or the corpus has no term found in ``min_count``
            texts.
        """
        texts = _check_texts(texts, "texts")
        sessions = _check_sessions(queries)
        dim = check_int(dim, "dim", minimum=1)
        if dim > MAX_DIM:  # the SVD sizes buffers by dim: a huge one would abort on allocation
            raise InvalidArgumentError(f"dim must be at most {MAX_DIM}, got {dim}")
        max_terms = check_int(max_terms, "max_terms", minimum=1)
        precision = check_choice(precision, "precision", ("int8", "fp32"))
        seed = check_int(seed, "seed", minimum=0)
        if seed >= 2**64:
            raise InvalidArgumentError(f"seed must be below 2**64, got {seed}")
        min_count = check_int(min_count, "min_count", minimum=1)
        min_keyword_count = check_int(min_keyword_count, "min_keyword_count", minimum=1)
        max_keywords = check_int(max_keywords, "max_keywords", minimum=1)
        evidence_per_term = check_int(evidence_per_term, "evidence_per_term", minimum=0)
        evidence_weight = check_float(evidence_weight, "evidence_weight", minimum=0.0)
        keyword_damping = check_float(keyword_damping, "keyword_damping", minimum=0.0)
        if keyword_damping > 1.0:
            raise InvalidArgumentError(f"keyword_damping must be at most 1, got {keyword_damping}")
        model_number_share = check_float(model_number_share, "model_number_share", minimum=0.0)
        if model_number_share > 1.0:
            raise InvalidArgumentError(f"model_number_share must be at most 1, got {model_number_share}")
        num_threads = check_num_threads(num_threads)
        corpus = texts + sessions
        if not corpus:
            raise InvalidArgumentError("texts is empty")

        base = Tokenizer()
        phrases = _core.discover_phrases(base, corpus, max(3, min_count), 0.3, max(1, max_terms // 10), num_threads)
        tokenizer = Tokenizer(phrases)
        vocab, doc_freq, (indptr, indices, _) = _core.build_corpus(tokenizer, corpus, max_terms, min_count, num_threads)
        n_terms = len(vocab)
        if n_terms == 0:
            raise InvalidArgumentError(f"no term appears in at least min_count={min_count} texts")
        counts = _core.cooccurrence(indptr, indices, n_terms, 256, num_threads)
        p_indptr, p_indices, p_data = _core.ppmi(*counts, n_terms, 0.75, 1.0, num_threads)
        u, s, _ = _core.randomized_svd(p_indptr, p_indices, p_data, n_terms, n_terms, dim, 10, 2, seed, num_threads)
        vectors = u * s[None, :]
        vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), _EPS)
        vectors = vectors.astype(np.float32)

        dropped = 0
        if keywords is None:
            chosen = [
                i for i, term in enumerate(vocab)
                if doc_freq[i] >= min_keyword_count and not term.isdigit() and not (term.isascii() and len(term) < 2)
            ][:max_keywords]
            keyword_list = [vocab[i] for i in chosen]
            keyword_vectors = vectors[chosen]
            keyword_of_term = np.full(n_terms, -1, np.int64)
            keyword_of_term[chosen] = np.arange(len(chosen))
        else:
            term_ids = {t: i for i, t in enumerate(vocab)}
            keyword_list, rows = [], []
            keyword_of_term = np.full(n_terms, -1, np.int64)
            for i, keyword in enumerate(_check_texts(keywords, "keywords")):
                if "\n" in keyword or "\r" in keyword or not keyword.strip():
                    raise InvalidArgumentError(f"keywords[{i}] is empty or contains a line break")
                ids = [term_ids[t] for t in tokenizer.tokenize(keyword) if t in term_ids]
                if not ids:
                    dropped += 1
                    continue
                if len(ids) == 1 and keyword_of_term[ids[0]] < 0:
                    keyword_of_term[ids[0]] = len(keyword_list)
                keyword_list.append(keyword)
                rows.append(vectors[ids].sum(axis=0))
            if not keyword_list:
                raise InvalidArgumentError("none of the keywords contains a term of the catalog")
            keyword_vectors = np.array(rows, dtype=np.float32)
            keyword_vectors /= np.maximum(np.linalg.norm(keyword_vectors, axis=1, keepdims=True), _EPS)

        # Model-number keywords go last (a stable partition), where the graph caps them.
        model_numbers = np.array([is_model_number(kw) for kw in keyword_list], bool)
        order = np.argsort(model_numbers, kind="stable")
        position = np.empty(len(order), np.int64)
        position[order] = np.arange(len(order))
        keyword_list = [keyword_list[j] for j in order]
        keyword_vectors, model_numbers = keyword_vectors[order], model_numbers[order]
        keyword_of_term = np.where(keyword_of_term >= 0, position[np.maximum(keyword_of_term, 0)], -1)
        c_indptr, c_indices, c_data = counts
        links = conditional_weights(c_indptr, c_indices, c_data, doc_freq, keyword_damping)
        evidence_ids, evidence_weights = _evidence(c_indptr, c_indices, links, keyword_of_term, evidence_per_term)
        meta: Dict[str, Any] = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "shoprec_version": _core.__version__,
            "precision": precision,
            "dim": dim,
            "vocab_size": n_terms,
            "n_keywords": len(keyword_list),
            "keywords_dropped": dropped,
            "evidence_per_term": evidence_per_term,
            "evidence_weight": evidence_weight,
            "evidence": "conditional",
            "keyword_damping": keyword_damping,
            "model_number_share": model_number_share,
            "max_query_chars": MAX_QUERY_CHARS,
            "max_query_terms": MAX_QUERY_TERMS,
            "onnx": {"ir_version": IR_VERSION, "opset": OPSET},
            "tokenizer": {"version": Tokenizer.version, "fingerprint": tokenizer.fingerprint},
            "build": {"max_terms": max_terms, "min_count": min_count, "seed": seed, "max_keywords": max_keywords, "min_keyword_count": min_keyword_count,
                      "ppmi_alpha": 0.75, "svd": "randomized, oversample 10, 2 power iterations, U*S, unit rows"},
            "corpus": {"texts": len(texts), "query_sessions": len(sessions), "user_words": len(phrases),
                       "cooccurring_pairs": int(len(counts[2]) // 2), "ppmi_nonzeros": int(len(p_data)),
                       "max_doc_freq": int(doc_freq.max())},
        }
        onnx_bytes = write_onnx(vectors, keyword_vectors, evidence_ids, evidence_weights, evidence_weight, precision, meta,
                                model_numbers, model_number_share)
        return cls(onnx_bytes, list(vocab), keyword_list, tokenizer.user_words, meta)

    # ----------------------------------------------------------------------------- saving
    def save(self, directory: Union[str, os.PathLike]) -> None:
        """Write the model directory atomically: ``model.onnx``, ``vocab.txt``,
        ``keywords.txt``, ``userdict.txt`` and ``manifest.json`` (the metadata, and the
        SHA-256 of every file and of itself); see :mod:`shoprec.io`.

        Raises
        ------
        InvalidArgumentError
            If ``directory`` exists and is not a directory shoprec wrote (nothing is replaced).
        """
        save(directory, self)

    def _to_files(self) -> Tuple[Dict[str, Any], Dict[str, bytes]]:
        files = {
            "model.onnx": self._onnx_bytes,
            "vocab.txt": "".join(t + "\n" for t in self.vocab).encode("utf-8"),
            "keywords.txt": "".join(t + "\n" for t in self.keywords).encode("utf-8"),
            "userdict.txt": "".join(t + "\n" for t in self.user_words).encode("utf-8"),
        }
        return dict(self.meta), files

    @classmethod
    def _from_files(cls, meta: Mapping[str, Any], files: Mapping[str, bytes], num_threads: int = 1) -> "KeywordModel":
        meta = dict(meta)
        if meta.get("format") != FORMAT:
            raise ModelFileError("the metadata does not describe a shoprec keyword model")
        version = meta.get("format_version")
        if not isinstance(version, int):
            raise ModelFileError("the keyword model's metadata has no format_version")
        if version > FORMAT_VERSION:
            raise ModelVersionError(
                f"a keyword model of format {version}; this shoprec reads up to {FORMAT_VERSION}: upgrade shoprec"
            )
        missing = [name for name in FILES if name not in files]
        if missing:
            raise ModelFileError(f"the keyword model lacks {', '.join(missing)}")
        try:
            lines = {name: files[name].decode("utf-8").splitlines() for name in FILES[1:]}
        except UnicodeDecodeError as exc:
            raise ModelFileError(f"a text file of the keyword model is not UTF-8 ({exc})") from None
        tokenizer_meta = meta.get("tokenizer", {})
        if not isinstance(tokenizer_meta, dict):
            raise ModelFileError("the keyword model's metadata has no tokenizer object")
        try:
            tokenizer = Tokenizer(lines["userdict.txt"])
        except InvalidArgumentError as exc:
            raise ModelFileError(f"userdict.txt is invalid ({exc})") from None
        if tokenizer.fingerprint != tokenizer_meta.get("fingerprint"):
            raise ModelFileError(
                f"tokenizer fingerprint mismatch (model built with {tokenizer_meta.get('version')!r}, "
                f"this shoprec tokenizes with {Tokenizer.version!r}); rebuild the model"
            )
        if len(lines["vocab.txt"]) != meta.get("vocab_size") or len(lines["keywords.txt"]) != meta.get("n_keywords"):
            raise ModelFileError("vocab.txt or keywords.txt disagrees with the metadata")
        return cls(bytes(files["model.onnx"]), lines["vocab.txt"], lines["keywords.txt"], lines["userdict.txt"],
                   meta, num_threads)

    @classmethod
    def _from_directory(cls, saved: SavedDirectory, num_threads: int = 1) -> "KeywordModel":
        try:
            return cls._from_files(saved.meta, saved.read_all(), num_threads)
        except ModelFileError as exc:  # ModelVersionError included: keep the class
            raise type(exc)(f"{saved.root}: {exc}") from None

    @classmethod
    def _from_legacy_directory(cls, root: Path, num_threads: int = 1) -> "KeywordModel":
        """A directory of shoprec 0.1 (``meta.json`` holding the files' checksums, no manifest)."""
        try:
            meta = json.loads((root / "meta.json").read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ModelFileError(f"{root}: meta.json is corrupted ({exc})") from None
        sums = meta.get("files") if isinstance(meta, dict) else None
        if not isinstance(sums, dict) or set(FILES) - set(sums):
            raise ModelFileError(f"{root}: meta.json lacks the checksums of {', '.join(FILES)}")
        files = {}
        for name in FILES:
            path = root / name
            if not path.is_file():
                raise ModelFileError(f"{root}: {name} is missing")
            files[name] = path.read_bytes()
            if hashlib.sha256(files[name]).hexdigest() != sums[name]:
                raise ModelFileError(f"{root}: {name} does not match its checksum (corrupted or edited)")
        try:
            return cls._from_files({k: v for k, v in meta.items() if k != "files"}, files, num_threads)
        except ModelFileError as exc:
            raise type(exc)(f"{root}: {exc}") from None

    @classmethod
    def load(cls, directory: Union[str, os.PathLike], *, num_threads: int = 1) -> "KeywordModel":
        """Open a saved model directory (also :func:`shoprec.load`).

        Every file and the manifest are checked against their SHA-256 sums, and the tokenizer
        is rebuilt from ``userdict.txt`` and checked against the recorded fingerprint. The
        onnxruntime session opens at the first :meth:`expand` of each process, so a model
        loaded before ``fork()`` works in the children.

        Parameters
        ----------
        directory : str or path
        num_threads : int
            onnxruntime's ``intra_op_num_threads`` (default 1: a web server runs many workers).
            Spinning is turned off so idle threads do not burn CPU.

        Raises
        ------
        ModelFileError
            If a file is missing, truncated or corrupted, a checksum or the tokenizer
            fingerprint does not match, or the directory holds something else.
        ModelVersionError
            If the model was written in a newer format than this shoprec reads.
        """
        num_threads = check_int(num_threads, "num_threads", minimum=1)
        root = Path(check_path(directory, "directory"))
        if not root.is_dir():
            raise ModelFileError(f"{root} is not a model directory")
        if not (root / "manifest.json").exists() and (root / "meta.json").exists():
            return cls._from_legacy_directory(root, num_threads)
        saved = read_directory(root)
        if saved.type != "KeywordModel":
            raise ModelFileError(f"{root} holds a {saved.type}, not a KeywordModel")
        return cls._from_directory(saved, num_threads)

    # ----------------------------------------------------------------------------- querying
    def _term_ids_of(self, query: Any) -> Tuple[List[int], List[str]]:
        query = check_text(query, "query")[:MAX_QUERY_CHARS]
        tokens = self._tokenizer.tokenize(query)
        ids: List[int] = []
        for token in tokens:
            known = self._term_ids.get(token)
            if known is None and token.isascii():
                known = self._joinless.get(token)
            ids.extend([known] if known is not None else self._subword_ids(token))
        return list(dict.fromkeys(ids))[:MAX_QUERY_TERMS], tokens

    def _subword_ids(self, token: str) -> List[int]:
        """Sub-word fallback for a term the model does not know (护手霜 when only 护手 and 霜
        occur in the catalog): its longest known substrings, left to right, down to one
        character for Han text and two for Latin text."""
        shortest = 1 if not token.isascii() else 2
        ids, start = [], 0
        while start < len(token):
            for end in range(len(token), start + shortest - 1, -1):
                known = self._term_ids.get(token[start:end]) if end - start < len(token) else None
                if known is not None:
                    ids.append(known)
                    start = end
                    break
            else:
                start += 1
        return ids

    #: How many ``(query, k)`` answers :meth:`expand` keeps; when full, it forgets them all.
    EXPAND_CACHE_SIZE = 4096

    def expand(self, query: str, k: int = 10) -> List[Tuple[str, float]]:
        """The ``k`` keywords that best expand ``query``, best first.

        The query is cut to its first 1,000 characters and its first 32 known terms. A query
        with no known term (empty, whitespace, emoji, words the catalog never uses) gives
        ``[]`` without running the model. The query's own terms are never returned.

        Answers are remembered per ``(query, k)`` (the model never changes, so a repeated
        query gives the same list without running the model): at most
        :attr:`EXPAND_CACHE_SIZE` of them per model, all forgotten at once when that is reached
        (a dict shared by the threads, safe without a lock). Each call returns a new list.

        Parameters
        ----------
        query : str
        k : int
            At most this many keywords (fewer if the model has fewer).

        Returns
        -------
        list of (str, float)
            ``(keyword, score)`` pairs; the score is the cosine similarity plus the weighted
            co-occurrence evidence (see the module documentation).
        """
        k = check_k(k)
        text = check_text(query, "query")[:MAX_QUERY_CHARS]  # all the answer depends on
        cache = self._expand_cache
        found = cache.get((text, k))
        if found is None:
            found = tuple(self._expand(text, k))
            if len(cache) >= self.EXPAND_CACHE_SIZE:
                cache.clear()
            cache[(text, k)] = found
        return list(found)

    def _expand(self, query: str, k: int) -> List[Tuple[str, float]]:
        """:meth:`expand` without the cache (``k`` checked)."""
        ids, tokens = self._term_ids_of(query)
        if not ids:
            return []
        own = {j for i in ids for j in self._keyword_of_term.get(i, ())}
        own.update(self._keyword_of_text.get(" ".join(tokens), ()))
        n_keywords = len(self.keywords)
        fetch = min(n_keywords, k + len(own))
        scores, keyword_ids = self._session.run(
            {"token_ids": np.asarray(ids, dtype=np.int64), "k": np.asarray([fetch], dtype=np.int64)}
        )
        if keyword_ids.shape != scores.shape or keyword_ids.ndim != 1:
            raise ModelFileError("the keyword model's graph answered keyword ids and scores of different shapes (a "
                                 "damaged model.onnx?)")
        out = []
        for j, score in zip(keyword_ids.tolist(), scores.tolist()):
            if not 0 <= j < n_keywords:  # checked here: numpy's min and max cost more than the loop
                raise ModelFileError("the keyword model's graph answered keyword ids outside its keyword list (a "
                                     "damaged model.onnx?)")
            if j not in own:
                out.append((self.keywords[j], float(score)))
                if len(out) == k:
                    break
        return out

    def expand_many(self, queries: Sequence[str], k: int = 10) -> List[List[Tuple[str, float]]]:
        """:meth:`expand` for every query, in order."""
        if isinstance(queries, str) or not isinstance(queries, Iterable):
            raise DTypeError(f"queries must be a list of str, got {type(queries).__name__}")
        k = check_k(k)
        return [self.expand(check_text(q, f"queries[{i}]"), k) for i, q in enumerate(queries)]

    @staticmethod
    def from_encoder(directory: Union[str, os.PathLike], keywords: Sequence[str], *, num_threads: int = 1) -> "EncoderKeywordModel":
        """Expansion with a pretrained sentence encoder instead of a catalog-built model.

        Parameters
        ----------
        directory : str or path
            Holds ``model.onnx`` (inputs ``input_ids`` and optionally ``attention_mask`` and
            ``token_type_ids``; first output one vector per token or per text) and the
            ``tokenizer.json`` of its Hugging Face tokenizer. ``python -m shoprec.keywords.export``
            makes one from a sentence-transformers model.
        keywords : list of str
            The expansions; they are encoded once, here.
        num_threads : int
            onnxruntime's ``intra_op_num_threads``.

        Returns
        -------
        EncoderKeywordModel
            With ``expand`` and ``expand_many`` as on :class:`KeywordModel`. It is not saved by
            shoprec: the encoder directory is the model.

        Raises
        ------
        ModelFileError
            If a file is missing or unreadable.
        """
        from .encoder import EncoderKeywordModel

        return EncoderKeywordModel(directory, keywords, num_threads=num_threads)

    @property
    def onnx_bytes(self) -> bytes:
        """The serialized ONNX model, as written to ``model.onnx``."""
        return self._onnx_bytes

    def __repr__(self) -> str:
        return (f"KeywordModel(vocab_size={len(self.vocab)}, keywords={len(self.keywords)}, "
                f"dim={self.meta.get('dim')}, precision={self.meta.get('precision')!r})")
