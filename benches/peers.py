"""Every kernel side by side with what a user would pick instead, and the ratios written to
benches/RESULTS.md: one command for the whole of issue 2's comparison.

    python benches/peers.py            # top_k, pearson_neighbours, kmeans, median_filter/hampel
    python benches/peers.py --quick    # smaller sizes, where a script offers them

pearson_neighbours runs twice: on ml-latest-small (peers_pearson.py) and on the generated shop
of 200,000 shoppers x 50,000 products against implicit, with its cost curve over 1M, 4M and
16M events (peers_pearson_scale.py, whose docstring documents the seeded generator; --quick
runs the 1M and 4M sizes only).

Each script times shoprec and its peers in one process, on the same data, one after the
other (so both see the same machine load); see each script's docstring for the workloads.
Peers come from the `bench` extra: pip install '.[bench]'.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes where offered")
    args = parser.parse_args()
    runs = [
        ["peers_topk.py", "--write"] + (["--rows", "256"] if args.quick else []),
        ["peers_pearson.py", "--write"] + (["--skip-surprise", "--skip-memory"] if args.quick else []),
        ["peers_pearson_scale.py", "--write"] + (["--events", "1000000,4000000"] if args.quick else []),
        ["peers_kmeans_median.py"] + (["--quick", "--no-write"] if args.quick else []),
    ]
    failed = []
    for script, *script_args in runs:
        print(f"\n==== {script} {' '.join(script_args)}", flush=True)
        result = subprocess.run([sys.executable, os.path.join(HERE, script), *script_args])
        if result.returncode != 0:
            failed.append(script)
    if failed:
        print(f"\nfailed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
