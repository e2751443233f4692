"""KeywordModel.from_encoder and shoprec.keywords.export.quantize_encoder, with a tiny randomly
initialised encoder and tokenizer made here (never a download)."""

import shutil

import numpy as np
import pytest

import shoprec
from shoprec.keywords import onnx_proto as _onnx
from shoprec.keywords import KeywordModel

pytest.importorskip("onnxruntime")
tokenizers = pytest.importorskip("tokenizers")
onnx = pytest.importorskip("onnx")

WORDS = ["laptop", "notebook", "keyboard", "mouse", "wireless", "dress", "skirt", "summer", "pan", "steel", "knife"]
KEYWORDS = ["laptop", "wireless mouse", "summer dress", "steel pan", "knife", "keyboard", "skirt"]
HIDDEN = 16


def make_encoder(directory, seed=0):
    """A word-level tokenizer and a one-layer encoder: token embedding, then a dense layer,
    one vector per token (``last_hidden_state``)."""
    rng = np.random.default_rng(seed)
    vocab = {"[PAD]": 0, "[UNK]": 1, **{w: i + 2 for i, w in enumerate(WORDS)}}
    tok = tokenizers.Tokenizer(tokenizers.models.WordLevel(vocab, unk_token="[UNK]"))
    tok.normalizer = tokenizers.normalizers.Lowercase()
    tok.pre_tokenizer = tokenizers.pre_tokenizers.Whitespace()
    directory.mkdir(parents=True, exist_ok=True)
    tok.save(str(directory / "tokenizer.json"))
    embedding = rng.normal(size=(len(vocab), HIDDEN)).astype(np.float32)
    dense = rng.normal(size=(HIDDEN, HIDDEN)).astype(np.float32)
    g = _onnx.GraphBuilder()
    g.op("MatMul", g.op("Gather", g.constant("embedding", embedding), "input_ids", axis=0), g.constant("dense", dense),
         outputs=["last_hidden_state"])
    model = g.model(
        "tiny_encoder",
        [_onnx.value_info("input_ids", _onnx.INT64, ["batch", "sequence"]),
         _onnx.value_info("attention_mask", _onnx.INT64, ["batch", "sequence"])],
        [_onnx.value_info("last_hidden_state", _onnx.FLOAT, ["batch", "sequence", HIDDEN])],
        ir_version=8, opset=13, producer_version="test", metadata={},
    )
    (directory / "model.onnx").write_bytes(model)
    return vocab, embedding, dense


def reference_vector(text, vocab, embedding, dense):
    ids = [vocab.get(w, 1) for w in text.lower().split()]
    v = (embedding[ids] @ dense).mean(axis=0)
    return v / np.linalg.norm(v)


@pytest.fixture
def encoder_dir(tmp_path):
    tables = make_encoder(tmp_path / "enc")
    return tmp_path / "enc", tables


def test_expand_matches_numpy_reference(encoder_dir):
    directory, tables = encoder_dir
    model = KeywordModel.from_encoder(directory, KEYWORDS)
    onnx.checker.check_model(onnx.load(str(directory / "model.onnx")), full_check=True)
    keyword_vectors = np.array([reference_vector(kw, *tables) for kw in KEYWORDS])
    np.testing.assert_allclose(model.keyword_vectors, keyword_vectors, atol=1e-5)
    for query in ["wireless keyboard", "summer", "Steel KNIFE pan", "laptop"]:
        scores = keyword_vectors @ reference_vector(query, *tables)
        order = [j for j in np.lexsort((np.arange(len(scores)), -scores)) if KEYWORDS[j] != query.lower()][:3]
        got = model.expand(query, k=3)
        assert [kw for kw, _ in got] == [KEYWORDS[j] for j in order]
        np.testing.assert_allclose([s for _, s in got], scores[order], atol=1e-5)
    assert "laptop" not in [kw for kw, _ in model.expand("laptop", k=10)]
    assert model.expand_many(["summer", ""], k=2) == [model.expand("summer", k=2), []]


@pytest.mark.parametrize("query", ["", "   ", "😀", "unknownword another"])
def test_queries_without_known_tokens_give_nothing(encoder_dir, query):
    model = KeywordModel.from_encoder(encoder_dir[0], KEYWORDS)
    assert model.expand(query) == []


def test_missing_or_bad_files(encoder_dir, tmp_path):
    directory, _ = encoder_dir
    broken = tmp_path / "broken"
    shutil.copytree(directory, broken)
    (broken / "tokenizer.json").unlink()
    with pytest.raises(shoprec.ModelFileError, match="tokenizer.json"):
        KeywordModel.from_encoder(broken, KEYWORDS)
    shutil.copy(directory / "tokenizer.json", broken / "tokenizer.json")
    (broken / "model.onnx").write_bytes(b"not a model")
    with pytest.raises(shoprec.ModelFileError):
        KeywordModel.from_encoder(broken, KEYWORDS)
    with pytest.raises(shoprec.InvalidArgumentError):
        KeywordModel.from_encoder(directory, [])
    with pytest.raises(shoprec.DTypeError):
        KeywordModel.from_encoder(directory, "laptop")


def quantization_bound(text, vocab, embedding, dense):
    """An upper bound on how far the int8 encoder's unit vector for ``text`` can lie from the
    fp32 one (L2), from how dynamic quantization works, not from one release's rounding.

    Weights: symmetric per output channel, at worst 7 bits (``reduce_range``): error <= s_c / 2
    with s_c = max|W[:, c]| / 63. Activations: asymmetric uint8 over the whole input tensor,
    whose range is within the embedding table's: error <= s_a / 2. So each output of a token
    is off by at most sum_i |x_i| s_c / 2 + s_a / 2 sum_i |W_ic| + n s_a s_c / 4; the mean over
    tokens by at most the mean of that, and a vector v off by e is, once both are scaled to
    unit length, off by at most 2 |e| / |v|."""
    s_c = np.abs(dense).max(axis=0) / 63.0
    s_a = (max(0.0, embedding.max()) - min(0.0, embedding.min())) / 255.0
    ids = [vocab.get(w, 1) for w in text.lower().split()]
    x = np.abs(embedding[ids])
    per_token = x @ np.ones_like(dense) * (s_c / 2) + (s_a / 2) * np.abs(dense).sum(axis=0) + HIDDEN * s_a * s_c / 4
    error = np.linalg.norm(per_token.mean(axis=0))
    return 2 * error / np.linalg.norm((embedding[ids] @ dense).mean(axis=0))


def test_quantized_encoder_stays_close(encoder_dir, tmp_path):
    from shoprec.keywords.export import quantize_encoder

    directory, tables = encoder_dir
    quantized = tmp_path / "int8"
    quantized.mkdir()
    quantize_encoder(directory / "model.onnx", quantized / "model.onnx")
    shutil.copy(directory / "tokenizer.json", quantized / "tokenizer.json")
    proto = onnx.load(str(quantized / "model.onnx"))
    assert any(t.data_type == onnx.TensorProto.INT8 for t in proto.graph.initializer)
    fp32 = KeywordModel.from_encoder(directory, KEYWORDS)
    int8 = KeywordModel.from_encoder(quantized, KEYWORDS)
    bounds = np.array([quantization_bound(kw, *tables) for kw in KEYWORDS])
    distance = np.linalg.norm(fp32.keyword_vectors - int8.keyword_vectors, axis=1)
    assert np.all(distance <= bounds), (distance, bounds)
    assert np.all(distance > 0)  # the weights really were quantized
    for query in ["wireless keyboard", "summer", "steel knife"]:
        # Scores are dot products of unit vectors: each moves by at most the two vectors' bounds.
        want = fp32.keyword_vectors @ fp32.encode([query])[0]
        got = int8.keyword_vectors @ int8.encode([query])[0]
        assert np.all(np.abs(got - want) <= bounds + quantization_bound(query, *tables))
        assert [kw for kw, _ in int8.expand(query, k=3)] == [KEYWORDS[j] for j in np.argsort(-got, kind="stable")
                                                             if KEYWORDS[j] != query][:3]
