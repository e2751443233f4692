"""Kernels never abort: huge and negative k and windows, empty inputs and odd dtypes.

Every case runs in a child interpreter, so an abort (an allocation failure, a panic across the
boundary) fails the test that ran it instead of killing pytest. Cases are batched: one child
runs a list of cases and reports each outcome as JSON. An outcome is either a result checked
against a plain numpy reference, or a ``ShoprecError`` subclass (``InternalError``, a Rust
panic, does not count). The child also has a time limit: a huge ``k`` must not cost time
either. Run this file as a script to be that child (cases on stdin, outcomes on stdout).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np

HUGE = [10**9, 10**12, 10**13, 2**63 - 1, 2**63, 2**64, 10**30]
BAD = [0, -1, -(2**64)]
DTYPES = ["float32", "float64", "int64", "int8", "bool", "float16", "complex64", "object"]
KERNELS = ["top_k", "pearson_neighbours", "kmeans", "median_filter", "hampel"]
# shoprec.kernels.top_k pads rows to k slots up to this many (or the number of columns, if
# larger); beyond that k is clamped (rust/core/src/topk.rs, MAX_PADDED_WIDTH).
MAX_PADDED_WIDTH = 1024
CHILD_TIMEOUT = 60


# ---------------------------------------------------------------- the child: run and check


def make_array(spec):
    """An array from ``{"shape", "dtype", "seed"}``: small integers (ties), some NaN for floats."""
    shape, dtype = tuple(spec["shape"]), spec["dtype"]
    rng = np.random.default_rng(spec.get("seed", 0))
    values = rng.integers(-3, 4, size=shape).astype(np.float64)
    if spec.get("nan") and values.size:
        values.flat[:: max(1, values.size // 3)] = np.nan
    if dtype == "object":
        return values.astype(object)
    if np.dtype(dtype).kind in "iub":
        values = np.nan_to_num(values)
    return values.astype(dtype)


def top_k_reference(scores, width):
    """Full sort per row: descending score, ties to the lower id, NaN never, pad with -1."""
    n_rows, n_cols = scores.shape
    ids = np.full((n_rows, width), -1, np.int64)
    for r in range(n_rows):
        cand = np.flatnonzero(~np.isnan(scores[r]))
        order = cand[np.lexsort((cand, -scores[r, cand]))][:width]
        ids[r, : len(order)] = order
    return ids


def weighted_median(values, weights):
    """Median of ``values`` repeated ``weights`` times, NaN ignored (numpy.nanmedian)."""
    keep = ~np.isnan(values) & (weights > 0)
    values, weights = values[keep], weights[keep]
    total = int(weights.sum())
    if total == 0:
        return np.nan
    order = np.argsort(values, kind="stable")
    values, cumulative = values[order], np.cumsum(weights[order])

    def kth(k):
        return values[np.searchsorted(cumulative, k, side="right")]

    if total % 2:
        return kth(total // 2)
    return 0.5 * (kth(total // 2 - 1) + kth(total // 2))


def median_reference(x, window):
    """``mode="nearest"``: the window holds ``x[0]`` and ``x[-1]`` as often as it reaches past
    the ends, the rest once; counted, so a window of 10**9 costs nothing."""
    n, h = len(x), window // 2
    out = np.empty(n)
    for i in range(n):
        weights = np.zeros(n, np.int64)
        lo, hi = i - h, i + h
        weights[max(lo, 0) : min(hi, n - 1) + 1] += 1
        weights[0] += max(0, -lo)
        weights[n - 1] += max(0, hi - (n - 1))
        out[i] = weighted_median(x.astype(np.float64), weights)
    return out


def run_case(case):
    """Runs one case; returns what it checked (a string) or raises."""
    import scipy.sparse as sp

    from shoprec import kernels

    kernel, k = case["kernel"], case["k"]
    x = make_array(case["x"])
    if kernel == "top_k":
        ids, scores = kernels.top_k(x, k)
        matrix = np.asarray(x, dtype=np.float64)
        matrix = matrix.reshape(1, -1) if matrix.ndim == 1 else matrix
        n_cols = matrix.shape[1]
        width = ids.shape[-1]
        assert width == min(k, max(n_cols, MAX_PADDED_WIDTH)), f"width {width} for k={k}, {n_cols} columns"
        assert ids.shape == scores.shape
        want = top_k_reference(matrix, width)
        assert np.array_equal(ids.reshape(-1, width), want), (ids, want)
        return f"top_k width {width}"
    if kernel == "pearson_neighbours":
        matrix = sp.csr_matrix(np.nan_to_num(np.asarray(x, dtype=np.float64)))
        got = kernels.pearson_neighbours(matrix, k)
        n = matrix.shape[1]
        assert got.shape == (n, n)
        assert got.nnz <= n * max(n - 1, 0)
        if n > 0 and k >= n - 1:  # a k past the catalogue means every neighbour
            want = kernels.pearson_neighbours(matrix, max(n - 1, 1))
            assert (got != want).nnz == 0
        return f"pearson {got.nnz} entries"
    if kernel == "kmeans":
        fit = kernels.kmeans(x, k, seed=1, max_iter=20)
        assert fit.labels.shape == (x.shape[0],)
        assert 0 <= fit.labels.min() and fit.labels.max() < k
        assert np.isfinite(fit.inertia) and fit.inertia >= 0
        return f"kmeans {k} clusters"
    if kernel == "median_filter":
        got = kernels.median_filter(x, k)
        values = np.asarray(x, dtype=np.float64)
        assert got.shape == values.shape
        want = median_reference(values, k)
        assert np.array_equal(got.astype(np.float64), want, equal_nan=True), (got, want)
        return "median_filter"
    if kernel == "hampel":
        cleaned, flags = kernels.hampel(x, k)
        values = np.asarray(x, dtype=np.float64)
        assert cleaned.shape == flags.shape == values.shape
        # A window reaching past both ends of every position is the whole series: the same
        # as the smallest such window.
        whole = 2 * len(values) + 1
        if k >= whole:
            want_c, want_f = kernels.hampel(x, whole)
            assert np.array_equal(cleaned, want_c, equal_nan=True) and np.array_equal(flags, want_f)
        return "hampel"
    raise AssertionError(f"unknown kernel {kernel}")


def child_main():
    import shoprec

    cases = json.load(sys.stdin)
    for case in cases:
        # One line per case, flushed: if the child dies, the last line names the case.
        print(json.dumps({"start": case}), flush=True)
        try:
            outcome = {"status": "ok", "detail": run_case(case)}
        except shoprec.ShoprecError as exc:
            outcome = {"status": "error", "type": type(exc).__name__, "message": str(exc)}
            if isinstance(exc, shoprec.InternalError):
                outcome["status"] = "failed"
        except Exception as exc:  # noqa: BLE001 - every other exception is a finding
            outcome = {"status": "failed", "type": type(exc).__name__, "message": repr(exc)[:500]}
        print(json.dumps({"case": case, **outcome}), flush=True)


# ---------------------------------------------------------------- the parent: pytest


def run_in_child(cases):
    """Runs the cases in one child interpreter; returns their outcomes, in order."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    proc = subprocess.run(
        [sys.executable, os.path.abspath(__file__)],
        input=json.dumps(cases),
        capture_output=True,
        text=True,
        timeout=CHILD_TIMEOUT,
        env=env,
    )
    lines = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    last = next((line["start"] for line in reversed(lines) if "start" in line), None)
    assert proc.returncode == 0, f"child exited with {proc.returncode} during {last}: {proc.stderr[-2000:]}"
    outcomes = [line for line in lines if "status" in line]
    assert len(outcomes) == len(cases)
    return outcomes


def check_outcomes(outcomes):
    bad = [o for o in outcomes if o["status"] == "failed"]
    assert not bad, "\n".join(json.dumps(o) for o in bad)[:4000]


def case(kernel, k, shape, dtype="float64", seed=0, nan=False):
    return {"kernel": kernel, "k": k, "x": {"shape": list(shape), "dtype": dtype, "seed": seed, "nan": nan}}


def test_huge_and_bad_k_for_every_kernel():
    """Every kernel with every huge and bad k (or window) on small, empty and NaN inputs."""
    cases = []
    for k in HUGE + BAD:
        cases += [
            case("top_k", k, (2, 3), "float32"),
            case("top_k", k, (3, 5), nan=True),
            case("top_k", k, (2, 0)),
            case("top_k", k, (0, 4)),
            case("top_k", k, (0,)),
            case("pearson_neighbours", k, (6, 4), seed=1),
            case("pearson_neighbours", k, (0, 0)),
            case("kmeans", k, (5, 2)),
            case("median_filter", k | 1 if k > 0 else k, (10,)),
            case("median_filter", k | 1 if k > 0 else k, (7,), nan=True),
            case("hampel", k | 1 if k > 0 else k, (10,)),
        ]
    outcomes = run_in_child(cases)
    check_outcomes(outcomes)
    for o in outcomes:
        k, kernel = o["case"]["k"], o["case"]["kernel"]
        if k <= 0:
            assert o["status"] == "error" and o["type"] == "InvalidArgumentError", o
        elif kernel in ("top_k", "pearson_neighbours"):
            # A huge k is clamped to the catalogue: always a result (a matrix of zero rows too).
            assert o["status"] == "ok", o
        elif kernel == "kmeans":
            assert o["status"] == "error" and "n_clusters" in o["message"], o
        elif k < 2**31:
            assert o["status"] == "ok", o  # windows of up to 2^31 - 1 are served
        else:
            assert o["status"] == "error" and "window" in o["message"], o


def test_dtypes_and_empty_inputs_for_every_kernel():
    cases = []
    for dtype in DTYPES:
        cases += [
            case("top_k", 10**13, (3, 4), dtype),
            case("top_k", 2, (3, 4), dtype),
            case("pearson_neighbours", 2**64, (5, 3), "float64"),
            case("kmeans", 2, (6, 3), dtype),
            case("median_filter", 10**9 + 1, (9,), dtype),
            case("median_filter", 5, (0,), dtype),
            case("hampel", 10**9 + 1, (9,), dtype),
            case("hampel", 3, (0,), dtype),
        ]
    check_outcomes(run_in_child(cases))


try:
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import strategies as st
except ImportError:  # the child does not need hypothesis
    pass
else:
    def cases_strategy():
        k = st.one_of(st.sampled_from(HUGE + BAD), st.integers(-5, 40), st.integers(2**31 - 5, 2**31 + 5))
        shape1 = st.tuples(st.integers(0, 12))
        shape2 = st.tuples(st.integers(0, 6), st.integers(0, 6))
        common = dict(dtype=st.sampled_from(DTYPES), seed=st.integers(0, 2**16), nan=st.booleans())
        return st.one_of(
            st.builds(case, st.just("top_k"), k, st.one_of(shape1, shape2), **common),
            st.builds(case, st.just("pearson_neighbours"), k, shape2, st.just("float64"), common["seed"]),
            st.builds(case, st.just("kmeans"), k, shape2, **common),
            st.builds(case, st.sampled_from(["median_filter", "hampel"]), k, shape1, **common),
        )

    # No shrinking: each example is a batch in a child process, and a failure already names
    # its case; shrinking would start dozens of children.
    @settings(
        max_examples=6,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=[HealthCheck.too_slow],
        database=None,
    )
    @given(cases=st.lists(cases_strategy(), min_size=20, max_size=40))
    def test_hypothesis_batches_never_abort(cases):
        """Random batches: the child survives, and each case is a checked result or a clean
        ShoprecError (never another exception, never an InternalError)."""
        check_outcomes(run_in_child(cases))


if __name__ == "__main__":
    child_main()
