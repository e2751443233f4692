"""atheris: the search-index directory reader (shoprec.io.directory.read_directory, then
SearchIndex._from_directory and the tantivy index through shoprec.load) on a saved index with
one change the fuzzer's bytes choose: a file replaced, truncated, bit-flipped, overwritten in a
same-sized window, extended or removed, or a value in the manifest changed and the manifest
signed again (so the readers of the metadata meet it). With ``verify`` (the first byte's lowest
bit) the checksums catch every file change; without, only the sizes are checked and tantivy's
own readers meet the damage. Either way: a ModelFileError, or an index that searches, counts
facets and takes a write (or refuses cleanly); nothing else.

    PYTHONPATH=/path/to/atheris python fuzz/python/fuzz_search_directory.py fuzz/corpus/search_directory -max_total_time=600
"""

import os
import shutil
import sys
import tempfile

import atheris

with atheris.instrument_imports(include=["shoprec"]):
    from _common import exercise, list_files, mutate_directory, shoprec
    from shoprec.datasets import demo_shop
    from shoprec.errors import InternalError, ModelFileError

WORK = tempfile.mkdtemp(prefix="shoprec-fuzz-search-", dir="/dev/shm" if os.path.isdir("/dev/shm") else None)
ORIGINAL = os.path.join(WORK, "original")
shoprec.SearchIndex.build(demo_shop(n_users=20, n_products=40, seed=0).products, popularity="stock").save(ORIGINAL)
FILES = list_files(ORIGINAL)


def one_input(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    target = os.path.join(WORK, "case")
    verify = mutate_directory(fdp, ORIGINAL, target, FILES)
    try:
        index = shoprec.load(target, verify=verify)
    except InternalError:
        raise
    except ModelFileError:
        return
    exercise(index)


if __name__ == "__main__":
    try:
        atheris.Setup(sys.argv, one_input)
        atheris.Fuzz()
    finally:
        shutil.rmtree(WORK, ignore_errors=True)
