"""shoprec.keywords.KeywordModel: the ONNX graph against a numpy reference of the same
computation, onnx.checker, build -> save -> load round trips, bad input and bad files."""

import json
import os
import threading

import numpy as np
import pytest

import shoprec
from shoprec.keywords import KeywordModel
from shoprec.keywords.model import MAX_QUERY_TERMS

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")
from onnx import numpy_helper  # noqa: E402

ELECTRONICS = ["laptop", "notebook", "keyboard", "mouse", "wireless", "bluetooth", "usb", "charger", "monitor"]
FASHION = ["dress", "skirt", "summer", "floral", "cotton", "blouse", "linen", "sandals", "scarf"]
KITCHEN = ["pan", "pot", "knife", "steel", "skillet", "ladle", "cutting", "board", "kettle"]
CHINESE = ["笔记本电脑 游戏本 键盘 鼠标", "游戏本 笔记本电脑 显卡 鼠标", "连衣裙 夏季 雪纺 长裙", "雪纺 连衣裙 长裙 夏季"]


def catalog(rng_seed=0, n=90):
    """Titles of three disjoint product families (five words each) plus a few Chinese ones."""
    rng = np.random.default_rng(rng_seed)
    titles = []
    for i in range(n):
        family = (ELECTRONICS, FASHION, KITCHEN)[i % 3]
        titles.append(" ".join(rng.choice(family, size=5, replace=False)))
    return titles + CHINESE * 3


@pytest.fixture(scope="module")
def models():
    texts = catalog()
    return {p: KeywordModel.build(texts, dim=8, precision=p, min_count=2, evidence_per_term=4) for p in ("fp32", "int8")}


def initializers(model):
    graph = onnx.load_from_string(model.onnx_bytes).graph
    return {t.name: numpy_helper.to_array(t) for t in graph.initializer}


def dynamic_quantize(x):
    """ONNX DynamicQuantizeLinear, as the operator's specification defines it."""
    x_min, x_max = min(0.0, float(x.min())), max(0.0, float(x.max()))
    scale = np.float32((x_max - x_min) / 255.0)
    zero = np.uint8(np.clip(np.rint(-x_min / scale), 0, 255)) if scale > 0 else np.uint8(0)
    q = np.clip(np.rint(x / scale) + zero, 0, 255).astype(np.uint8) if scale > 0 else np.zeros_like(x, np.uint8)
    return q, scale, zero


def reference_scores(model, ids):
    """Every keyword's score for term ids, computed in numpy from the model's own tables."""
    w = initializers(model)
    ids = np.asarray(ids)
    if "term_vectors" in w:
        rows = w["term_vectors"][ids]
    else:
        rows = w["term_vectors_int8"][ids].astype(np.float32) * w["term_scales"][ids]
    pooled = rows.sum(axis=0, keepdims=True)
    query = pooled / np.sqrt((pooled * pooled).sum(axis=1, keepdims=True) + np.float32(1e-12))
    if "keyword_vectors_t" in w:
        similarity = (query @ w["keyword_vectors_t"]).ravel()
    else:
        q8, q_scale, q_zero = dynamic_quantize(query)
        product = (q8.astype(np.int32) - int(q_zero)) @ w["keyword_vectors_t_int8"].astype(np.int32)
        similarity = (product.astype(np.float32) * (q_scale * w["keyword_scales"])).ravel()
    if "evidence_weights" in w:
        weights = w["evidence_weights"][ids]
    else:
        weights = w["evidence_weights_uint8"][ids].astype(np.float32) * w["evidence_scales"][ids]
    evidence = np.zeros(len(model.keywords), np.float32)
    np.add.at(evidence, w["evidence_keyword_ids"][ids].astype(np.int64).ravel(), weights.ravel())
    return similarity + evidence


def run_graph(model, ids, k):
    session = model._session.get()
    return session.run(None, {"token_ids": np.asarray(ids, np.int64), "k": np.array([k], np.int64)})


def test_checker_accepts_what_we_write(models):
    for model in models.values():
        proto = onnx.load_from_string(model.onnx_bytes)
        onnx.checker.check_model(proto, full_check=True)
        assert proto.ir_version == 8 and proto.opset_import[0].version == 16
        meta = {p.key: p.value for p in proto.metadata_props}
        assert meta["shoprec.vocab_size"] == str(len(model.vocab))
        assert meta["shoprec.precision"] == model.meta["precision"]
        assert meta["shoprec.tokenizer_fingerprint"] == model.meta["tokenizer"]["fingerprint"]


@pytest.mark.parametrize("precision", ["fp32", "int8"])
def test_graph_matches_numpy_reference(models, precision, rng):
    model = models[precision]
    n_keywords = len(model.keywords)
    for _ in range(25):
        ids = rng.choice(len(model.vocab), size=rng.integers(1, 6), replace=True)
        want = reference_scores(model, ids)
        scores, keyword_ids = run_graph(model, ids, n_keywords)
        assert sorted(keyword_ids.tolist()) == list(range(n_keywords))
        tolerance = 1e-5 if precision == "fp32" else 1e-4
        np.testing.assert_allclose(scores, want[keyword_ids], rtol=0, atol=tolerance)
        assert np.all(np.diff(scores) <= 0)
        top, _ = run_graph(model, ids, 3)
        np.testing.assert_allclose(top, np.sort(want)[::-1][:3], atol=tolerance)


@pytest.mark.parametrize("precision", ["fp32", "int8"])
def test_basic_graph_optimizations_give_the_fully_optimized_answers(models, precision, rng):
    """The model runs with onnxruntime's basic optimizations (its fused int8 product is
    slower); a session at the default level, with every fusion, scores every keyword alike."""
    from shoprec.keywords.session import LazySession

    model = models[precision]
    n_keywords = len(model.keywords)
    fused = LazySession(model.onnx_bytes, 1, optimization="all").get()
    assert model._session._optimization == "basic"
    for _ in range(25):
        ids = rng.choice(len(model.vocab), size=rng.integers(1, 6), replace=True)
        feed = {"token_ids": np.asarray(ids, np.int64), "k": np.array([n_keywords], np.int64)}
        by_keyword = []
        for session in (model._session.get(), fused):
            scores, keyword_ids = session.run(None, feed)
            full = np.full(n_keywords, np.nan, np.float32)
            full[keyword_ids] = scores
            by_keyword.append(full)
        np.testing.assert_allclose(by_keyword[0], by_keyword[1], rtol=0, atol=1e-6)
    with pytest.raises(ValueError, match="optimization"):
        LazySession(model.onnx_bytes, 1, optimization="extended")


def test_int8_within_quantisation_error_of_fp32(models, rng):
    """Both models are built from the same data and seed: same vocabulary, keywords and
    tables before quantisation, so the int8 scores differ from fp32 only by rounding."""
    fp32, int8 = models["fp32"], models["int8"]
    assert fp32.vocab == int8.vocab and fp32.keywords == int8.keywords
    for _ in range(25):
        ids = rng.choice(len(fp32.vocab), size=rng.integers(1, 4))
        a, b = reference_scores(fp32, ids), reference_scores(int8, ids)
        # Term and keyword rows to 1/127 of their peak, the query to 1/255 of its range,
        # evidence weights to 1/255 of their row's peak: a few hundredths at most.
        assert np.max(np.abs(a - b)) < 0.05
    w8, w32 = initializers(int8), initializers(fp32)
    assert w8["term_vectors_int8"].dtype == np.int8 and w8["keyword_vectors_t_int8"].dtype == np.int8
    assert w8["term_vectors_int8"].nbytes * 4 == w32["term_vectors"].nbytes


def test_golden_expansions_stay_in_the_product_family(models):
    for model in models.values():
        for family in (ELECTRONICS, FASHION, KITCHEN):
            for word in family[:3]:
                expanded = [kw for kw, _ in model.expand(word, k=5)]
                assert len(expanded) == 5
                assert word not in expanded
                assert set(expanded) <= set(family), (word, expanded)
        chinese = [kw for kw, _ in model.expand("游戏本", k=3)]
        assert set(chinese) <= {"笔记本电脑", "键盘", "鼠标", "显卡"}, chinese


def test_scores_are_sorted_and_k_is_respected(models):
    model = models["int8"]
    result = model.expand("wireless mouse", k=4)
    assert len(result) == 4
    scores = [s for _, s in result]
    assert scores == sorted(scores, reverse=True)
    assert not {"wireless", "mouse"} & {kw for kw, _ in result}
    assert len(model.expand("laptop", k=10_000)) == len(model.keywords) - 1


@pytest.mark.parametrize("query", ["", "   ", "\n\t", "😀😀", "\x00\x07", "zzzz unknownword", "!!!"])
def test_queries_without_known_terms_give_nothing(models, query):
    assert models["int8"].expand(query) == []


def test_very_long_query_is_truncated(models):
    model = models["int8"]
    long_query = "laptop " + "mouse " * 100_000
    assert model.expand(long_query, k=3) == model.expand("laptop mouse", k=3)
    ids, _ = model._term_ids_of(" ".join(model.vocab))
    assert len(ids) <= MAX_QUERY_TERMS


def test_subword_fallback_for_unknown_compound(models):
    model = models["fp32"]
    assert "笔记本电脑游戏本" not in model.vocab
    assert model.expand("笔记本电脑游戏本", k=3) == model.expand("笔记本电脑 游戏本", k=3)


@pytest.mark.parametrize(
    "call, error",
    [
        (lambda m: m.expand(123), shoprec.DTypeError),
        (lambda m: m.expand(None), shoprec.DTypeError),
        (lambda m: m.expand("laptop", k=0), shoprec.InvalidArgumentError),
        (lambda m: m.expand("laptop", k=2.5), shoprec.DTypeError),
        (lambda m: m.expand_many("laptop"), shoprec.DTypeError),
        (lambda m: m.expand_many(["laptop", 5]), shoprec.DTypeError),
    ],
)
def test_bad_queries_raise_named_errors(models, call, error):
    with pytest.raises(error):
        call(models["int8"])


@pytest.mark.parametrize(
    "kwargs, error",
    [
        (dict(texts="one string"), shoprec.DTypeError),
        (dict(texts=[1, 2]), shoprec.DTypeError),
        (dict(texts=[]), shoprec.InvalidArgumentError),
        (dict(texts=["a b", "c d"], min_count=2), shoprec.InvalidArgumentError),  # no term in 2 texts
        (dict(texts=catalog(), min_keyword_count=0), shoprec.InvalidArgumentError),
        (dict(texts=catalog(), dim=0), shoprec.InvalidArgumentError),
        (dict(texts=catalog(), seed=2**64), shoprec.InvalidArgumentError),
        (dict(texts=catalog(), seed=-1), shoprec.InvalidArgumentError),
        (dict(texts=catalog(), precision="int4"), shoprec.InvalidArgumentError),
        (dict(texts=catalog(), queries="laptop"), shoprec.DTypeError),
        (dict(texts=catalog(), keywords=["nothing known"]), shoprec.InvalidArgumentError),
        (dict(texts=catalog(), keywords=["laptop\nmouse"]), shoprec.InvalidArgumentError),
        (dict(texts=catalog(), evidence_weight=float("nan")), shoprec.InvalidArgumentError),
        (dict(texts=catalog(), keyword_damping=1.5), shoprec.InvalidArgumentError),
        (dict(texts=catalog(), keyword_damping=-0.1), shoprec.InvalidArgumentError),
        (dict(texts=catalog(), model_number_share=2.0), shoprec.InvalidArgumentError),
        (dict(texts=catalog(), model_number_share="x"), shoprec.DTypeError),
    ],
)
def test_bad_build_arguments_raise_named_errors(kwargs, error):
    with pytest.raises(error):
        KeywordModel.build(**kwargs)


def test_given_keywords_and_query_sessions():
    sessions = [["laptop", "gaming laptop"], ["dress", "floral dress"]] * 3
    model = KeywordModel.build(catalog(), queries=sessions, keywords=["gaming laptop", "mouse", "dress", "qqqq"],
                               dim=8, precision="fp32")
    assert model.keywords == ["gaming laptop", "mouse", "dress"]
    assert model.meta["keywords_dropped"] == 1
    assert model.meta["corpus"]["query_sessions"] == 6
    assert model.expand("gaming", k=1)[0][0] == "gaming laptop"
    assert "dress" not in [kw for kw, _ in model.expand("dress", k=3)]


def test_dimension_above_the_vocabulary_size():
    model = KeywordModel.build(catalog(), dim=100, min_count=2)
    assert len(model.vocab) < 100 and model.meta["dim"] == 100
    assert [kw for kw, _ in model.expand("laptop", 3)] and set(kw for kw, _ in model.expand("laptop", 3)) <= set(ELECTRONICS)


def test_build_is_deterministic_for_a_seed():
    a = KeywordModel.build(catalog(), dim=8, seed=3)
    b = KeywordModel.build(catalog(), dim=8, seed=3)
    assert a.onnx_bytes == b.onnx_bytes


def test_save_load_round_trip(models, tmp_path):
    for precision, model in models.items():
        target = tmp_path / precision
        model.save(target)
        assert sorted(os.listdir(target)) == ["keywords.txt", "manifest.json", "model.onnx", "userdict.txt", "vocab.txt"]
        assert not [p for p in os.listdir(tmp_path) if p.startswith(".")]  # no staging left
        loaded = KeywordModel.load(target)
        assert loaded.vocab == model.vocab and loaded.keywords == model.keywords
        for query in ["laptop", "floral dress", "游戏本", "steel pan knife"]:
            assert loaded.expand(query) == model.expand(query)
        assert loaded.expand_many(["laptop", "", "pan"], k=3) == [model.expand(q, k=3) for q in ["laptop", "", "pan"]]
        model.save(target)  # replacing an existing model is allowed
        assert KeywordModel.load(target).expand("pan") == model.expand("pan")


def test_save_refuses_foreign_directory(models, tmp_path):
    (tmp_path / "precious.txt").write_text("keep me")
    with pytest.raises(shoprec.InvalidArgumentError):
        models["int8"].save(tmp_path)
    assert (tmp_path / "precious.txt").read_text() == "keep me"


@pytest.fixture
def saved(models, tmp_path):
    models["int8"].save(tmp_path / "m")
    return tmp_path / "m"


def rewrite_manifest(path, edit):
    """Edit the manifest and give it a valid checksum again (SHA-256 of its sorted JSON
    without the checksum), as someone who knows the format would."""
    import hashlib

    manifest = json.loads((path / "manifest.json").read_text())
    edit(manifest)
    manifest.pop("checksum")
    body = json.dumps(manifest, sort_keys=True, ensure_ascii=False).encode("utf-8")
    manifest["checksum"] = hashlib.sha256(body).hexdigest()
    (path / "manifest.json").write_text(json.dumps(manifest))


def rewrite_meta(path, **changes):
    rewrite_manifest(path, lambda manifest: manifest["meta"].update(changes))


@pytest.mark.parametrize("name", ["model.onnx", "vocab.txt", "keywords.txt", "userdict.txt", "manifest.json"])
def test_missing_file(saved, name):
    (saved / name).unlink()
    with pytest.raises(shoprec.ModelFileError, match=name):
        KeywordModel.load(saved)


@pytest.mark.parametrize("name", ["model.onnx", "vocab.txt", "keywords.txt", "userdict.txt"])
def test_corrupted_file_fails_its_checksum(saved, name):
    data = bytearray((saved / name).read_bytes() or b"x")
    data[len(data) // 2] ^= 0xFF
    (saved / name).write_bytes(bytes(data))
    with pytest.raises(shoprec.ModelFileError, match="checksum"):
        KeywordModel.load(saved)


def test_corrupted_meta(saved):
    text = (saved / "manifest.json").read_text()
    (saved / "manifest.json").write_text(text.replace('"n_keywords": ', '"n_keywords": 1'))  # edited
    with pytest.raises(shoprec.ModelFileError, match="checksum"):
        KeywordModel.load(saved)
    (saved / "manifest.json").write_text("{not json")
    with pytest.raises(shoprec.ModelFileError):
        KeywordModel.load(saved)
    (saved / "manifest.json").write_text('{"format": "something else"}')
    with pytest.raises(shoprec.ModelFileError):
        KeywordModel.load(saved)


def test_newer_format_version(saved):
    rewrite_meta(saved, format_version=99)
    with pytest.raises(shoprec.ModelVersionError):
        KeywordModel.load(saved)


def test_tokenizer_fingerprint_mismatch(saved):
    rewrite_manifest(saved, lambda manifest: manifest["meta"]["tokenizer"].update(fingerprint="0" * 16))
    with pytest.raises(shoprec.ModelFileError, match="tokenizer"):
        KeywordModel.load(saved)


def test_unreadable_onnx_with_matching_checksum(saved):
    import hashlib

    (saved / "model.onnx").write_bytes(b"\x08\x01garbage")
    entry = {"sha256": hashlib.sha256(b"\x08\x01garbage").hexdigest(), "size": 9}
    rewrite_manifest(saved, lambda manifest: manifest["files"].update({"model.onnx": entry}))
    # The session opens at the first expand (lazily, so a model loaded before fork() works).
    with pytest.raises(shoprec.ModelFileError, match="onnxruntime"):
        KeywordModel.load(saved).expand("laptop")


def test_not_a_directory(tmp_path):
    with pytest.raises(shoprec.ModelFileError):
        KeywordModel.load(tmp_path / "absent")


def test_one_session_shared_by_threads(saved):
    model = KeywordModel.load(saved)
    queries = ["laptop", "dress", "pan", "wireless mouse", "游戏本", "cotton"] * 20
    want = [model.expand(q) for q in queries]
    session = model._session.get()
    results = {}

    def work(i):
        results[i] = [model.expand(q) for q in queries]

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(results[i] == want for i in range(4))
    assert model._session.get() is session


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_HYPOTHESIS_MODEL = {}


@settings(max_examples=150, deadline=None)
@given(
    query=st.one_of(
        st.text(max_size=40),
        st.lists(st.sampled_from(ELECTRONICS + FASHION + ["游戏本", "😀", "\x00", " "]), max_size=8).map(" ".join),
    ),
    k=st.integers(1, 50),
)
def test_hypothesis_any_query(query, k):
    """Any text: no exception, at most k results, sorted scores, never the query's own terms,
    the same answer twice."""
    if "m" not in _HYPOTHESIS_MODEL:
        _HYPOTHESIS_MODEL["m"] = KeywordModel.build(catalog(), dim=8, precision="int8", min_count=2, evidence_per_term=4)
    model = _HYPOTHESIS_MODEL["m"]
    result = model.expand(query, k)
    assert len(result) <= k
    scores = [s for _, s in result]
    assert scores == sorted(scores, reverse=True) and all(np.isfinite(scores))
    own = set(shoprec.tokenize(query))
    assert not own & {kw for kw, _ in result}
    assert result == model.expand(query, k)


# ------------------------------------------------------------------ co-occurrence evidence and caps
GADGETS = ["laptop", "charger", "type-c", "usb", "adapter", "8864-ig3", "8864-ig5", "ddr3", "x200", "ssd", "battery"]


def gadget_catalog(n=60, seed=1):
    rng = np.random.default_rng(seed)
    titles = [" ".join(rng.choice(GADGETS, size=5, replace=False)) for _ in range(n)]
    return titles + catalog()


def evidence_reference(model, damping, weight):
    """Dense ``weight * count(t, j) / (df(t) * df(j) ** damping)`` over vocabulary terms (rows)
    and keywords (columns), from the texts in plain numpy: titles naming both, df = titles naming one."""
    texts = gadget_catalog()
    index = {t: i for i, t in enumerate(model.vocab)}
    docs = np.zeros((len(texts), len(model.vocab)))
    for d, text in enumerate(texts):
        for token in model._tokenizer.tokenize(text):  # the model's tokenizer (with its phrases)
            docs[d, index[token]] = 1.0
    counts = docs.T @ docs
    df = np.diag(counts).copy()
    np.fill_diagonal(counts, 0.0)
    links = counts / (df[:, None] * df[None, :] ** damping)
    columns = [index[kw] for kw in model.keywords]
    return weight * links[:, columns]


@pytest.mark.parametrize("damping", [0.0, 0.25, 1.0])
def test_conditional_evidence_matches_numpy_reference(damping):
    model = KeywordModel.build(gadget_catalog(), dim=8, precision="fp32", evidence_per_term=1000,
                               evidence_weight=0.7, keyword_damping=damping)
    w = initializers(model)
    got = np.zeros((len(model.vocab), len(model.keywords)))
    np.add.at(got, (np.arange(len(model.vocab))[:, None], w["evidence_keyword_ids"].astype(np.int64)), w["evidence_weights"])
    np.testing.assert_allclose(got, evidence_reference(model, damping, 0.7), rtol=1e-5, atol=1e-7)


def test_evidence_keeps_each_terms_strongest_links():
    model = KeywordModel.build(gadget_catalog(), dim=8, precision="fp32", evidence_per_term=3)
    w = initializers(model)
    want = evidence_reference(model, 0.25, 1.0)
    for term in range(len(model.vocab)):
        top = np.sort(want[term])[::-1][:3]
        np.testing.assert_allclose(np.sort(w["evidence_weights"][term])[::-1], np.where(top > 0, top, 0), rtol=1e-5)
        kept = w["evidence_keyword_ids"][term][w["evidence_weights"][term] > 0]
        assert np.all(want[term, kept] >= top[-1] * (1 - 1e-5))


def capped_reference(scores, numbers, k, share):
    """The best ``k`` keywords by score with at most ``max(1, floor(k * share), k - n_words)``
    model numbers (they fill what the words cannot)."""
    cap = max(1, k * round(share * 1000) // 1000, k - int((~numbers).sum()))
    out, taken = [], 0
    for j in np.argsort(-scores, kind="stable"):
        if numbers[j]:
            if taken == cap:
                continue
            taken += 1
        out.append(int(j))
        if len(out) == k:
            break
    return out


@pytest.mark.parametrize("precision", ["fp32", "int8"])
@pytest.mark.parametrize("share", [0.0, 0.2, 0.5])
def test_model_numbers_are_capped_as_the_reference(precision, share, rng):
    model = KeywordModel.build(gadget_catalog(), dim=8, precision=precision, model_number_share=share)
    numbers = np.array([any(c.isdigit() for c in kw) for kw in model.keywords])
    assert numbers.sum() >= 4 and not numbers[: len(numbers) - numbers.sum()].any()  # model numbers last
    for _ in range(20):
        ids = rng.choice(len(model.vocab), size=rng.integers(1, 4))
        want = reference_scores(model, ids)
        for k in (1, 3, 10, len(model.keywords)):
            scores, keyword_ids = run_graph(model, ids, k)
            expected = capped_reference(want, numbers, k, share)
            assert len(keyword_ids) == len(expected)
            np.testing.assert_allclose(scores, want[expected], atol=1e-4)
            assert np.all(np.diff(scores) <= 0)
            assert numbers[keyword_ids].sum() == numbers[expected].sum()


def test_model_numbers_never_crowd_out_words():
    model = KeywordModel.build(gadget_catalog(), dim=8)
    uncapped = KeywordModel.build(gadget_catalog(), dim=8, model_number_share=1.0)
    expanded = [kw for kw, _ in model.expand("8864-ig5", k=10)]
    assert sum(any(c.isdigit() for c in kw) for kw in expanded) <= 2 and len(expanded) == 10
    assert len(uncapped.expand("laptop", k=100)) == len(uncapped.keywords) - 1
    # fewer words than k: model numbers fill the rest even at the smallest share, so every
    # keyword but the query's own comes back
    smallest = KeywordModel.build(gadget_catalog(), dim=8, model_number_share=0.0)
    assert len(smallest.expand("laptop", k=100)) == len(smallest.keywords) - 1


def test_unknown_latin_spelling_and_mixed_script_use_known_parts():
    model = KeywordModel.build(gadget_catalog(), dim=8, precision="fp32")
    assert "typec" not in model.vocab and "type-c" in model.vocab
    assert model.expand("typec", k=5) == model.expand("type-c", k=5)
    assert model.expand("游戏本typec", k=5) == model.expand("游戏本 type-c", k=5)
    assert model.expand("laptopqqq 游戏本", k=5) == model.expand("laptop 游戏本", k=5)
