"""The bad-input matrix: every public entry point against every kind of bad value, from ONE
table (``TABLE``: entry point x role of the argument; ``VALUES``: the bad values of each role).

A case passes when the call raises a :class:`shoprec.ShoprecError` subclass whose message
names the argument, or returns what the table documents for that value (``accept``): the
unknown-user fallback marked ``reason="unknown_user"``, a clamped list for a huge ``k``, the
same answer as a reference for a strided or Fortran-order array, ...

The table is in parts, one module per concept: ``bad_input_values`` (fixtures and the bad
values), ``bad_input_models`` (models, segments, kernels, interactions, cleaning, keywords,
evaluation), ``bad_input_shop`` (search, Shop, update), ``bad_input_cli`` (the command line)
and ``bad_input_runner`` (the table, the server and its children).

Every case runs outside pytest: one server process imports shoprec and builds the fixtures
once, then forks one child per entry point that runs that entry's cases and reports each
outcome as a JSON line. When a child dies (abort, segfault, a kill by the OOM guard) the case
it was running is counted as a crash and a new child continues with the next case. The test
prints how many cases it covered, by outcome, and fails on anything but a clean error or an
accepted result.
"""

import collections
import sys

from bad_input_runner import GOOD, run_matrix, table


def test_bad_input_matrix(capsys):
    results = run_matrix()
    counts = collections.Counter(r["outcome"] for r in results)
    with capsys.disabled():  # shown even without -s
        print(f"\nbad-input matrix: {len(results)} cases over {len({r['entry'] for r in results})} entry points: "
              + ", ".join(f"{n} {o}" for o, n in counts.most_common()))
    bad = [r for r in results if r["outcome"] not in GOOD]
    report = "\n".join(f"{r['entry']} <- {r['value']}: {r['outcome']}: {r['detail']}" for r in bad)
    assert not bad, f"{len(bad)} bad cases:\n{report}"
    assert len(results) >= 1000


if __name__ == "__main__":
    # Development aid: python tests/test_bad_input.py [entry-prefix]; prints every bad case.
    prefix = sys.argv[1] if len(sys.argv) > 1 else ""
    chosen = [name for name in table() if name.startswith(prefix)]
    out = run_matrix(chosen)
    print(collections.Counter(r["outcome"] for r in out))
    for r in out:
        if r["outcome"] not in GOOD:
            print(f"{r['entry']} <- {r['value']}: {r['outcome']}: {r['detail']}")
