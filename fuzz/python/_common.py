"""Shared by the atheris harnesses: what counts as a finding, and small fitted objects."""

import os
import sys
import warnings

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "python"))

import numpy as np  # noqa: E402

import shoprec  # noqa: E402
from shoprec.errors import InternalError, ShoprecError  # noqa: E402


def clean(call):
    """Run ``call()``: a ShoprecError (other than InternalError, a Rust panic) is a clean
    refusal; any other exception propagates and atheris reports it as a finding."""
    try:
        return call()
    except InternalError:
        raise
    except ShoprecError:
        return None


def exercise(obj):
    """Use a loaded object the way a shop would; only clean errors are allowed."""
    # numpy's RuntimeWarnings (overflow in a cast to float32, NaN from a division) are raised:
    # a loaded object computing inf or NaN is a silently wrong model, which is a finding.
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        _exercise(obj)


def _exercise(obj):
    if isinstance(obj, shoprec.Interactions):
        obj.to_csr()
        # A loaded set must fit as it is (the models compute in float32).
        model = clean(lambda: shoprec.ItemKNN(3).fit(obj))
        if model is not None and len(model.user_ids):
            scores = clean(lambda: model.recommend(model.user_ids[0], 5).scores)
            if scores is not None and not np.all(np.isfinite(scores)):
                raise AssertionError(f"a loaded Interactions fits to non-finite scores {scores}")
    elif isinstance(obj, shoprec.InterestSegments):
        clean(lambda: obj.popular_for(obj.user_ids[0] if len(obj.user_ids) else 0, 5))
    elif isinstance(obj, shoprec.SearchIndex):
        for query in ("laptop", "无线 鼠标", ""):
            clean(lambda: obj.search(query, 5, facets=list(obj.filter_fields)[:2] or None))
        clean(lambda: obj.search("dress", 3, filters={"in_stock": True}))
        rows = clean(obj.products) or []
        if rows and obj.filter_fields.get("in_stock") == "bool":  # a write after the load: tantivy's writer
            clean(lambda: obj.set_stock([next(iter(rows[0].values()))], False))
    elif isinstance(obj, shoprec.Shop):
        users = obj.parts.interactions.user_ids.tolist()[:2] + ["stranger"]
        items = obj.parts.interactions.item_ids.tolist()[:2]
        for user in users:
            clean(lambda: obj.recommend(user, 5))
            if obj.parts.coupons is not None:
                clean(lambda: obj.recommend(user, 3, catalogue="coupons"))
        clean(lambda: obj.recommend_for_history(items, 4))
        for item in items:
            clean(lambda: obj.similar(item, 4))
            clean(lambda: obj.product(item))
        if obj.has_search:
            clean(lambda: obj.search("phone", k=5, user=users[0]))
        clean(lambda: obj.explain(users[0], items[0]) if items else None)
        clean(lambda: obj.restock_report(7))
        clean(lambda: obj.stats())
    elif isinstance(obj, shoprec.KeywordModel):
        clean(lambda: obj.expand("laptop", 5))
        clean(lambda: obj.expand("联想 笔记本", 3))
    elif hasattr(obj, "recommend"):
        users = obj.user_ids
        first = users[0] if len(users) else 0
        clean(lambda: obj.recommend(first, 5))
        clean(lambda: obj.recommend_many(list(users[:3]), 3))
        clean(lambda: obj.predict(first, obj.item_ids[0] if len(obj.item_ids) else 0))
        if hasattr(obj, "recommend_for_history"):
            clean(lambda: obj.recommend_for_history(list(obj.item_ids[:2]), 4))


def small_interactions(seed=0):
    rng = np.random.default_rng(seed)
    users = rng.integers(0, 12, 80)
    items = rng.integers(0, 15, 80)
    return shoprec.Interactions.from_arrays([f"u{u}" for u in users], [f"i{i}" for i in items],
                                            rng.integers(1, 6, 80).astype(float),
                                            timestamps=rng.integers(0, 1000, 80))


TITLES = ["gaming laptop 16GB", "asus laptop notebook", "wireless mouse usb", "gaming keyboard usb",
          "summer floral dress", "cotton summer skirt", "联想 游戏本 笔记本", "无线 鼠标"] * 3


# ---------------------------------------------------------------- directory mutations
# Shared by the directory harnesses (keyword model, search index, shop): one file of a saved
# directory is changed by the fuzzer's bytes, or its manifest is edited and signed again.

def mutate_bytes(fdp, content: bytes) -> bytes:
    """``content`` replaced, truncated, bit-flipped, overwritten in a same-sized window (only
    the checksums can tell) or extended, as the fuzzer's bytes choose."""
    mode = fdp.ConsumeIntInRange(0, 4)
    if mode == 0:  # replace with the fuzzer's bytes
        return fdp.ConsumeBytes(fdp.remaining_bytes())
    if mode == 1:  # truncate
        return content[: fdp.ConsumeIntInRange(0, len(content))]
    if mode == 2:  # flip bits (keeps the size: only the checksums can tell)
        data = bytearray(content)
        for _ in range(fdp.ConsumeIntInRange(1, 8)):
            if data:
                position = fdp.ConsumeIntInRange(0, len(data) - 1)
                data[position] ^= 1 << fdp.ConsumeIntInRange(0, 7)
        return bytes(data)
    if mode == 3:  # overwrite a same-sized window (sizes still match)
        data = bytearray(content)
        start = fdp.ConsumeIntInRange(0, max(len(data) - 1, 0))
        patch = fdp.ConsumeBytes(min(64, len(data) - start))
        data[start:start + len(patch)] = patch
        return bytes(data)
    return content + fdp.ConsumeBytes(fdp.remaining_bytes())  # append


_ODD_NUMBERS = [0, -1, 1, 2, 2**31, 2**63, 2**64, -(2**63), 10**30, 0.5, -0.0, float("nan"), float("inf"), 1e308]


def fuzzed_json_value(fdp, old):
    """A JSON value to put where ``old`` was: of another type, an odd number, the fuzzer's text
    (lone surrogates included: JSON escapes can spell them), or ``old`` wrapped or emptied."""
    kind = fdp.ConsumeIntInRange(0, 9)
    if kind == 0:
        return None
    if kind == 1:
        return fdp.ConsumeBool()
    if kind == 2:
        return _ODD_NUMBERS[fdp.ConsumeIntInRange(0, len(_ODD_NUMBERS) - 1)]
    if kind == 3:
        return fdp.ConsumeIntInRange(-(2**70), 2**70)
    if kind == 4:
        return fdp.ConsumeUnicode(fdp.ConsumeIntInRange(0, 24))
    if kind == 5:
        return []
    if kind == 6:
        return {}
    if kind == 7:
        return [old]
    if kind == 8:
        return {fdp.ConsumeUnicodeNoSurrogates(8): old}
    if isinstance(old, str):
        return old + fdp.ConsumeUnicodeNoSurrogates(4)
    if isinstance(old, list):
        return old[: fdp.ConsumeIntInRange(0, len(old))]
    return old


def mutate_json(fdp, value, depth: int = 0):
    """``value`` with one place in it (a key path the fuzzer picks) replaced or deleted."""
    children = sorted(value) if isinstance(value, dict) else list(range(len(value))) if isinstance(value, list) else []
    if not children or depth > 8 or fdp.ConsumeIntInRange(0, 3) == 0:
        return fuzzed_json_value(fdp, value)
    key = children[fdp.ConsumeIntInRange(0, len(children) - 1)]
    copy = dict(value) if isinstance(value, dict) else list(value)
    if isinstance(copy, dict) and fdp.ConsumeIntInRange(0, 7) == 0:
        del copy[key]
        return copy
    copy[key] = mutate_json(fdp, value[key], depth + 1)
    return copy


def edit_manifest(fdp, content: bytes) -> bytes:
    """The manifest with one value changed and its own checksum made to match again: what a
    writer with a bug (or a hand edit that re-signs) leaves, which the checksums cannot catch,
    so the readers of the metadata meet it."""
    import hashlib
    import json

    manifest = json.loads(content)
    body = {k: v for k, v in manifest.items() if k != "checksum"}
    body = mutate_json(fdp, body)
    if not isinstance(body, dict):
        return json.dumps(body).encode("utf-8")
    signed = json.dumps({k: v for k, v in body.items() if k != "checksum"}, sort_keys=True, ensure_ascii=False)
    body["checksum"] = hashlib.sha256(signed.encode("utf-8", "surrogatepass")).hexdigest()
    return json.dumps(body, sort_keys=True, indent=1).encode("utf-8")  # ASCII: escapes keep lone surrogates


def list_files(root):
    return sorted(os.path.relpath(os.path.join(d, f), root) for d, _, fs in os.walk(root) for f in fs)


def mutate_directory(fdp, original: str, target: str, files) -> bool:
    """``target`` becomes a copy of ``original`` with one change; returns ``verify`` for the load
    (the fuzzer's first byte): with it every file change is caught by a checksum, without it
    only the sizes are checked and the file parsers meet the damage."""
    import shutil

    verify = fdp.ConsumeBool()
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(original, target)
    what = fdp.ConsumeIntInRange(0, 7)
    if what <= 1:  # the manifest's values, signed again
        path = os.path.join(target, "manifest.json")
        with open(path, "rb") as handle:
            content = handle.read()
        with open(path, "wb") as handle:
            handle.write(edit_manifest(fdp, content))
        return verify
    name = files[fdp.ConsumeIntInRange(0, len(files) - 1)]
    path = os.path.join(target, name)
    if what == 2:  # a file gone
        os.remove(path)
        return verify
    with open(path, "rb") as handle:
        content = handle.read()
    with open(path, "wb") as handle:
        handle.write(mutate_bytes(fdp, content))
    return verify


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def scratch_folder(kind: str) -> str:
    """A fresh folder for one harness run, named ``shoprec-fuzz-<kind>-<pid>-*`` in /dev/shm.

    libFuzzer ends a run with C ``exit()``, so Python's clean-up (``finally``, ``atexit``) never
    runs: the folders of earlier runs whose process is gone are removed here instead."""
    import shutil
    import tempfile

    root = "/dev/shm" if os.path.isdir("/dev/shm") else tempfile.gettempdir()
    for name in os.listdir(root):
        parts = name.split("-")
        if name.startswith("shoprec-fuzz-") and len(parts) >= 5 and parts[3].isdigit() and not _alive(int(parts[3])):
            shutil.rmtree(os.path.join(root, name), ignore_errors=True)
    return tempfile.mkdtemp(prefix=f"shoprec-fuzz-{kind}-{os.getpid()}-", dir=root)


def fuzz_directory_reader(kind: str, save_original) -> None:
    """The whole harness of a directory reader: ``save_original(path)`` saves the object once;
    every input loads a copy with one change (:func:`mutate_directory`) through ``shoprec.load``:
    a ModelFileError, or an object that works (:func:`exercise`); anything else is a finding."""
    import atheris

    from shoprec.errors import ModelFileError

    work = scratch_folder(kind)
    original, target = os.path.join(work, "original"), os.path.join(work, "case")
    save_original(original)
    files = list_files(original)

    def one_input(data: bytes) -> None:
        fdp = atheris.FuzzedDataProvider(data)
        verify = mutate_directory(fdp, original, target, files)
        try:
            loaded = shoprec.load(target, verify=verify)
        except InternalError:
            raise
        except ModelFileError:
            return
        exercise(loaded)

    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()
