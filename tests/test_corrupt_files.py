"""Corrupt files: every kind of file shoprec writes, truncated at random points and with
random bit flips, loaded in a separate process: always a clean ModelFileError, never a crash,
and where something loads, the same answers as the original (never a silently different model)."""

import json
import random
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from test_io import answers, fitted_objects

CASES = 60  # per kind and corruption


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    root = tmp_path_factory.mktemp("originals")
    out = {}
    objects = fitted_objects()
    for name in ("itemknn", "segment_popular", "segments", "interactions", "keywords"):
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
            victim = rng.choice(sorted(p for p in target.iterdir()))
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
    for path in json.loads(sys.stdin.read()):
        print(path, file=sys.stderr, flush=True)  # the last line names the case if we die
        try:
            obj = shoprec.load(path)
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


@pytest.mark.parametrize("how", ["truncate", "flip"])
@pytest.mark.parametrize("kind", ["itemknn", "segment_popular", "segments", "interactions", "keywords"])
def test_corrupted_files_fail_cleanly(saved, kind, how, tmp_path):
    original, want = saved[kind]
    cases = make_cases(original, tmp_path, random.Random(f"{kind}-{how}"), how)
    tests_dir = str(Path(__file__).parent)
    result = subprocess.run([sys.executable, "-c", CHILD.format(tests=tests_dir)], input=json.dumps(cases),
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, f"the loader died (exit {result.returncode}) on {result.stderr.splitlines()[-1:]}"
    outcomes = json.loads(result.stdout.splitlines()[-1])
    assert len(outcomes) == len(cases)
    want = json.loads(json.dumps(want))  # as it crosses the pipe (tuples become lists)
    for path, (status, detail) in zip(cases, outcomes):
        assert status in ("error", "loaded"), f"{path}: {status} {detail}"
        if status == "loaded":
            assert detail == want, f"{path} loaded as a different model"
