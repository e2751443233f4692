"""atheris: the directory reader (shoprec.io.directory.read_directory, then
KeywordModel._from_directory through shoprec.load) on a saved keyword model with one file
replaced, truncated, extended or bit-flipped by the fuzzer's bytes. With ``verify`` (the first
byte's top bit) the checksums catch every change; without, sizes are still checked and the
parsers of the ONNX graph, word lists and manifest see the mutations. Either way: a
ModelFileError, or a model that expands queries (or refuses cleanly); nothing else.

    PYTHONPATH=/path/to/atheris python fuzz/python/fuzz_io_directory.py fuzz/corpus/io_directory -max_total_time=600
"""

import os
import shutil
import sys
import tempfile

import atheris

with atheris.instrument_imports(include=["shoprec"]):
    from _common import TITLES, exercise, shoprec
    from shoprec.errors import InternalError, ModelFileError

WORK = tempfile.mkdtemp(prefix="shoprec-fuzz-dir-", dir="/dev/shm" if os.path.isdir("/dev/shm") else None)
ORIGINAL = os.path.join(WORK, "original")
shoprec.KeywordModel.build(TITLES, dim=4, seed=0).save(ORIGINAL)
FILES = sorted(os.path.relpath(os.path.join(d, f), ORIGINAL) for d, _, fs in os.walk(ORIGINAL) for f in fs)


def mutate(fdp: "atheris.FuzzedDataProvider", content: bytes) -> bytes:
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


def one_input(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    verify = fdp.ConsumeBool()
    name = FILES[fdp.ConsumeIntInRange(0, len(FILES) - 1)]
    target = os.path.join(WORK, "case")
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(ORIGINAL, target)
    path = os.path.join(target, name)
    with open(path, "rb") as handle:
        content = handle.read()
    with open(path, "wb") as handle:
        handle.write(mutate(fdp, content))
    try:
        model = shoprec.load(target, verify=verify)
    except InternalError:
        raise
    except ModelFileError:
        return
    exercise(model)


if __name__ == "__main__":
    try:
        atheris.Setup(sys.argv, one_input)
        atheris.Fuzz()
    finally:
        shutil.rmtree(WORK, ignore_errors=True)
