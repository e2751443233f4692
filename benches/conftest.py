import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))

from sizes import FULL, SMOKE  # noqa: E402


@pytest.fixture(scope="session")
def sizes(request):
    """The criterion sizes when benchmarks are timed, small ones when they only smoke-run."""
    # addopts disables benchmarks; --benchmark-enable overrides that (pytest-benchmark's rule).
    options = request.config.option
    timed = getattr(options, "benchmark_enable", False) or not getattr(options, "benchmark_disable", True)
    return FULL if timed else SMOKE
