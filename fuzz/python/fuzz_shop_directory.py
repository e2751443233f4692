"""atheris: the Shop directory reader (shoprec.io.directory.read_directory, then
shoprec.shop.parts.Parts.from_directory: the tables, interactions, recommender and coupon files,
the manifest's config, part list and reports, the search index under ``search/``) on a saved
shop with one change the fuzzer's bytes choose: a file replaced, truncated, bit-flipped,
overwritten in a same-sized window, extended or removed, or a value in the manifest changed and
the manifest signed again. With ``verify`` (the first byte's lowest bit) the checksums catch
every file change; without, only the sizes are checked and the file parsers meet the damage.
Either way: a ModelFileError, or a shop that recommends, searches, explains and reports (or
refuses cleanly); nothing else. The shop is built without a keyword model (its directory has
its own target, fuzz_io_directory.py, and rebuilding its tokenizer costs 0.5 s a load) and with
sales and coupons, so those parts are read too.

    PYTHONPATH=/path/to/atheris python fuzz/python/fuzz_shop_directory.py fuzz/corpus/shop_directory -max_total_time=600
"""

import atheris

with atheris.instrument_imports(include=["shoprec"]):
    from _common import fuzz_directory_reader, shoprec
    from shoprec.datasets import demo_shop


def small_shop():
    data = demo_shop(n_users=30, n_products=40, seed=0)
    return shoprec.Shop.build(data.products, data.events, config={"evaluate": False, "keywords": False},
                              sales=data.sales, coupons=data.coupons, redemptions=data.redemptions, progress=False)


if __name__ == "__main__":
    fuzz_directory_reader("shop", lambda path: small_shop().save(path))
