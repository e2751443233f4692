"""The bad-input matrix (tests/test_bad_input.py), part 4: the command line
(``shoprec.cli.main``) against the bad command lines of ``VALUES["argv"]``."""

from __future__ import annotations


def run_cli(fx, argv):
    """``shoprec <argv>`` in this process: (exit code, what it wrote to stderr)."""
    import contextlib
    import io

    from shoprec import cli

    fx.shop.parts.keywords.expand("laptop")  # the shop, and its keyword session opened, before forking - the shop directory the arguments name
    err, out = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
        code = cli.main(argv, out=out)
    return code, err.getvalue()


#: Command lines that succeed (exit 0): a fallback says so in the output.
CLI_OK = {"help", "unknown_user", "int_user_as_text", "surrogate_user", "k_huge", "search_surrogate", "search_1MB",
          "search_control", "search_unknown_category"}


def accept_cli(vn, v, r, fx, **_):
    """Exit 0 for what works; otherwise 2 (usage) or 1 (error) with a one-line message on
    stderr and no traceback."""
    code, err = r
    if "Traceback" in err:
        return False
    if vn in CLI_OK:
        return code == 0
    return code in (1, 2) and "error" in err


def _cli_entries():
    return [("cli.main[argv]", "argv", "argv", run_cli, accept_cli)]
