"""atheris: the one-file reader (shoprec.io.file.decode, then the class's _from_state) on
mutated model files. Checksums are skipped (verify=False) so that mutations reach the parser
and the rebuild: whatever the bytes, the result is a ModelFileError or an object that answers
(or refuses cleanly); never another exception, a Rust panic or a crash.

    PYTHONPATH=/path/to/atheris python fuzz/python/fuzz_io_file.py fuzz/corpus/io_file -max_total_time=600
    python fuzz/python/fuzz_io_file.py --write-seeds    # regenerate fuzz/corpus/io_file/seed-*
"""

import os
import sys

import atheris

with atheris.instrument_imports(include=["shoprec"]):
    from _common import HERE, exercise, shoprec, small_interactions
    from shoprec.errors import InternalError, ModelFileError
    from shoprec.io import file as io_file
    from shoprec.io import registry


def one_input(data: bytes) -> None:
    try:
        type_name, params, arrays = io_file.decode(data, "<fuzz>", verify=False)
        obj = registry._from_state("<fuzz>", type_name, params, arrays)
    except InternalError:
        raise
    except ModelFileError:
        return
    exercise(obj)


def seeds():
    data = small_interactions()
    segments = shoprec.InterestSegments(2, n_components=3, seed=0).fit(data)
    return {
        "interactions": data,
        "popular": shoprec.Popular().fit(data),
        "itemknn": shoprec.ItemKNN(5).fit(data),
        "userknn": shoprec.UserKNN(5).fit(data),
        "baseline": shoprec.Baseline().fit(data),
        "segments": segments,
        "segment_popular": shoprec.Popular(within="segment").fit(data, segments=segments),
    }


if __name__ == "__main__":
    if sys.argv[1:] == ["--write-seeds"]:
        folder = os.path.join(HERE, "..", "corpus", "io_file")
        os.makedirs(folder, exist_ok=True)
        for name, obj in seeds().items():
            params, arrays = obj._to_state()
            with open(os.path.join(folder, f"seed-{name}"), "wb") as out:
                out.write(io_file.encode(registry._type_name(obj), params, arrays))
        sys.exit(0)
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()
