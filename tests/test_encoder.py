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


def test_quantized_encoder_stays_close(encoder_dir, tmp_path):
    from shoprec.keywords.export import quantize_encoder

    directory, _ = encoder_dir
    quantized = tmp_path / "int8"
    quantized.mkdir()
    quantize_encoder(directory / "model.onnx", quantized / "model.onnx")
    shutil.copy(directory / "tokenizer.json", quantized / "tokenizer.json")
    proto = onnx.load(str(quantized / "model.onnx"))
    assert any(t.data_type == onnx.TensorProto.INT8 for t in proto.graph.initializer)
    fp32 = KeywordModel.from_encoder(directory, KEYWORDS)
    int8 = KeywordModel.from_encoder(quantized, KEYWORDS)
    assert np.max(np.abs(fp32.keyword_vectors - int8.keyword_vectors)) < 0.05
    for query in ["wireless keyboard", "summer", "steel knife"]:
        assert fp32.expand(query, k=1)[0][0] == int8.expand(query, k=1)[0][0]
