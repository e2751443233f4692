"""atheris: the directory reader (shoprec.io.directory.read_directory, then
KeywordModel._from_directory through shoprec.load) on a saved keyword model with one change the
fuzzer's bytes choose (``_common.mutate_directory``): a file replaced, truncated, bit-flipped,
overwritten in a same-sized window, extended or removed, or a value in the manifest changed and
the manifest signed again. With ``verify`` (the first byte's lowest bit) the checksums catch
every file change; without, sizes are still checked and the parsers of the ONNX graph and word
lists see the mutations. Either way: a ModelFileError, or a model that expands queries (or
refuses cleanly); nothing else.

    PYTHONPATH=/path/to/atheris python fuzz/python/fuzz_io_directory.py fuzz/corpus/io_directory -max_total_time=600
"""

import atheris

with atheris.instrument_imports(include=["shoprec"]):
    from _common import TITLES, fuzz_directory_reader, shoprec


if __name__ == "__main__":
    fuzz_directory_reader("dir", lambda path: shoprec.KeywordModel.build(TITLES, dim=4, seed=0).save(path))
