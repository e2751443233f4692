# Hand-written stubs for the Rust extension; `python -m mypy.stubtest shoprec._core` keeps
# them honest. The public, documented API is in the Python modules that call these.
from typing import Optional, Tuple, Union

import numpy as np
import numpy.typing as npt

__version__: str

# An include/exclude filter: ids for every row, or (indptr, indices) of a per-row mask.
_IdFilter = Union[npt.NDArray[np.int32], Tuple[npt.NDArray[np.int64], npt.NDArray[np.int32]]]

def top_k(
    scores: Union[npt.NDArray[np.float32], npt.NDArray[np.float64]],
    k: int,
    include: Optional[_IdFilter] = None,
    exclude: Optional[_IdFilter] = None,
    num_threads: int = 0,
) -> Tuple[npt.NDArray[np.int32], npt.NDArray[np.float32]]: ...
_Floats2 = Union[npt.NDArray[np.float32], npt.NDArray[np.float64]]

def kmeans(
    x: _Floats2,
    n_clusters: int,
    init: Optional[_Floats2] = None,
    n_init: int = 1,
    max_iter: int = 300,
    tol: float = 1e-4,
    seed: int = 0,
    num_threads: int = 0,
) -> Tuple[_Floats2, npt.NDArray[np.int32], float, int]: ...
def kmeans_assign(x: _Floats2, centroids: _Floats2, num_threads: int = 0) -> npt.NDArray[np.int32]: ...
_Floats1 = Union[npt.NDArray[np.float32], npt.NDArray[np.float64]]

def median_filter(
    x: _Floats1,
    window: int,
    mode: str = "nearest",
    cval: float = 0.0,
    groups: Optional[npt.NDArray[np.int64]] = None,
    num_threads: int = 0,
) -> _Floats1: ...
def hampel(
    x: _Floats1,
    window: int,
    n_sigmas: float = 3.0,
    groups: Optional[npt.NDArray[np.int64]] = None,
    num_threads: int = 0,
) -> Tuple[_Floats1, npt.NDArray[np.bool_]]: ...
def _panic_for_test(num_threads: int = 1) -> None: ...
