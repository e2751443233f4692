"""The short version of benches/soak.py: two threads of mixed recommend, search, expand,
update and reload on one shop: no error, every kind of call made, bounded memory."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "benches"))

from soak import soak  # noqa: E402


def test_short_soak_has_no_errors_and_bounded_memory():
    result = soak(seconds=8.0, threads=2, n_users=150, n_products=300, warmup=2.0)
    assert result["errors"] == 0, result["first_error"]
    for kind in ("recommend", "search", "expand"):
        assert result[kind] > 0, kind
    # A short run is noisy (allocator pools grow in steps): a generous bound here, 5% in the
    # long run of benches/soak.py.
    assert result["rss_growth"] < 0.25, result
