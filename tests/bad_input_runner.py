"""The bad-input matrix (tests/test_bad_input.py), the runner: the table of every entry point
(from the parts), one case in a process (:func:`run_case`), and the server that builds the
fixtures once and forks one child per entry point (:func:`serve`, run as
``python bad_input_runner.py --serve`` by :func:`run_matrix`). When a child dies (abort,
segfault, a kill by the memory limit) the case it was running is counted as a crash and a new
child continues with the next case."""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import time
import traceback

from bad_input_cli import _cli_entries
from bad_input_models import (
    _clean_entries,
    _evaluate_entries,
    _interactions_entries,
    _kernel_entries,
    _keyword_entries,
    _model_entries,
    _segments_entries,
)
from bad_input_shop import _search_entries, _shop_entries, _update_entries
from bad_input_values import VALUES, Fixtures

HERE = os.path.dirname(os.path.abspath(__file__))
CASE_TIMEOUT = 20.0  # seconds for one entry point's child to make progress
MEMORY_LIMIT = 2 << 30  # a child allocating this much more is stopped (counts as a crash)


def table():
    rows = (_model_entries() + _segments_entries() + _kernel_entries() + _interactions_entries()
            + _clean_entries() + _keyword_entries() + _evaluate_entries() + _search_entries() + _shop_entries()
            + _update_entries() + _cli_entries())
    return {name: (arg, role, call, accept) for name, arg, role, call, accept in rows}


# ----------------------------------------------------------------------------- running


def run_case(fx, entry, vname):
    """One case in the current process: (outcome, detail)."""
    from shoprec.errors import InternalError, ShoprecError

    arg, role, call, accept = table()[entry]
    if (entry, vname) in KNOWN:
        return "known_skipped", KNOWN[(entry, vname)]
    value = VALUES[role][vname](fx)
    try:
        result = call(fx, value)
    except InternalError as exc:
        return "internal_error", f"{exc}"[:300]
    except ShoprecError as exc:
        message = str(exc)
        names = (arg,) if isinstance(arg, str) else arg
        named = any(n in message for n in names) or (isinstance(value, str) and value[:40] in message)
        return ("clean_error" if named else "error_not_naming_arg"), f"{type(exc).__name__}: {message[:300]}"
    except FileNotFoundError as exc:  # documented for the readers of files
        if role == "path" and vname in ("missing", "surrogate"):
            return "documented_error", f"FileNotFoundError: {exc}"[:300]
        return "other_exception", f"FileNotFoundError: {exc!s:.300}"
    except Exception as exc:  # noqa: BLE001 - the point is to see every other exception
        return "other_exception", f"{type(exc).__name__}: {exc!s:.300}"
    value = VALUES[role][vname](fx)  # generators are consumed: a fresh one for the check
    try:
        good = accept is not None and accept(vname, value, result, fx)
    except Exception as exc:  # noqa: BLE001
        return "wrong_result", f"accept failed: {type(exc).__name__}: {exc!s:.200}"
    return ("accepted_result" if good else "wrong_result"), repr(result)[:300]


def _address_space():
    """This process's virtual size (the server's threads, arenas and libraries count)."""
    try:
        with open("/proc/self/statm", encoding="ascii") as statm:
            return int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return 0


def _child(fx, entry, vnames, out_fd):
    limit = _address_space() + MEMORY_LIMIT  # MEMORY_LIMIT more than what the fork inherited
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    with os.fdopen(out_fd, "w") as out:
        for vname in vnames:
            out.write(json.dumps({"value": vname, "start": True}) + "\n")
            out.flush()
            started = time.perf_counter()
            try:
                outcome, detail = run_case(fx, entry, vname)
            except BaseException as exc:  # noqa: BLE001
                outcome, detail = "harness_error", traceback.format_exc(limit=3)[-300:] + repr(exc)
            out.write(json.dumps({"value": vname, "outcome": outcome, "detail": detail,
                                  "seconds": round(time.perf_counter() - started, 4)}) + "\n")
            out.flush()


def serve(entries):
    """The server: fixtures once, then one forked child per entry (restarted after a crash)."""
    import select

    fx = Fixtures()
    fx.keywords  # noqa: B018 - built before forking
    fx.shop.parts.keywords.expand("laptop")  # the shop, and its keyword session opened, before forking
    tab = table()
    results = []
    for entry in entries:
        role = tab[entry][1]
        pending = list(VALUES[role])
        while pending:
            read_fd, write_fd = os.pipe()
            pid = os.fork()
            if pid == 0:
                os.close(read_fd)
                code = 0
                try:
                    _child(fx, entry, pending, write_fd)
                except BaseException:  # noqa: BLE001
                    code = 1
                os._exit(code)
            os.close(write_fd)
            current, buffer = None, b""
            with os.fdopen(read_fd, "rb") as pipe:
                while True:
                    ready, _, _ = select.select([pipe], [], [], CASE_TIMEOUT)
                    if not ready:
                        os.kill(pid, signal.SIGKILL)
                        break
                    chunk = os.read(pipe.fileno(), 65536)
                    if not chunk:
                        break
                    buffer += chunk
                    *lines, buffer = buffer.split(b"\n")
                    for line in lines:
                        record = json.loads(line)
                        if record.get("start"):
                            current = record["value"]
                        else:
                            results.append({"entry": entry, "role": role, **record})
                            pending.remove(record["value"])
                            current = None
            _, status = os.waitpid(pid, 0)
            if current is not None:  # the child died (or hung) in this case
                how = f"signal {os.WTERMSIG(status)}" if os.WIFSIGNALED(status) else f"exit {os.WEXITSTATUS(status)}"
                results.append({"entry": entry, "role": role, "value": current, "outcome": "crash", "detail": how})
                pending.remove(current)
            elif pending:  # died between cases
                results.append({"entry": entry, "role": role, "value": pending[0], "outcome": "crash",
                                "detail": "child exited between cases"})
                pending.pop(0)
    return results


GOOD = ("clean_error", "accepted_result", "documented_error", "known_skipped")

_TOPK = "k through kernels.top_k (an allocation of k): fixed on branch rust-groundwork"
_BIGK = "k >= 2**64 overflows in the Rust glue before check_k clamps it: fixed on branch rust-groundwork"
#: Cases another branch fixes; they are skipped here, not hidden: the count is printed.
KNOWN = {}
for _entry in ("kernels.top_k[k]", "InterestSegments.popular_for[k]", "InterestSegments.describe[k]"):
    for _v in ("huge", "2**31", "2**63", "np.uint64_huge"):
        KNOWN[(_entry, _v)] = _TOPK  # fixed on branch rust-groundwork
for _entry in ("kernels.top_k[k]", "InterestSegments.popular_for[k]", "InterestSegments.describe[k]",
               "kernels.pearson_neighbours[k]", "KeywordModel.build[dim]"):
    KNOWN[(_entry, "2**64")] = _BIGK  # fixed on branch rust-groundwork


def run_matrix(entries=None):
    entries = list(table()) if entries is None else entries
    # The child imports the shoprec this test runs against (an installed wheel, or python/
    # with an in-place build), never the source folder by default.
    import shoprec

    package_root = os.path.dirname(os.path.dirname(os.path.abspath(shoprec.__file__)))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([package_root, HERE, os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.run([sys.executable, os.path.abspath(__file__), "--serve"], input=json.dumps(entries),
                          capture_output=True, text=True, env=env, timeout=900)
    if proc.returncode != 0:
        raise AssertionError(f"the matrix server failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


if __name__ == "__main__" and len(sys.argv) > 1 and sys.argv[1] == "--serve":
    import warnings

    warnings.simplefilter("ignore")
    names = json.loads(sys.stdin.read())
    print(json.dumps(serve(names)))
