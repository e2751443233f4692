"""Checks and conversions at the Python edge.

Every array is given its final dtype and made C-contiguous here, once, so that the Rust core
stays monomorphic and never sees a strided or foreign array. Errors name the argument.
"""

from __future__ import annotations

import numbers
import os
import sys
from typing import Any, Optional, Sequence, Tuple

import numpy as np
import scipy.sparse as sp

from .errors import DTypeError, InvalidArgumentError, ModelFileError, ShapeMismatchError

INT32_MAX = np.iinfo(np.int32).max


def check_int(value: Any, name: str, *, minimum: Optional[int] = None, maximum: Optional[int] = None) -> int:
    """An integer argument (Python or numpy int, not bool), at least ``minimum`` and at most
    ``maximum``."""
    if type(value) is not int:  # the common case skips the (slower) abstract-class check
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
            raise DTypeError(f"{name} must be an integer, got {type(value).__name__}")
        value = int(value)
    if minimum is not None and value < minimum:
        raise InvalidArgumentError(f"{name} must be at least {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise InvalidArgumentError(f"{name} must be at most {maximum}, got {value}")
    return value


#: The largest result count passed on: any larger ``k`` asks for the same (every catalogue is
#: smaller), and it fits a Rust ``usize`` and a numpy index on every platform.
K_LIMIT = sys.maxsize


#: The largest float32: the models compute in float32, so a stored or given value beyond it
#: would become inf there.
FLOAT32_MAX = float(np.finfo(np.float32).max)


def check_k(k: Any, name: str = "k") -> int:
    """A result count: an integer >= 1, of any size, returned clamped to :data:`K_LIMIT`.

    A ``k`` beyond the catalogue means "all of it"; the kernels clamp it further to the number
    of candidates, so a huge ``k`` never sizes an allocation.
    """
    return min(check_int(k, name, minimum=1), K_LIMIT)


def check_num_threads(num_threads: Any) -> int:
    """``num_threads``: 0 means every core, otherwise the exact number of threads."""
    n = check_int(num_threads, "num_threads", minimum=0)
    if n > 1024:
        raise InvalidArgumentError(f"num_threads must be at most 1024, got {n}")
    return n


def check_float(value: Any, name: str, *, minimum: Optional[float] = None, strict: bool = False) -> float:
    """A finite real argument, at least (or, with ``strict``, above) ``minimum``."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise DTypeError(f"{name} must be a number, got {type(value).__name__}")
    value = float(value)
    if not np.isfinite(value):
        raise InvalidArgumentError(f"{name} must be finite, got {value}")
    if minimum is not None and (value <= minimum if strict else value < minimum):
        relation = "greater than" if strict else "at least"
        raise InvalidArgumentError(f"{name} must be {relation} {minimum}, got {value}")
    return value


def check_choice(value: Any, name: str, choices: Sequence[str]) -> str:
    if not isinstance(value, str) or value not in choices:
        options = ", ".join(repr(c) for c in choices)
        raise InvalidArgumentError(f"{name} must be one of {options}, got {value!r}")
    return value


def _numeric_kind(array: np.ndarray, name: str) -> None:
    if array.dtype.kind not in "biuf":
        raise DTypeError(f"{name} must hold real numbers, got dtype {array.dtype}")


def as_float_array(
    x: Any,
    name: str,
    *,
    ndim: Tuple[int, ...] = (1,),
    dtypes: Tuple[Any, ...] = (np.float64,),
    allow_nan: bool = False,
    allow_inf: bool = False,
    allow_empty: bool = False,
) -> np.ndarray:
    """A C-contiguous float array of one of ``dtypes`` (the first one unless ``x`` already has
    another of them), with ``x.ndim`` in ``ndim``. Strided and transposed inputs are copied.
    """
    if sp.issparse(x):
        raise DTypeError(f"{name} must be a dense array, got a scipy.sparse matrix")
    try:
        array = np.asarray(x)
    except (TypeError, ValueError) as exc:
        raise DTypeError(f"{name} cannot be read as an array: {exc}") from None
    _numeric_kind(array, name)
    if array.ndim not in ndim:
        expected = " or ".join(f"{d}-D" for d in ndim)
        raise DTypeError(f"{name} must be {expected}, got an array with {array.ndim} dimensions")
    allowed = [np.dtype(d) for d in dtypes]
    dtype = array.dtype if array.dtype in allowed else allowed[0]
    array = np.ascontiguousarray(array, dtype=dtype)
    if array.size == 0 and not allow_empty:
        raise InvalidArgumentError(f"{name} is empty")
    # One pass over the data in the common (all finite) case; which kind is bad only on failure.
    if not (allow_nan and allow_inf) and not bool(np.isfinite(array).all()):
        bad_nan = (not allow_nan) and bool(np.isnan(array).any())
        bad_inf = (not allow_inf) and bool(np.isinf(array).any())
        if bad_nan or bad_inf:
            what = "NaN" if bad_nan else "infinite values"
            raise InvalidArgumentError(f"{name} contains {what}")
    return array


def as_index_array(x: Any, name: str, *, upper: Optional[int] = None, dtype: Any = np.int32) -> np.ndarray:
    """A 1-D C-contiguous integer array of ids in ``[0, upper)``."""
    try:
        array = np.asarray(x)
    except (TypeError, ValueError) as exc:
        raise DTypeError(f"{name} cannot be read as an array of ids: {exc}") from None
    if array.ndim == 0:
        array = array.reshape(1)
    if array.ndim != 1:
        raise DTypeError(f"{name} must be 1-D, got {array.ndim} dimensions")
    if array.size == 0:
        return np.zeros(0, dtype=dtype)
    if array.dtype.kind == "f" and np.all(np.isfinite(array)) and np.all(array == np.round(array)):
        array = array.astype(np.int64)
    if array.dtype.kind not in "iu":
        raise DTypeError(f"{name} must hold integer ids, got dtype {array.dtype}")
    low, high = int(array.min()), int(array.max())
    if low < 0:
        raise InvalidArgumentError(f"{name} contains the negative id {low}")
    if upper is not None and high >= upper:
        raise InvalidArgumentError(f"{name} contains the id {high}, out of range for {upper}")
    if high > np.iinfo(dtype).max:
        raise InvalidArgumentError(f"{name} contains the id {high}, too large")
    return np.ascontiguousarray(array, dtype=dtype)


def as_csr(
    matrix: Any,
    name: str,
    *,
    dtype: Any = np.float64,
    shape: Optional[Tuple[int, int]] = None,
    allow_nan: bool = False,
) -> Tuple[np.ndarray, np.ndarray, np.ndarray, Tuple[int, int]]:
    """Any scipy.sparse matrix (or ``(data, indices, indptr)`` CSR arrays, with ``shape``) as
    canonical CSR arrays ``(indptr int64, indices int32, data, shape)``: indices sorted within
    each row and duplicates summed, as scipy does. The input is never modified.
    """
    if isinstance(matrix, tuple) and len(matrix) == 3 and not sp.issparse(matrix):
        try:
            matrix = sp.csr_matrix(matrix, shape=shape)
        except (TypeError, ValueError) as exc:
            raise InvalidArgumentError(f"{name}: invalid CSR arrays: {exc}") from None
    if not sp.issparse(matrix):
        raise DTypeError(
            f"{name} must be a scipy.sparse matrix or (data, indices, indptr) arrays, "
            f"got {type(matrix).__name__}"
        )
    if matrix.ndim != 2:
        raise DTypeError(f"{name} must be 2-D")
    if shape is not None and tuple(matrix.shape) != tuple(shape):
        raise ShapeMismatchError(f"{name} has shape {matrix.shape}, expected {tuple(shape)}")
    if max(matrix.shape) > INT32_MAX:
        raise InvalidArgumentError(f"{name} has more than 2^31 - 1 rows or columns")
    _numeric_kind(np.asarray(matrix.data), name)
    csr = sp.csr_matrix(matrix, dtype=dtype, copy=True)
    try:
        csr.check_format(full_check=True)
    except ValueError as exc:
        raise InvalidArgumentError(f"{name}: invalid sparse structure: {exc}") from None
    csr.sum_duplicates()  # sorts indices too
    data = np.ascontiguousarray(csr.data, dtype=dtype)
    if not allow_nan and not np.all(np.isfinite(data)):
        raise InvalidArgumentError(f"{name} contains NaN or infinite values")
    indptr = np.ascontiguousarray(csr.indptr, dtype=np.int64)
    indices = np.ascontiguousarray(csr.indices, dtype=np.int32)
    return indptr, indices, data, (int(csr.shape[0]), int(csr.shape[1]))


def as_id_filter(filt: Any, name: str, n_rows: int, n_cols: int) -> Any:
    """An include/exclude filter for ``n_rows x n_cols`` scores, as ``_core`` takes it:
    ``None``, a 1-D int32 array of ids applying to every row, or ``(indptr, indices)`` of a
    sparse mask (any scipy.sparse matrix or a 2-D boolean array of the scores' shape).
    """
    if filt is None:
        return None
    if isinstance(filt, np.ndarray) and filt.ndim == 2 and filt.dtype.kind not in "biuf":
        raise DTypeError(f"{name} mask must be boolean or numeric, got dtype {filt.dtype}")
    if sp.issparse(filt) or (isinstance(filt, np.ndarray) and filt.ndim == 2):
        mask = sp.csr_matrix(filt)
        if mask.shape != (n_rows, n_cols):
            raise ShapeMismatchError(f"{name} mask has shape {mask.shape}, scores have shape {(n_rows, n_cols)}")
        mask.eliminate_zeros()
        mask.sum_duplicates()
        return (
            np.ascontiguousarray(mask.indptr, dtype=np.int64),
            np.ascontiguousarray(mask.indices, dtype=np.int32),
        )
    return as_index_array(filt, name, upper=n_cols)


def check_path(path: Any, name: str = "path") -> str:
    """A file-system path as a str: a str, bytes or ``os.PathLike`` without NUL bytes and with
    components the file system can hold (at most 255 bytes each). A path that does not exist
    is not checked here (loading it raises ``FileNotFoundError``, as documented)."""
    if not isinstance(path, (str, bytes, os.PathLike)):
        raise DTypeError(f"{name} must be a str or os.PathLike, got {type(path).__name__}")
    target = os.fspath(path)
    text = os.fsdecode(target) if isinstance(target, bytes) else target
    if "\x00" in text:
        raise InvalidArgumentError(f"{name} contains a NUL character: {text[:80]!r}")
    if not text:
        raise InvalidArgumentError(f"{name} is empty")
    for part in text.split(os.sep):
        if len(os.fsencode(part)) > 255:
            raise InvalidArgumentError(f"{name} has a component longer than 255 bytes: {part[:40]!r}...")
    return text


def check_stored_csr(name: str, parts: Tuple[np.ndarray, np.ndarray, np.ndarray], shape: Tuple[int, int]) -> None:
    """CSR arrays read from a file, checked before scipy or numpy index with them: scipy's C
    code trusts indptr and indices (and its ``check_format`` missed a negative indptr), so a
    corrupted file must not reach it (segfaults found by fuzzing the one-file reader with
    checksums off). :class:`ModelFileError` naming ``name`` otherwise."""
    indptr, indices, data = (np.asarray(a) for a in parts)
    n_rows, n_cols = shape
    ok = (
        indptr.ndim == indices.ndim == data.ndim == 1
        and indptr.dtype.kind in "iu" and indices.dtype.kind in "iu"
        and n_rows >= 0 and len(indptr) == n_rows + 1 and len(indices) == len(data)
        and int(indptr[0]) == 0 and int(indptr[-1]) == len(indices)
        and not bool(np.any(np.diff(indptr.astype(np.int64)) < 0))
        and (len(indices) == 0 or (int(indices.min()) >= 0 and int(indices.max()) < n_cols))
    )
    if not ok:
        raise ModelFileError(f"inconsistent model arrays: the stored {name} matrix is not a valid "
                             f"{n_rows} x {n_cols} CSR matrix")


def check_odd_window(window: Any, name: str = "window") -> int:
    """A sliding-window length: a positive odd integer (so the window has a centre)."""
    w = check_int(window, name, minimum=1)
    if w % 2 == 0:
        raise InvalidArgumentError(f"{name} must be odd (a centred window), got {w}")
    if w > INT32_MAX:
        raise InvalidArgumentError(f"{name} must be at most 2^31 - 1, got {w}")
    return w


def as_groups(groups: Any, n: int, name: str = "groups") -> Optional[np.ndarray]:
    """Series boundaries as an indptr: ``None``, or a 1-D int64 array that starts at 0, never
    decreases and ends at ``n`` (series ``i`` is ``x[groups[i]:groups[i + 1]]``)."""
    if groups is None:
        return None
    try:
        array = np.asarray(groups)
    except (TypeError, ValueError) as exc:
        raise DTypeError(f"{name} cannot be read as an array of offsets: {exc}") from None
    if array.ndim != 1:
        raise DTypeError(f"{name} must be 1-D, got {array.ndim} dimensions")
    if array.dtype.kind not in "iu":
        raise DTypeError(f"{name} must hold integer offsets, got dtype {array.dtype}")
    if array.size == 0 or array[0] != 0:
        raise InvalidArgumentError(f"{name} must start at 0")
    if np.any(np.diff(array.astype(np.int64)) < 0):
        raise InvalidArgumentError(f"{name} must be non-decreasing")
    if int(array[-1]) != n:
        raise ShapeMismatchError(f"{name} must end at len(x) = {n}, ends at {int(array[-1])}")
    return np.ascontiguousarray(array, dtype=np.int64)
