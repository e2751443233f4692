"""Regressions of the directory readers (the search index and the Shop, read through
shoprec.io.directory): manifests and files that once escaped as an exception other than
ModelFileError. Found while writing, or by running, fuzz/python/fuzz_search_directory.py and
fuzz_shop_directory.py; each case builds the damaged directory itself (no fuzzer needed)."""

import hashlib
import sys
import json
import shutil

import pytest

import shoprec
from shoprec.io import read_directory
from shoprec.io.directory import MANIFEST


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    from shoprec.datasets import demo_shop

    root = tmp_path_factory.mktemp("dirs")
    data = demo_shop(n_users=30, n_products=40, seed=0)
    shoprec.SearchIndex.build(data.products, popularity="stock").save(root / "search")
    shoprec.Shop.build(data.products, data.events, config={"evaluate": False, "keywords": False},
                       sales=data.sales, coupons=data.coupons, redemptions=data.redemptions,
                       progress=False).save(root / "shop")
    return root


def _signed(manifest):
    """The manifest as JSON with its own checksum made to match (as write_directory signs it,
    but tolerating lone surrogates), in ASCII so escapes carry them."""
    body = {k: v for k, v in manifest.items() if k != "checksum"}
    text = json.dumps(body, sort_keys=True, ensure_ascii=False)
    body["checksum"] = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
    return json.dumps(body, sort_keys=True, indent=1).encode("ascii")


def _edited(saved, kind, tmp_path, edit):
    target = tmp_path / kind
    shutil.copytree(saved / kind, target)
    manifest = json.loads((target / MANIFEST).read_bytes())
    edit(manifest)
    (target / MANIFEST).write_bytes(_signed(manifest))
    return target


@pytest.mark.parametrize("kind", ["search", "shop"])
def test_a_lone_surrogate_in_the_manifest_is_a_model_file_error(saved, kind, tmp_path):
    # The manifest's own checksum is computed over its UTF-8 text; a "\udcff" escape made that
    # encoding raise UnicodeEncodeError out of read_directory (not a ModelFileError).
    target = _edited(saved, kind, tmp_path, lambda m: m["meta"].__setitem__("note", "\udcff"))
    with pytest.raises(shoprec.ModelFileError, match="checksum"):
        shoprec.load(target)
    with pytest.raises(shoprec.ModelFileError):
        read_directory(target, verify=False)


@pytest.mark.parametrize("section,value", [
    ("config", True),            # found by fuzz_shop_directory: AttributeError in the config reader
    ("parts", [1]),
    ("reports", 5),
    ("keywords_meta", "x"),
    ("shop_format_version", "1"),
    ("shop_format_version", True),
])
def test_shop_metadata_of_the_wrong_json_type_is_a_model_file_error(saved, section, value, tmp_path):
    target = _edited(saved, "shop", tmp_path, lambda m: m["meta"].__setitem__(section, value))
    with pytest.raises(shoprec.ModelFileError, match=section):
        shoprec.load(target)


@pytest.mark.parametrize("name,value", [("build", None), ("build", [1]), ("evaluation", 3), ("cleaning", {})])
def test_shop_reports_of_the_wrong_json_type_are_a_model_file_error(saved, name, value, tmp_path):
    # Found by fuzz_shop_directory: reports.build = null loaded, then stats() raised AttributeError.
    target = _edited(saved, "shop", tmp_path, lambda m: m["meta"]["reports"].__setitem__(name, value))
    if name == "build" and value is None:
        shop = shoprec.load(target)  # no build report: stats() answers without one
        assert shop.stats()["shop"]["products"] is None
        return
    with pytest.raises(shoprec.ModelFileError, match=name):
        shoprec.load(target)


def test_keyword_tokenizer_metadata_of_the_wrong_json_type_is_a_model_file_error(tmp_path):
    from test_io import fitted_objects

    original = tmp_path / "kw"
    fitted_objects()["keywords"].save(original)
    target = _edited(tmp_path, "kw", tmp_path / "edited", lambda m: m["meta"].__setitem__("tokenizer", [1]))
    with pytest.raises(shoprec.ModelFileError, match="tokenizer"):
        shoprec.load(target)


def test_a_keyword_graph_that_loads_but_cannot_run_is_a_model_file_error(tmp_path):
    # Found by fuzz_io_directory (checksums off): a changed byte in model.onnx put a keyword id
    # out of range in the evidence table; the graph loaded, and expand raised onnxruntime's
    # own InvalidArgument exception.
    import numpy as np
    import onnx
    from onnx import numpy_helper

    from test_io import fitted_objects

    fitted_objects()["keywords"].save(tmp_path / "kw")
    path = tmp_path / "kw" / "model.onnx"
    blob = path.read_bytes()
    graph = onnx.load_model_from_string(blob)
    (ids,) = [t for t in graph.graph.initializer if t.name == "evidence_keyword_ids"]
    raw = numpy_helper.to_array(ids).tobytes()
    bad = np.full(numpy_helper.to_array(ids).shape, 2048, numpy_helper.to_array(ids).dtype).tobytes()
    assert blob.count(raw) == 1 and len(bad) == len(raw)
    path.write_bytes(blob.replace(raw, bad))  # same size: only the checksum could tell
    model = shoprec.load(tmp_path / "kw", verify=False)
    with pytest.raises(shoprec.ModelFileError, match="onnxruntime"):
        model.expand("laptop", 5)
    with pytest.raises(shoprec.ModelFileError):
        shoprec.load(tmp_path / "kw")  # with the checksums: refused at load


def test_a_search_index_file_tantivy_cannot_slice_is_a_model_file_error(tmp_path):
    # Found by fuzz_search_directory (checksums off): one byte of a fast-field file changed
    # (same size) made tantivy assert while reading it ("end <= orig_range.end"), which reached
    # the caller as InternalError ("please report it") instead of a damaged-file error.
    from shoprec.datasets import demo_shop

    # One indexing thread: with two, the fast-field file's bytes vary from build to build (the
    # order in which the threads hand documents to tantivy), and the byte changed below moved.
    shoprec.SearchIndex.build(demo_shop(n_users=20, n_products=40, seed=0).products,
                              popularity="stock", num_threads=1).save(tmp_path / "search")
    (fast,) = (tmp_path / "search" / "index").glob("*.fast")
    data = bytearray(fast.read_bytes())
    assert data[len(data) - 113] == 0
    data[len(data) - 113] = 16
    fast.write_bytes(bytes(data))
    with pytest.raises(shoprec.ModelFileError, match="damaged"):
        shoprec.load(tmp_path / "search", verify=False)
    with pytest.raises(shoprec.ModelFileError, match="checksum"):
        shoprec.load(tmp_path / "search")


@pytest.mark.parametrize("field,value", [("candidates", 2**64), ("candidates", 10**30), ("n_expansions", 2**70)])
def test_stored_blend_counts_of_any_size_are_clamped_not_an_overflow(saved, field, value, tmp_path):
    # Found by fuzz_search_directory: a manifest whose blend weights said candidates = 2**64
    # (signed again, so a checksum cannot tell) loaded, and the first search raised Python's
    # OverflowError crossing into the engine. The counts are clamped as every k is; the
    # same held for Weights(candidates=2**64) made by hand.
    from shoprec.search.blend import Weights

    target = _edited(saved, "search", tmp_path, lambda m: m["meta"]["weights"].__setitem__(field, value))
    index = shoprec.load(target)
    reference = shoprec.load(saved / "search")
    assert getattr(index.weights, field) == sys.maxsize
    got, want = index.search("dress", 5), reference.search("dress", 5)
    assert len(got) == min(5, got.total) and got.total == want.total
    assert getattr(Weights(**{field: value}), field) == sys.maxsize


def test_a_rate_small_enough_to_overflow_the_days_left_is_never_due(saved):
    # Found by fuzz_shop_directory (numpy warnings raised): a damaged sales rate of 5e-324
    # made stock / rate overflow with a RuntimeWarning; the stock then lasts forever.
    import warnings

    import numpy as np

    from shoprec.shop.restock import restock_rows

    shop = shoprec.load(saved / "shop")
    catalogue = shop.parts.catalogue
    rates = np.zeros(len(catalogue.ids))
    stocked = np.flatnonzero(catalogue.stock > 0)
    rates[stocked[0]], rates[stocked[1]] = 5e-324, catalogue.stock[stocked[1]] / 2.0
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        rows = restock_rows(catalogue, rates, 1e300)
    assert [row["id"] for row in rows] == [catalogue.describe(catalogue.ids[stocked[1]])["id"]]


def test_coupon_orders_pointing_past_the_coupons_are_a_model_file_error(saved, tmp_path):
    # Found by fuzz_shop_directory (checksums off): a changed coupon order row (an index of 256
    # for 24 coupons) loaded, and the first coupon recommendation raised IndexError.
    import numpy as np

    from shoprec.shop.coupons import Coupons

    shop = shoprec.load(saved / "shop")
    arrays = shop.parts.coupons.arrays()
    assert (np.sort(arrays["coupon_segment_orders"], axis=1) == np.arange(len(arrays["coupon_ids"]))).all()
    Coupons.from_arrays(arrays, None)  # the saved arrays load
    for name, change in [("coupon_segment_orders", lambda a: a.__setitem__((0, 0), 256)),
                         ("coupon_segment_orders", lambda a: a.__setitem__((0, 0), a[0, 1])),  # a repeat
                         ("coupon_segment_counts", lambda a: None)]:
        damaged = {key: np.array(value, copy=True) for key, value in arrays.items()}
        change(damaged[name])
        if name == "coupon_segment_counts":
            damaged[name] = damaged[name][:, :-1]
        with pytest.raises(shoprec.ModelFileError, match="coupon"):
            Coupons.from_arrays(damaged, None)


@pytest.mark.parametrize("kind", ["search", "shop"])
@pytest.mark.parametrize("size", [float("inf"), float("nan"), 12.5, True, -1, "12"])
def test_a_file_size_that_is_not_a_byte_count_is_a_model_file_error(saved, kind, size, tmp_path):
    # Found by fuzz_shop_directory: a manifest (signed again) whose file size was Infinity made
    # int() raise OverflowError out of read_directory.
    def edit(manifest):
        name = sorted(manifest["files"])[0]
        manifest["files"][name]["size"] = size

    target = _edited(saved, kind, tmp_path, edit)
    for verify in (True, False):
        with pytest.raises(shoprec.ModelFileError, match="bad entry"):
            read_directory(target, verify=verify)
