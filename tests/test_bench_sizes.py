"""The pytest-benchmark workloads time the very sizes criterion times (benches/sizes.py), so
the crossing cost can be read off: this reads the numbers out of the criterion bench file."""

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benches"))

from sizes import FULL  # noqa: E402


def test_criterion_uses_the_shared_sizes():
    rust = (ROOT / "rust" / "core" / "benches" / "kernels.rs").read_text(encoding="utf-8")

    def number(text):
        return int(text.replace("_", ""))

    rows, cols = map(number, re.search(r"let \(n_rows, n_cols\) = \(([\d_]+), ([\d_]+)\)", rust).groups())
    assert (rows, cols) == (FULL["top_k"]["rows"], FULL["top_k"]["cols"])
    users, items, ratings = map(number, re.search(r"generated_ratings\(([\d_]+), ([\d_]+), ([\d_]+),", rust).groups())
    assert (users, items, ratings) == tuple(FULL["pearson"][key] for key in ("users", "items", "ratings"))
    n, d, k = map(number, re.search(r"let \(n, d, k\) = \(([\d_]+), ([\d_]+), ([\d_]+)\)", rust).groups())
    assert (n, d, k) == tuple(FULL["kmeans"][key] for key in ("n", "d", "k"))
    windows = tuple(map(number, re.search(r"for window in \[([\d_, ]+)\]", rust).group(1).split(", ")))
    assert windows == FULL["median"]["windows"]
    assert f"uniform_f32({FULL['median']['n']:_}" in rust
    series = FULL["median_groups"]
    assert f"(0..={series['series']:_}).map(|i| i * {series['length']})" in rust
    assert f"hampel(&x, {FULL['hampel']['window']}," in rust
