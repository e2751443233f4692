"""The keyword model's ONNX graph: term lookup, pooling, int8 similarity, co-occurrence
evidence and TopK, written with shoprec's own protobuf encoder (:mod:`.onnx_proto`)."""

from __future__ import annotations

from typing import Any, Dict, Tuple

import numpy as np

from .. import _core
from . import onnx_proto as _onnx

__all__ = ["write_onnx", "IR_VERSION", "OPSET"]

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



def _evidence(indptr: np.ndarray, indices: np.ndarray, data: np.ndarray, keyword_of_term: np.ndarray, per_term: int) -> Tuple[np.ndarray, np.ndarray]:
    """For every term, its ``per_term`` largest PPMI values towards one-term keywords:
    ``(keyword ids [V, m], weights [V, m])``, padded with keyword 0 and weight 0."""
    n_terms = len(indptr) - 1
    m = max(per_term, 1)
    ids = np.zeros((n_terms, m), np.int64)
    weights = np.zeros((n_terms, m), np.float32)
    if per_term == 0:
        return ids, weights
    columns = keyword_of_term[indices]
    for term in range(n_terms):
        lo, hi = indptr[term], indptr[term + 1]
        cols, vals = columns[lo:hi], data[lo:hi]
        keep = cols >= 0
        cols, vals = cols[keep], vals[keep]
        if len(vals) > m:
            top = np.argpartition(-vals, m - 1)[:m]
            cols, vals = cols[top], vals[top]
        ids[term, : len(cols)] = cols
        weights[term, : len(vals)] = vals
    return ids, weights


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
) -> bytes:
    """The keyword model as ONNX bytes. Inputs ``token_ids`` (int64 [T], known term ids) and
    ``k`` (int64 [1], at most the number of keywords); outputs ``scores`` (float [k]) and
    ``keyword_ids`` (int64 [k]), best first."""
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
    zeros = g.constant("zeros", np.zeros(n_keywords, np.float32))
    evidence = g.op("ScatterElements", zeros, gathered_ids, g.op("Reshape", gathered_w, flat), axis=0, reduction="add")
    total = g.op("Add", similarity, evidence)
    g.op("TopK", total, "k", axis=0, largest=1, sorted=1, outputs=["scores", "keyword_ids"])

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
