"""shoprec.io as a deployment sees it: one load for every kind, ordinary permissions, no
overwriting of what shoprec did not write, checksummed manifests, pickling by value across
processes, and keyword-model sessions that survive fork()."""

import multiprocessing
import os
import pickle
import stat
import sys

import pytest

import shoprec
from contract import synthetic
from shoprec import Baseline, InterestSegments, ItemKNN, KeywordModel, Popular, UserKNN

TITLES = [
    "lenovo gaming laptop 16GB", "asus laptop notebook", "wireless mouse usb", "gaming keyboard usb",
    "summer floral dress", "cotton summer skirt", "linen blouse", "leather sandals",
    "联想 游戏本 笔记本", "华硕 轻薄本 笔记本", "无线 鼠标", "机械 键盘",
] * 4


def fitted_objects():
    """One fitted object of every kind that shoprec saves."""
    data = synthetic(3)
    segments = InterestSegments(3, n_components=6, seed=0).fit(data)
    popular = Popular(within="segment").fit(data, segments=segments)
    return {
        "interactions": data,
        "popular": Popular().fit(data),
        "segment_popular": popular,
        "baseline": Baseline().fit(data),
        "itemknn": ItemKNN(10, similarity="cosine").fit(data, fallback=popular),
        "userknn": UserKNN(10).fit(data),
        "segments": segments,
        "keywords": KeywordModel.build(TITLES, dim=8, seed=0),
    }


@pytest.fixture(scope="module")
def objects():
    return fitted_objects()


def answers(obj):
    """What an object answers, to compare two copies (a picklable plain value)."""
    if isinstance(obj, shoprec.Interactions):
        return obj.to_csr().toarray().tolist(), obj.user_ids.tolist(), obj.item_ids.tolist()
    if isinstance(obj, InterestSegments):
        return obj.labels.tolist(), obj.assign(["i1", "i2"]), obj.popular_items(0, 5)
    if isinstance(obj, KeywordModel):
        return [obj.expand(q, 5) for q in ("laptop", "summer dress", "笔记本", "")]
    if isinstance(obj, shoprec.SearchIndex):
        return len(obj), [_search_answer(obj.search(q, 5, facets=list(obj.filter_fields)[:1] or None))
                          for q in ("laptop", "summer dress", "笔记本", "")]
    if isinstance(obj, shoprec.Shop):
        users = obj.parts.interactions.user_ids.tolist()[:2] + ["stranger"]
        return ([(r.to_list(), r.part, r.reason) for r in (obj.recommend(u, 5) for u in users)],
                [_search_answer(obj.search(q, k=5)) for q in ("phone", "无线 耳机")] if obj.has_search else None,
                int(obj.parts.catalogue.in_stock.sum()))
    users = ["u1", "u2", "u5", "stranger"]
    recs = obj.recommend_many(users, 6)
    return [(r.to_list(), r.reason) for r in recs], obj.predict_many(["u1", "u2"], ["i1", "i3"]).tolist()


def _search_answer(results):
    return (results.items.tolist(), [round(float(x), 4) for x in results.scores], results.total, results.fallback,
            {str(k): v for k, v in results.facets.items()})


def _answers_in_child(payload, queue):
    queue.put(answers(pickle.loads(payload)))


def test_pickle_in_a_spawned_process_gives_identical_answers(objects):
    # spawn: a fresh interpreter that imports shoprec itself, as Dask or joblib workers do.
    context = multiprocessing.get_context("spawn")
    for name, obj in objects.items():
        queue = context.Queue()
        child = context.Process(target=_answers_in_child, args=(pickle.dumps(obj), queue))
        child.start()
        got = queue.get(timeout=120)
        child.join(60)
        assert child.exitcode == 0, name
        assert got == answers(obj), name


@pytest.mark.parametrize("name", ["popular", "itemknn", "segments", "interactions", "keywords"])
def test_one_load_opens_every_kind(objects, name, tmp_path):
    obj = objects[name]
    target = tmp_path / name
    obj.save(target)
    loaded = shoprec.load(target)
    assert type(loaded) is type(obj) and answers(loaded) == answers(obj)


def _mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.mark.parametrize("umask", [0o022, 0o002, 0o077])
def test_saved_files_get_ordinary_permissions(objects, tmp_path, umask):
    old = os.umask(umask)
    try:
        objects["popular"].save(tmp_path / "m.shoprec")
        objects["keywords"].save(tmp_path / "kw")
    finally:
        os.umask(old)
    assert _mode(tmp_path / "m.shoprec") == 0o666 & ~umask
    assert _mode(tmp_path / "kw") == 0o777 & ~umask
    for entry in (tmp_path / "kw").iterdir():
        assert _mode(entry) == 0o666 & ~umask, entry.name


def test_save_refuses_what_is_not_an_ordinary_file_or_our_directory(objects, tmp_path):
    model = objects["popular"]
    precious = tmp_path / "precious.txt"
    precious.write_text("keep me")
    link = tmp_path / "link.shoprec"
    link.symlink_to(precious)
    with pytest.raises(shoprec.InvalidArgumentError, match="symbolic link"):
        model.save(link)
    assert precious.read_text() == "keep me" and link.is_symlink()
    folder = tmp_path / "folder"
    folder.mkdir()
    with pytest.raises(shoprec.InvalidArgumentError, match="directory"):
        model.save(folder)
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(shoprec.InvalidArgumentError, match="not a regular file"):
        model.save(fifo)
    # A directory kind will not replace a file, a symlink or a foreign directory either.
    with pytest.raises(shoprec.InvalidArgumentError):
        objects["keywords"].save(precious)
    (folder / "notes.txt").write_text("mine")
    with pytest.raises(shoprec.InvalidArgumentError):
        objects["keywords"].save(folder)
    assert (folder / "notes.txt").read_text() == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fifo", "folder", "link.shoprec", "precious.txt"]


def test_replacing_a_saved_directory_swaps_it_whole(objects, tmp_path):
    small = KeywordModel.build(TITLES[:8], dim=4, seed=1)
    target = tmp_path / "kw"
    objects["keywords"].save(target)
    small.save(target)
    assert answers(shoprec.load(target)) == answers(small)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kw"]  # nothing staged is left


def test_every_file_and_the_manifest_are_checksummed(objects, tmp_path):
    target = tmp_path / "kw"
    objects["keywords"].save(target)
    for entry in sorted(target.iterdir()):
        original = entry.read_bytes()
        flipped = bytearray(original)
        flipped[len(flipped) // 2] ^= 0x01
        entry.write_bytes(bytes(flipped))
        with pytest.raises(shoprec.ModelFileError):
            shoprec.load(target)
        entry.write_bytes(original)
    assert answers(shoprec.load(target)) == answers(objects["keywords"])


def test_leftovers_of_a_killed_save_go_at_the_next_save(objects, tmp_path):
    # What a save killed midway leaves: a staging file named after its (now gone) process.
    child = multiprocessing.get_context("fork").Process(target=os._exit, args=(0,))
    child.start()
    child.join()
    stale_file = tmp_path / f".shoprec-staging-{child.pid}-abc.tmp"
    stale_dir = tmp_path / f".shoprec-staging-{child.pid}-def"
    stale_file.write_bytes(b"half")
    stale_dir.mkdir()
    (stale_dir / "model.onnx").write_bytes(b"half")
    live = tmp_path / f".shoprec-staging-{os.getpid()}-ghi.tmp"  # a save in progress here
    live.write_bytes(b"busy")
    objects["popular"].save(tmp_path / "m.shoprec")
    assert sorted(p.name for p in tmp_path.iterdir()) == [live.name, "m.shoprec"]


def test_shoprec_load_of_a_directory_is_a_model_file_error(tmp_path):
    with pytest.raises(shoprec.ModelFileError):
        shoprec.load(tmp_path)


@pytest.mark.skipif(sys.platform == "win32", reason="fork")
def test_keyword_model_loaded_before_fork_expands_in_parent_and_child(objects, tmp_path):
    objects["keywords"].save(tmp_path / "kw")
    model = KeywordModel.load(tmp_path / "kw")
    want = answers(model)  # the parent opens its session before forking (gunicorn --preload)
    context = multiprocessing.get_context("fork")
    queue = context.Queue()

    def child_work():
        queue.put([answers(model) for _ in range(20)])

    children = [context.Process(target=child_work) for _ in range(2)]
    for child in children:
        child.start()
    in_parent = [answers(model) for _ in range(20)]  # concurrently with the children
    got = [queue.get(timeout=120) for _ in children]
    for child in children:
        child.join(60)
        assert child.exitcode == 0
    assert in_parent == [want] * 20 and got == [[want] * 20] * 2
