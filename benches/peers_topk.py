"""top_k side by side with numpy (argpartition + argsort), in one run.

    python benches/peers_topk.py [--rows 1024] [--cols 100000] [--k 10] [--repeat 5]

Prints the ratio and, with --write, replaces the top_k section of benches/RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time

import numpy as np

from shoprec.kernels import top_k


def numpy_top_k(scores: np.ndarray, k: int):
    """What a numpy user writes: argpartition for the k best, then sort those k."""
    n = scores.shape[1]
    # Partition around the k-th largest without negating (no extra copy of the matrix).
    part = np.argpartition(scores, n - k, axis=1)[:, n - k:]
    part_scores = np.take_along_axis(scores, part, axis=1)
    order = np.argsort(-part_scores, axis=1, kind="stable")
    return np.take_along_axis(part, order, axis=1), np.take_along_axis(part_scores, order, axis=1)


def best_of(fn, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def replace_section(path: str, name: str, body: str) -> None:
    """Replaces (or appends) the block between the markers of section `name` in RESULTS.md."""
    begin, end = f"<!-- BEGIN {name} -->", f"<!-- END {name} -->"
    text = open(path, encoding="utf-8").read() if os.path.exists(path) else "# Benchmark results\n"
    block = f"{begin}\n{body.rstrip()}\n{end}"
    if begin in text and end in text:
        head, rest = text.split(begin, 1)
        text = head + block + rest.split(end, 1)[1]
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1024)
    parser.add_argument("--cols", type=int, default=100_000)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--write", action="store_true", help="update benches/RESULTS.md")
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    scores = rng.random((args.rows, args.cols), dtype=np.float32)
    ours_ids, ours_scores = top_k(scores, args.k)
    ref_ids, ref_scores = numpy_top_k(scores, args.k)
    np.testing.assert_array_equal(ours_scores, ref_scores)  # same answer before timing it

    ours = best_of(lambda: top_k(scores, args.k), args.repeat)
    ours_1 = best_of(lambda: top_k(scores, args.k, num_threads=1), args.repeat)
    peer = best_of(lambda: numpy_top_k(scores, args.k), args.repeat)
    lines = [
        "## top_k",
        "",
        f"`python benches/peers_topk.py --write` ({args.rows} x {args.cols} float32, k={args.k}, "
        f"best of {args.repeat}; {platform.machine()}, {os.cpu_count()} cores)",
        "",
        "| implementation | time | ratio (numpy / shoprec) |",
        "|---|---|---|",
        f"| numpy argpartition + argsort | {peer * 1e3:.1f} ms | 1.0 |",
        f"| shoprec top_k, 1 thread | {ours_1 * 1e3:.1f} ms | {peer / ours_1:.1f}x |",
        f"| shoprec top_k, all cores | {ours * 1e3:.1f} ms | {peer / ours:.1f}x |",
        "",
        "Target: >= 5x faster than numpy.",
    ]
    print("\n".join(lines))
    if args.write:
        replace_section(os.path.join(os.path.dirname(__file__), "RESULTS.md"), "top_k", "\n".join(lines))


if __name__ == "__main__":
    sys.exit(main())
