import os

import numpy as np
import pytest


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


def shared_data_dir():
    """The real data sets (never committed), or None where this clone has none."""
    path = os.environ.get("SHOPREC_DATA", os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data"))
    return path if os.path.isdir(path) else None
