"""shoprec's one-file model format: safe to load, mapped rather than copied, never pickle.

Layout (all integers little-endian)::

    offset 0   8 bytes   magic b"SHOPREC\\x00"
    offset 8   u32       format version (FORMAT_VERSION)
    offset 12  u32       reserved, 0
    offset 16  u64       length of the JSON metadata block
    offset 24  ...       JSON metadata (UTF-8), then zero padding to a multiple of 64
               ...       array blocks, each starting at a multiple of 64
    end - 32   32 bytes  SHA-256 of every byte before it

The metadata is ``{"type": ..., "params": {...}, "arrays": {name: entry}}``. An entry is
``{"encoding": "raw", "dtype": "<f4", "shape": [...], "offset": o, "nbytes": n}`` for numeric
arrays (offsets from the start of the file), or ``{"encoding": "json", "dtype": "<U5" |
"object", "offset": o, "nbytes": n}`` for arrays of strings or mixed ids, stored as a UTF-8
JSON list.

Loading checks the magic, the version, the checksum and every array's bounds before
exposing anything; raw arrays are read-only views of one ``mmap`` of the file (many worker
processes loading the same file share its pages). Saving writes a temporary file in the
target directory, fsyncs it and renames it over the target, so readers see either the old
or the new file, never half of one.
"""

from __future__ import annotations

import hashlib
import json
import mmap
import os
import struct
import tempfile
from typing import Any, Callable, Dict, Tuple, Type, Union

import numpy as np

from .errors import InvalidArgumentError, ModelFileError, ModelVersionError

__all__ = ["FORMAT_VERSION", "register", "save_object", "write_file", "read_file", "load"]

MAGIC = b"SHOPREC\x00"
FORMAT_VERSION = 1
_HEADER = struct.Struct("<8sIIQ")
_ALIGN = 64
_DIGEST = 32

PathLike = Union[str, "os.PathLike[str]"]

# type name -> class with ``_to_state() -> (params, arrays)`` and ``_from_state(params, arrays)``.
_REGISTRY: Dict[str, Type[Any]] = {}
# Modules whose classes register themselves on import; another model family adds its module here.
_MODEL_MODULES = [".interactions", ".models", ".segments"]


def register(name: str) -> Callable[[Type[Any]], Type[Any]]:
    """Class decorator: objects of this class are saved under ``name`` and ``load`` rebuilds
    them with ``cls._from_state(params, arrays)``."""

    def decorate(cls: Type[Any]) -> Type[Any]:
        _REGISTRY[name] = cls
        cls._persist_name = name
        return cls

    return decorate


def _pad(n: int) -> int:
    return (-n) % _ALIGN


def _encode_array(name: str, array: np.ndarray) -> Tuple[Dict[str, Any], bytes]:
    array = np.asarray(array)
    if array.dtype.kind in "biuf":
        little = array.astype(array.dtype.newbyteorder("<"), copy=False)
        data = np.ascontiguousarray(little).tobytes()
        return {"encoding": "raw", "dtype": little.dtype.str, "shape": list(array.shape)}, data
    if array.dtype.kind in "UO" and array.ndim == 1:
        values = array.tolist()
        for value in values:
            if not isinstance(value, (str, int, float)) or isinstance(value, bool):
                raise InvalidArgumentError(
                    f"cannot save array {name!r}: id {value!r} of type {type(value).__name__} "
                    "is not a string or a number"
                )
        data = json.dumps(values, ensure_ascii=False, allow_nan=False).encode("utf-8")
        dtype = "object" if array.dtype.kind == "O" else array.dtype.str
        return {"encoding": "json", "dtype": dtype, "shape": [len(values)]}, data
    raise InvalidArgumentError(f"cannot save array {name!r} of dtype {array.dtype} and {array.ndim} dimensions")


def write_file(path: PathLike, type_name: str, params: Dict[str, Any], arrays: Dict[str, np.ndarray]) -> None:
    """Writes one model file atomically (see the module docstring for the layout)."""
    encoded = {name: _encode_array(name, array) for name, array in arrays.items()}
    # The metadata holds the offsets, whose values depend on the metadata's own length: lay
    # the blocks out relative to the end of the metadata, then fix the base once it is known.
    try:
        json.dumps(params, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise InvalidArgumentError(f"model parameters cannot be saved: {exc}") from None
    base = 0
    for _ in range(4):
        directory = {}
        position = base
        for name, (entry, data) in encoded.items():
            directory[name] = dict(entry, offset=position, nbytes=len(data))
            position += len(data) + _pad(len(data))
        meta = json.dumps({"type": type_name, "params": params, "arrays": directory}, sort_keys=True).encode("utf-8")
        start = _HEADER.size + len(meta)
        new_base = start + _pad(start)
        if new_base == base:
            break
        base = new_base
    else:  # pragma: no cover - the offsets' digits stabilise after two rounds
        raise ModelFileError("could not lay out the model file")

    target = os.fspath(path)
    directory_name = os.path.dirname(os.path.abspath(target))
    fd, temp = tempfile.mkstemp(prefix=".shoprec-", suffix=".tmp", dir=directory_name)
    try:
        with os.fdopen(fd, "wb") as out:
            digest = hashlib.sha256()

            def put(chunk: bytes) -> None:
                digest.update(chunk)
                out.write(chunk)

            put(_HEADER.pack(MAGIC, FORMAT_VERSION, 0, len(meta)))
            put(meta)
            put(b"\0" * (base - _HEADER.size - len(meta)))
            for _, data in encoded.values():
                put(data)
                put(b"\0" * _pad(len(data)))
            out.write(digest.digest())
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, target)
    except BaseException:
        try:
            os.unlink(temp)
        except OSError:
            pass
        raise
    try:  # make the rename itself durable
        dir_fd = os.open(directory_name, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except OSError:  # pragma: no cover - some filesystems refuse fsync on directories
        pass


def read_file(path: PathLike, *, verify: bool = True) -> Tuple[str, Dict[str, Any], Dict[str, np.ndarray]]:
    """Reads a model file: ``(type name, params, arrays)``. Raw arrays are read-only views of
    a memory map of the file; the file may be replaced or deleted afterwards.

    Raises
    ------
    FileNotFoundError
        No such file.
    ModelVersionError
        Written by a newer shoprec (format version above :data:`FORMAT_VERSION`).
    ModelFileError
        Not a shoprec file, truncated or corrupted (checksum, metadata or bounds).
    """
    target = os.fspath(path)
    with open(target, "rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        if size < _HEADER.size + _DIGEST:
            raise ModelFileError(f"{target!r} is not a shoprec model file (too short: {size} bytes)")
        mapped = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
    view = memoryview(mapped)
    magic, version, _, meta_len = _HEADER.unpack_from(view, 0)
    if magic != MAGIC:
        raise ModelFileError(f"{target!r} is not a shoprec model file (bad magic bytes)")
    if version > FORMAT_VERSION:
        raise ModelVersionError(
            f"{target!r} uses model format {version}; this shoprec reads up to {FORMAT_VERSION}: upgrade shoprec"
        )
    if version < 1:
        raise ModelFileError(f"{target!r} has an invalid format version {version}")
    body_end = size - _DIGEST
    if meta_len > body_end - _HEADER.size:
        raise ModelFileError(f"{target!r} is truncated (metadata runs past the end)")
    if verify and hashlib.sha256(view[:body_end]).digest() != bytes(view[body_end:]):
        raise ModelFileError(f"{target!r} is corrupted or truncated (checksum mismatch)")
    try:
        meta = json.loads(bytes(view[_HEADER.size:_HEADER.size + meta_len]).decode("utf-8"))
        type_name = meta["type"]
        params = meta["params"]
        directory = meta["arrays"]
        if not isinstance(type_name, str) or not isinstance(params, dict) or not isinstance(directory, dict):
            raise TypeError("bad metadata types")
    except (ValueError, KeyError, TypeError) as exc:
        raise ModelFileError(f"{target!r} has unreadable metadata: {exc}") from None
    arrays: Dict[str, np.ndarray] = {}
    array: np.ndarray
    for name, entry in directory.items():
        try:
            offset, nbytes, encoding = int(entry["offset"]), int(entry["nbytes"]), entry["encoding"]
            dtype = np.dtype(entry["dtype"])
            shape = tuple(int(s) for s in entry["shape"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelFileError(f"{target!r}: bad entry for array {name!r}: {exc}") from None
        if offset < _HEADER.size + meta_len or nbytes < 0 or offset + nbytes > body_end or any(s < 0 for s in shape):
            raise ModelFileError(f"{target!r}: array {name!r} lies outside the file")
        if encoding == "raw":
            if dtype.kind not in "biuf" or int(np.prod(shape, dtype=np.int64)) * dtype.itemsize != nbytes:
                raise ModelFileError(f"{target!r}: array {name!r} has inconsistent dtype, shape and size")
            array = np.frombuffer(mapped, dtype=dtype, count=nbytes // dtype.itemsize, offset=offset).reshape(shape)
        elif encoding == "json":
            try:
                values = json.loads(bytes(view[offset:offset + nbytes]).decode("utf-8"))
                if not isinstance(values, list) or len(values) != shape[0]:
                    raise ValueError("not a list of the recorded length")
                if dtype.kind == "O":
                    array = np.empty(len(values), dtype=object)
                    array[:] = values
                else:
                    array = np.array(values, dtype=dtype) if values else np.zeros(0, dtype=dtype)
            except (ValueError, TypeError) as exc:
                raise ModelFileError(f"{target!r}: array {name!r} is unreadable: {exc}") from None
            array.setflags(write=False)
        else:
            raise ModelFileError(f"{target!r}: array {name!r} has unknown encoding {encoding!r}")
        arrays[name] = array
    view.release()
    return type_name, params, arrays


def save_object(path: PathLike, obj: Any) -> None:
    """Saves a registered object (a fitted model, ``Interactions``)."""
    name = getattr(type(obj), "_persist_name", None)
    if name is None or _REGISTRY.get(name) is not type(obj):
        raise InvalidArgumentError(f"{type(obj).__name__} objects cannot be saved")
    params, arrays = obj._to_state()
    write_file(path, name, params, arrays)


def load(path: PathLike, *, verify: bool = True) -> Any:
    """Load a model (or ``Interactions``) saved by shoprec.

    Large arrays are memory-mapped from the file, read-only, not copied, so many worker
    processes can share one file. The loaded model behaves exactly like the saved one.

    Parameters
    ----------
    path : str or os.PathLike
    verify : bool
        Check the SHA-256 checksum of the whole file first (default). Skipping it saves
        reading the file once, for files known to be intact.

    Raises
    ------
    FileNotFoundError
        No such file.
    ModelFileError
        Not a shoprec file, truncated, corrupted, or of an unknown model type.
    ModelVersionError
        Written by a newer version of shoprec.
    """
    # The model classes register themselves on import.
    import importlib

    for module in _MODEL_MODULES:
        try:
            importlib.import_module(module, __package__)
        except ModuleNotFoundError as exc:  # a model family this build does not ship
            if exc.name != f"{__package__}{module}":
                raise

    type_name, params, arrays = read_file(path, verify=verify)
    cls = _REGISTRY.get(type_name)
    if cls is None:
        raise ModelFileError(f"{os.fspath(path)!r} holds an unknown model type {type_name!r}")
    try:
        return cls._from_state(params, arrays)
    except ModelFileError:
        raise
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise ModelFileError(f"{os.fspath(path)!r}: inconsistent {type_name} data: {exc!r}") from None
