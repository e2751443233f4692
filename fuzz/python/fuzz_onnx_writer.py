"""atheris: the ONNX writer (shoprec.keywords.graph.write_onnx with onnx_proto) on random
shapes and values: the bytes must parse back with the ``onnx`` package, pass its checker,
carry the metadata and initializers given, and (fp32) run in onnxruntime to the scores of a
numpy reference of the graph.

    PYTHONPATH=/path/to/atheris python fuzz/python/fuzz_onnx_writer.py fuzz/corpus/onnx_writer -max_total_time=600
"""

import sys

import atheris

with atheris.instrument_imports(include=["shoprec"]):
    import numpy as np
    import onnx
    import onnxruntime as ort
    from onnx import numpy_helper

    import _common  # noqa: F401 - puts the worktree's python/ on sys.path
    from shoprec.keywords import graph

OPTIONS = ort.SessionOptions()
OPTIONS.intra_op_num_threads = 1
OPTIONS.inter_op_num_threads = 1


def floats(fdp, shape, scale=4.0):
    n = int(np.prod(shape))
    raw = np.array([fdp.ConsumeFloatInRange(-scale, scale) for _ in range(n)], dtype=np.float32)
    return raw.reshape(shape)


def reference(terms, keywords, ev_ids, ev_w, ev_weight, token_ids, k):
    pooled = terms[token_ids].astype(np.float64).sum(axis=0)
    query = pooled / np.sqrt((pooled * pooled).sum() + graph._EPS)
    total = keywords.astype(np.float64) @ query
    np.add.at(total, ev_ids[token_ids].reshape(-1), (ev_w[token_ids] * np.float32(ev_weight)).reshape(-1))
    return np.sort(total)[::-1][:k]


def one_input(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    n_terms = fdp.ConsumeIntInRange(1, 12)
    n_keywords = fdp.ConsumeIntInRange(1, 12)
    dim = fdp.ConsumeIntInRange(1, 8)
    per_term = fdp.ConsumeIntInRange(1, 4)
    precision = "fp32" if fdp.ConsumeBool() else "int8"
    terms = floats(fdp, (n_terms, dim))
    keywords = floats(fdp, (n_keywords, dim))
    ev_ids = np.array([fdp.ConsumeIntInRange(0, n_keywords - 1) for _ in range(n_terms * per_term)],
                      np.int64).reshape(n_terms, per_term)
    ev_w = np.abs(floats(fdp, (n_terms, per_term), 2.0))
    ev_weight = fdp.ConsumeFloatInRange(0.0, 1.0)
    meta = {"tokenizer": {"version": fdp.ConsumeUnicodeNoSurrogates(12),
                          "fingerprint": fdp.ConsumeUnicodeNoSurrogates(20)}}
    blob = graph.write_onnx(terms, keywords, ev_ids, ev_w, ev_weight, precision, meta)
    model = onnx.load_model_from_string(blob)
    onnx.checker.check_model(model)
    props = {p.key: p.value for p in model.metadata_props}
    assert props["shoprec.tokenizer_fingerprint"] == meta["tokenizer"]["fingerprint"], props
    assert props["shoprec.n_keywords"] == str(n_keywords) and props["shoprec.dim"] == str(dim)
    inits = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    if precision == "fp32":
        assert np.array_equal(inits["term_vectors"], terms)
        assert np.array_equal(inits["keyword_vectors_t"], keywords.T)
        session = ort.InferenceSession(blob, OPTIONS, providers=["CPUExecutionProvider"])
        token_ids = np.array([fdp.ConsumeIntInRange(0, n_terms - 1) for _ in range(fdp.ConsumeIntInRange(1, 4))],
                             np.int64)
        k = fdp.ConsumeIntInRange(1, n_keywords)
        scores, _ = session.run(None, {"token_ids": token_ids, "k": np.array([k], np.int64)})
        want = reference(terms, keywords, ev_ids, ev_w, ev_weight, token_ids, k)
        assert np.allclose(scores, want, rtol=1e-4, atol=1e-4), (scores, want)
    else:
        assert inits["term_vectors_int8"].dtype == np.int8 and inits["term_vectors_int8"].shape == (n_terms, dim)


if __name__ == "__main__":
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()
