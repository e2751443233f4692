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

import atheris

with atheris.instrument_imports(include=["shoprec"]):
    from _common import fuzz_directory_reader, shoprec
    from shoprec.datasets import demo_shop


def save_index(path: str) -> None:
    products = demo_shop(n_users=20, n_products=40, seed=0).products
    shoprec.SearchIndex.build(products, popularity="stock").save(path)


if __name__ == "__main__":
    fuzz_directory_reader("search", save_index)
