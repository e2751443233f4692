"""The keyword model's ONNX graph: term lookup, pooling, int8 similarity, co-occurrence
evidence and TopK, written with shoprec's own protobuf encoder (:mod:`.onnx_proto`)."""

from __future__ import annotations

from typing import Any, Dict, Optional, Tuple

import numpy as np

from .. import _core
from . import onnx_proto as _onnx

__all__ = ["write_onnx", "conditional_weights", "is_model_number", "IR_VERSION", "OPSET"]

# ONNX IR version 8 and opset 16: ScatterElements with reduction="add" needs opset 16;
# onnxruntime reads both since release 1.11 (2022).
IR_VERSION = 8
OPSET = 16
_EPS = 1e-12


def _quantize_rows(matrix: np.ndarray, levels: int, signed: bool) -> Tuple[np.ndarray, np.ndarray]:
    """Symmetric per-row quantization: ``matrix ~ q * scale[:, None]``."""
    peak = np.abs(matrix).max(axis=1) if matrix.size else np.zeros(matrix.shape[0], np.float32)
    scale = np.where(peak > 0, peak / levels, 1.0).astype(np.float32)
    q = np.rint(matrix / scale[:, None])
    if signed:
        return np.clip(q, -levels, levels).astype(np.int8), scale
    return np.clip(q, 0, levels).astype(np.uint8), scale



def conditional_weights(indptr: np.ndarray, indices: np.ndarray, data: np.ndarray, doc_freq: np.ndarray, damping: float) -> np.ndarray:
    """Co-occurrence evidence ``count(t, j) / (df(t) * df(j) ** damping)`` for every stored
    pair of a CSR count matrix (rows ``t``, columns ``j``): the share of ``t``'s texts that
    also name ``j`` (``P(j | t)``), damped by how common ``j`` is overall, so that generic
    terms (包邮, 新款) do not top every list while a brand named in a few titles still counts."""
    df = np.maximum(doc_freq.astype(np.float64), 1.0)
    rows = np.repeat(np.arange(len(indptr) - 1), np.diff(indptr))
    return (data / (df[rows] * df[indices] ** damping)).astype(np.float32)


def _evidence(indptr: np.ndarray, indices: np.ndarray, data: np.ndarray, keyword_of_term: np.ndarray, per_term: int) -> Tuple[np.ndarray, np.ndarray]:
    """For every term, its ``per_term`` largest positive values towards one-term keywords
    (ties by keyword id): ``(keyword ids [V, m], weights [V, m])``, padded with keyword 0 and
    weight 0. Vectorised: one sort of all stored values by (term, value desc, keyword)."""
    n_terms = len(indptr) - 1
    m = max(per_term, 1)
    ids = np.zeros((n_terms, m), np.int64)
    weights = np.zeros((n_terms, m), np.float32)
    if per_term == 0 or len(indices) == 0:
        return ids, weights
    rows = np.repeat(np.arange(n_terms), np.diff(indptr))
    cols = keyword_of_term[indices]
    keep = (cols >= 0) & (data > 0)
    rows, cols, vals = rows[keep], cols[keep], data[keep]
    order = np.lexsort((cols, -vals, rows))
    rows, cols, vals = rows[order], cols[order], vals[order]
    rank = np.arange(len(rows)) - np.searchsorted(rows, rows, side="left")
    chosen = rank < m
    ids[rows[chosen], rank[chosen]] = cols[chosen]
    weights[rows[chosen], rank[chosen]] = vals[chosen]
    return ids, weights


def is_model_number(keyword: str) -> bool:
    """Keywords holding an ASCII digit (8864-ig3, ddr3, 3.5mm, iphone14, 2017): model numbers
    and specifications, capped in every expansion so that they never crowd out words."""
    return any("0" <= c <= "9" for c in keyword)


FORMAT = "shoprec-keywords"
FORMAT_VERSION = 1


def write_onnx(
    term_vectors: np.ndarray,
    keyword_vectors: np.ndarray,
    evidence_ids: np.ndarray,
    evidence_weights: np.ndarray,
    evidence_weight: float,
    precision: str,
    meta: Dict[str, Any],
    model_numbers: Optional[np.ndarray] = None,
    model_number_share: float = 1.0,
) -> bytes:
    """The keyword model as ONNX bytes. Inputs ``token_ids`` (int64 [T], known term ids) and
    ``k`` (int64 [1], >= 1); outputs ``scores`` (float [n]) and ``keyword_ids`` (int64 [n]),
    best first, ``n = min(k, number of keywords)``.

    ``model_numbers`` (bool [n_keywords]) marks model-number keywords, which must come last:
    at most ``max(1, floor(k * model_number_share), k - n_words)`` of them (share in thousandths) are returned (the best ones), the rest of
    the ``k`` places go to the best other keywords; ``n`` is then at most the number of other
    keywords plus that cap. Done in the graph: TopK over a slice of the words, TopK over a slice
    of the model numbers with the cap, and TopK over both lists."""
    g = _onnx.GraphBuilder()
    n_keywords, dim = keyword_vectors.shape
    axis0 = g.constant("axis0", np.array([0], np.int64))
    axis1 = g.constant("axis1", np.array([1], np.int64))
    flat = g.constant("flat", np.array([-1], np.int64))
    eps = g.constant("eps", np.array(_EPS, np.float32))
    # int8 models keep keyword ids of the evidence in int16 when they fit; fp32 models are
    # plain 32-bit throughout (the comparison the int8 size ratio is measured against).
    small_ids = precision == "int8" and n_keywords <= np.iinfo(np.int16).max
    id_dtype = np.int16 if small_ids else np.int32

    if precision == "fp32":
        table = g.constant("term_vectors", term_vectors.astype(np.float32))
        rows = g.op("Gather", table, "token_ids", axis=0)
    else:
        q_terms, term_scales = _quantize_rows(term_vectors, 127, signed=True)
        table = g.constant("term_vectors_int8", q_terms)
        scales = g.constant("term_scales", term_scales.reshape(-1, 1))
        rows = g.op("Mul", g.op("Cast", g.op("Gather", table, "token_ids", axis=0), to=_onnx.FLOAT),
                    g.op("Gather", scales, "token_ids", axis=0))
    pooled = g.op("ReduceSum", rows, axis0, keepdims=1)  # [1, dim]
    norm = g.op("Sqrt", g.op("Add", g.op("ReduceSum", g.op("Mul", pooled, pooled), axis1, keepdims=1), eps))
    query = g.op("Div", pooled, norm)
    if precision == "fp32":
        keys = g.constant("keyword_vectors_t", np.ascontiguousarray(keyword_vectors.T.astype(np.float32)))
        similarity = g.op("MatMul", query, keys)
    else:
        q_keys, key_scales = _quantize_rows(keyword_vectors, 127, signed=True)
        keys = g.constant("keyword_vectors_t_int8", np.ascontiguousarray(q_keys.T))
        key_scale = g.constant("keyword_scales", key_scales)
        q8, q_scale, q_zero = g.op("DynamicQuantizeLinear", query, n_out=3)
        product = g.op("MatMulInteger", q8, keys, q_zero)
        similarity = g.op("Mul", g.op("Cast", product, to=_onnx.FLOAT), g.op("Mul", q_scale, key_scale))
    similarity = g.op("Reshape", similarity, flat)  # [n_keywords]

    ev_ids = g.constant("evidence_keyword_ids", evidence_ids.astype(id_dtype))
    gathered_ids = g.op("Reshape", g.op("Cast", g.op("Gather", ev_ids, "token_ids", axis=0), to=_onnx.INT64), flat)
    if precision == "fp32":
        ev_w = g.constant("evidence_weights", evidence_weights.astype(np.float32) * np.float32(evidence_weight))
        gathered_w = g.op("Gather", ev_w, "token_ids", axis=0)
    else:
        q_w, w_scales = _quantize_rows(evidence_weights.astype(np.float32) * np.float32(evidence_weight), 255, signed=False)
        ev_w = g.constant("evidence_weights_uint8", q_w)
        ev_s = g.constant("evidence_scales", w_scales.reshape(-1, 1))
        gathered_w = g.op("Mul", g.op("Cast", g.op("Gather", ev_w, "token_ids", axis=0), to=_onnx.FLOAT),
                          g.op("Gather", ev_s, "token_ids", axis=0))
    zeros = g.op("ConstantOfShape", g.constant("n_keywords_shape", np.array([n_keywords], np.int64)))  # float32 zeros
    evidence = g.op("ScatterElements", zeros, gathered_ids, g.op("Reshape", gathered_w, flat), axis=0, reduction="add")
    total = g.op("Add", similarity, evidence)
    numbers = np.zeros(n_keywords, bool) if model_numbers is None else np.asarray(model_numbers, bool)
    n_numbers = int(numbers.sum())
    n_words = n_keywords - n_numbers
    if numbers.shape != (n_keywords,) or numbers[:n_words].any():
        raise ValueError("model_numbers must hold one flag per keyword, the model numbers last")
    if n_numbers == 0 or n_words == 0 or model_number_share >= 1.0:
        k = g.op("Min", "k", g.constant("n_keywords", np.array([n_keywords], np.int64)))
        g.op("TopK", total, k, axis=0, largest=1, sorted=1, outputs=["scores", "keyword_ids"])
    else:
        # Words are keywords [0, n_words), model numbers [n_words, n_keywords): two slices, a
        # TopK over each (the second capped), and a TopK over both short lists.
        # cap = min(max(1, floor(k * share), k - n_words), k, n_numbers) with share in
        # thousandths: model numbers also fill the places the catalogue's words cannot (a
        # catalogue of few words still gets k keywords; they never displace a word).
        per_mille = int(round(model_number_share * 1000))
        split = g.constant("n_words", np.array([n_words], np.int64))
        k_words = g.op("Min", "k", split)
        share = g.op("Div", g.op("Mul", "k", g.constant("share_per_mille", np.array([per_mille], np.int64))),
                     g.constant("thousand", np.array([1000], np.int64)))
        cap = g.op("Min", g.op("Max", share, g.constant("one", np.array([1], np.int64)), g.op("Sub", "k", split)), "k",
                   g.constant("n_model_numbers", np.array([n_numbers], np.int64)))
        start = g.constant("zero", np.array([0], np.int64))
        end = g.constant("n_keywords", np.array([n_keywords], np.int64))
        w_scores, w_ids = g.op("TopK", g.op("Slice", total, start, split, axis0), k_words, axis=0, largest=1, sorted=1, n_out=2)
        n_scores, n_local = g.op("TopK", g.op("Slice", total, split, end, axis0), cap, axis=0, largest=1, sorted=1, n_out=2)
        both_ids = g.op("Concat", w_ids, g.op("Add", n_local, split), axis=0)
        both_scores = g.op("Concat", w_scores, n_scores, axis=0)
        k_out = g.op("Min", "k", g.op("Add", k_words, cap))
        _, top = g.op("TopK", both_scores, k_out, axis=0, largest=1, sorted=1, outputs=["scores", "top_positions"], n_out=2)
        g.op("Gather", both_ids, top, axis=0, outputs=["keyword_ids"])

    metadata = {
        "shoprec.format": FORMAT,
        "shoprec.format_version": str(FORMAT_VERSION),
        "shoprec.vocab_size": str(term_vectors.shape[0]),
        "shoprec.dim": str(dim),
        "shoprec.n_keywords": str(n_keywords),
        "shoprec.precision": precision,
        "shoprec.tokenizer_version": meta["tokenizer"]["version"],
        "shoprec.tokenizer_fingerprint": meta["tokenizer"]["fingerprint"],
    }
    inputs = [_onnx.value_info("token_ids", _onnx.INT64, ["n_tokens"]), _onnx.value_info("k", _onnx.INT64, [1])]
    outputs = [_onnx.value_info("scores", _onnx.FLOAT, ["k"]), _onnx.value_info("keyword_ids", _onnx.INT64, ["k"])]
    return g.model("shoprec_keywords", inputs, outputs, ir_version=IR_VERSION, opset=OPSET,
                   producer_version=_core.__version__, metadata=metadata)
