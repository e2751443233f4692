"""Keyword expansion with a pretrained sentence encoder (``KeywordModel.from_encoder``).

For a shop that has a sentence-embedding model exported to ONNX (``model.onnx``) with its
Hugging Face ``tokenizer.json`` (read with the ``tokenizers`` package): the keywords are encoded
once when the model is opened, a query is encoded at every call, and the keywords are ranked by
cosine similarity. ``python -m shoprec.keywords.export`` turns a sentence-transformers model directory
into such a directory, with int8 per-channel weights.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable, List, Sequence, Tuple, Union

import numpy as np

from .._validate import check_int, check_k
from ..errors import DTypeError, InvalidArgumentError, ModelFileError
from ..text import check_text
from .session import LazySession

__all__ = ["EncoderKeywordModel"]

#: Queries and keywords are cut to this many tokens of the encoder's tokenizer.
MAX_ENCODER_TOKENS = 128


class EncoderKeywordModel:
    """Keywords ranked by a sentence encoder's cosine similarity to the query.

    Create it with :meth:`shoprec.KeywordModel.from_encoder`. Immutable after creation; one
    onnxruntime session is shared by all threads.
    """

    def __init__(self, directory: Union[str, os.PathLike], keywords: Sequence[str], *, num_threads: int = 1, batch_size: int = 64) -> None:
        try:
            from tokenizers import Tokenizer as HfTokenizer
        except ImportError:  # pragma: no cover - depends on the environment
            raise ImportError("KeywordModel.from_encoder needs the tokenizers package: pip install tokenizers") from None
        root = Path(directory)
        num_threads = check_int(num_threads, "num_threads", minimum=1)
        batch_size = check_int(batch_size, "batch_size", minimum=1)
        for name in ("model.onnx", "tokenizer.json"):
            if not (root / name).is_file():
                raise ModelFileError(f"{root}: {name} is missing")
        try:
            self._tokenizer = HfTokenizer.from_file(str(root / "tokenizer.json"))
        except Exception as exc:  # tokenizers raises its own exception type
            raise ModelFileError(f"{root}: tokenizer.json cannot be read ({exc})") from None
        self._tokenizer.enable_truncation(MAX_ENCODER_TOKENS)
        self._unknown_ids = set()
        unk = getattr(self._tokenizer.model, "unk_token", None)
        if unk is not None and self._tokenizer.token_to_id(unk) is not None:
            self._unknown_ids.add(self._tokenizer.token_to_id(unk))
        self._session = LazySession(str(root / "model.onnx"), num_threads, what=str(root / "model.onnx"))
        self._inputs = {i.name for i in self._session.get().get_inputs()}
        if "input_ids" not in self._inputs:
            raise ModelFileError(f"{root / 'model.onnx'} has no input_ids input")
        if isinstance(keywords, str) or not isinstance(keywords, Iterable):
            raise DTypeError(f"keywords must be a list of str, got {type(keywords).__name__}")
        self.keywords = [check_text(kw, f"keywords[{i}]") for i, kw in enumerate(keywords)]
        if not self.keywords:
            raise InvalidArgumentError("keywords is empty")
        self._normal_keywords = [kw.strip().lower() for kw in self.keywords]
        self.keyword_vectors = np.concatenate(
            [self.encode(self.keywords[i: i + batch_size]) for i in range(0, len(self.keywords), batch_size)]
        )

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Unit-length sentence vectors (masked mean of the token vectors when the encoder
        returns one vector per token), float32 ``[len(texts), dim]``."""
        encodings = self._tokenizer.encode_batch(list(texts))
        length = max(1, max(len(e.ids) for e in encodings))
        ids = np.zeros((len(encodings), length), np.int64)
        mask = np.zeros((len(encodings), length), np.int64)
        for row, e in enumerate(encodings):
            ids[row, : len(e.ids)] = e.ids
            mask[row, : len(e.ids)] = e.attention_mask
        feeds = {"input_ids": ids}
        if "attention_mask" in self._inputs:
            feeds["attention_mask"] = mask
        if "token_type_ids" in self._inputs:
            feeds["token_type_ids"] = np.zeros_like(ids)
        output = np.asarray(self._session.run(feeds)[0], dtype=np.float32)
        if output.ndim == 3:
            weights = mask[:, :, None].astype(np.float32)
            output = (output * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1.0)
        norms = np.linalg.norm(output, axis=1, keepdims=True)
        return (output / np.maximum(norms, 1e-12)).astype(np.float32)

    def expand(self, query: str, k: int = 10) -> List[Tuple[str, float]]:
        """The ``k`` keywords most similar to ``query``, best first, as ``(keyword, cosine)``.
        A query without any token the encoder's vocabulary knows gives ``[]``; a keyword equal
        to the query (ignoring case and surrounding spaces) is not returned."""
        k = check_k(k)
        query = check_text(query, "query")
        encoding = self._tokenizer.encode(query)
        known = [i for i, special in zip(encoding.ids, encoding.special_tokens_mask)
                 if not special and i not in self._unknown_ids]
        if not known:
            return []
        scores = self.keyword_vectors @ self.encode([query])[0]
        order = np.lexsort((np.arange(len(scores)), -scores))
        own = query.strip().lower()
        out = []
        for j in order:
            if self._normal_keywords[j] != own:
                out.append((self.keywords[j], float(scores[j])))
                if len(out) == k:
                    break
        return out

    def expand_many(self, queries: Sequence[str], k: int = 10) -> List[List[Tuple[str, float]]]:
        """:meth:`expand` for every query, in order."""
        if isinstance(queries, str) or not isinstance(queries, Iterable):
            raise DTypeError(f"queries must be a list of str, got {type(queries).__name__}")
        return [self.expand(q, k) for q in queries]

    def __repr__(self) -> str:
        return f"EncoderKeywordModel(keywords={len(self.keywords)}, dim={self.keyword_vectors.shape[1]})"

