"""Corrupt files: every kind of file shoprec writes, truncated at random points and with
random bit flips, loaded in a separate process: always a clean ModelFileError, never a crash,
and where something loads, the same answers as the original (never a silently different model).

Directories (a keyword model, a search index, a whole shop) get one file, anywhere in them,
corrupted. The search index is also loaded with checksums off (``verify=False``), so tantivy's
own readers meet the damage: a clean error or an index that loads, never a crash."""

import json
import random
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import shoprec
from test_io import answers, fitted_objects

CASES = 60  # per kind and corruption
KINDS = ["itemknn", "segment_popular", "segments", "interactions", "keywords", "search", "shop"]


def small_search_and_shop():
    """A small search index and a small shop (the kinds of the search and Shop issues)."""
    from shoprec.datasets import demo_shop

    data = demo_shop(n_users=30, n_products=40, seed=0)
    shop = shoprec.Shop.build(data.products, data.events, config={"evaluate": False, "keyword_dim": 8},
                              progress=False)
    return {"search": shoprec.SearchIndex.build(data.products, popularity="stock"), "shop": shop}


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    root = tmp_path_factory.mktemp("originals")
    out = {}
    objects = {**fitted_objects(), **small_search_and_shop()}
    for name in KINDS:
        obj = objects[name]
        path = root / name
        obj.save(path)
        out[name] = (path, answers(obj))
    return out


def corrupt_file(data, rng, how):
    if how == "truncate":
        return data[: rng.randrange(len(data))]
    flipped = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        flipped[rng.randrange(len(flipped))] ^= 1 << rng.randrange(8)
    return bytes(flipped)


def make_cases(original, folder, rng, how):
    cases = []
    for n in range(CASES):
        target = folder / f"{how}-{n}"
        if original.is_dir():
            shutil.copytree(original, target)
            victim = rng.choice(sorted(p for p in target.rglob("*") if p.is_file() and p.stat().st_size))
        else:
            shutil.copy(original, target)
            victim = target
        victim.write_bytes(corrupt_file(victim.read_bytes(), rng, how))
        cases.append(str(target))
    return cases


CHILD = textwrap.dedent("""
    import json, sys
    sys.path.insert(0, {tests!r})
    import shoprec
    from test_io import answers
    out = []
    verify = sys.argv[1] == "verify"
    for path in json.loads(sys.stdin.read()):
        print(path, file=sys.stderr, flush=True)  # the last line names the case if we die
        try:
            obj = shoprec.load(path, verify=verify)
        except shoprec.ModelFileError as exc:
            out.append(["error", type(exc).__name__])
            continue
        except Exception as exc:
            out.append(["other", f"{{type(exc).__name__}}: {{exc}}"])
            continue
        try:
            out.append(["loaded", answers(obj)])
        except Exception as exc:
            out.append(["broken", f"{{type(exc).__name__}}: {{exc}}"])
    print(json.dumps(out))
""")


def load_in_child(cases, verify=True):
    tests_dir = str(Path(__file__).parent)
    result = subprocess.run([sys.executable, "-c", CHILD.format(tests=tests_dir), "verify" if verify else "no"],
                            input=json.dumps(cases), capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, f"the loader died (exit {result.returncode}) on {result.stderr.splitlines()[-1:]}"
    outcomes = json.loads(result.stdout.splitlines()[-1])
    assert len(outcomes) == len(cases)
    return outcomes


@pytest.mark.parametrize("how", ["truncate", "flip"])
@pytest.mark.parametrize("kind", KINDS)
def test_corrupted_files_fail_cleanly(saved, kind, how, tmp_path):
    original, want = saved[kind]
    cases = make_cases(original, tmp_path, random.Random(f"{kind}-{how}"), how)
    want = json.loads(json.dumps(want))  # as it crosses the pipe (tuples become lists)
    for path, (status, detail) in zip(cases, load_in_child(cases)):
        assert status in ("error", "loaded"), f"{path}: {status} {detail}"
        if status == "loaded":
            assert detail == want, f"{path} loaded as a different model"


@pytest.mark.parametrize("how", ["truncate", "flip"])
def test_corrupted_search_index_without_checksums_never_crashes(saved, how, tmp_path):
    original, _ = saved["search"]
    cases = make_cases(original, tmp_path, random.Random(f"search-noverify-{how}"), how)
    outcomes = load_in_child(cases, verify=False)
    for path, (status, detail) in zip(cases, outcomes):
        # Without checksums a flip in stored text can load as other text: no answer is promised,
        # only a clean error or a working index.
        assert status in ("error", "loaded"), f"{path}: {status} {detail}"
