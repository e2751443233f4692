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
def pearson_neighbours(
    indptr: npt.NDArray[np.int64],
    indices: npt.NDArray[np.int32],
    data: npt.NDArray[np.float64],
    n_rows: int,
    n_cols: int,
    k: int,
    axis: str,
    similarity: str,
    min_support: int,
    shrinkage: float,
    num_threads: int = 0,
) -> Tuple[npt.NDArray[np.int64], npt.NDArray[np.int32], npt.NDArray[np.float32]]: ...
def _panic_for_test(num_threads: int = 1) -> None: ...
