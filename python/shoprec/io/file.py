"""The one-file format of models, segments and interactions: mapped rather than copied on load.

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
processes loading the same file share its pages). Saving goes through :mod:`.atomic`. The
same bytes, held in memory, are what a pickled model carries (:func:`encode`, :func:`decode`).
"""

from __future__ import annotations

import hashlib
import json
import math
import mmap
import os
import re
import struct
from typing import Any, Callable, Dict, Tuple

import numpy as np

from ..errors import InvalidArgumentError, ModelFileError, ModelVersionError
from .atomic import PathLike, write_file_atomically

_DTYPE_CODE = re.compile(r"object|[<>|=]?[biufcUSOM?][0-9]{0,4}(\[[a-z]{1,2}\])?")

__all__ = ["FORMAT_VERSION", "MAGIC", "write_file", "read_file", "encode", "decode"]

MAGIC = b"SHOPREC\x00"
FORMAT_VERSION = 1
_HEADER = struct.Struct("<8sIIQ")
_ALIGN = 64
_DIGEST = 32


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


def _writer(type_name: str, params: Dict[str, Any], arrays: Dict[str, np.ndarray]) -> Callable[[Callable[[bytes], None]], None]:
    """The writer of one file's content, validated and laid out before anything is written."""
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

    def write(out: Callable[[bytes], None]) -> None:
        digest = hashlib.sha256()

        def put(chunk: bytes) -> None:
            digest.update(chunk)
            out(chunk)

        put(_HEADER.pack(MAGIC, FORMAT_VERSION, 0, len(meta)))
        put(meta)
        put(b"\0" * (base - _HEADER.size - len(meta)))
        for _, data in encoded.values():
            put(data)
            put(b"\0" * _pad(len(data)))
        out(digest.digest())

    return write


def write_file(path: PathLike, type_name: str, params: Dict[str, Any], arrays: Dict[str, np.ndarray]) -> None:
    """Writes one model file atomically (see the module docstring for the layout)."""
    write_file_atomically(path, _writer(type_name, params, arrays))


def encode(type_name: str, params: Dict[str, Any], arrays: Dict[str, np.ndarray]) -> bytes:
    """The bytes of the file :func:`write_file` would write."""
    chunks: list = []
    _writer(type_name, params, arrays)(chunks.append)
    return b"".join(chunks)


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
    if os.path.isdir(target):
        raise ModelFileError(f"{target!r} is a directory, not a shoprec model file")
    with open(target, "rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        if size < _HEADER.size + _DIGEST:
            raise ModelFileError(f"{target!r} is not a shoprec model file (too short: {size} bytes)")
        mapped = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
    return decode(mapped, target, verify=verify)


def decode(buffer: Any, target: str = "<bytes>", *, verify: bool = True) -> Tuple[str, Dict[str, Any], Dict[str, np.ndarray]]:
    """Reads the content of a model file from ``buffer`` (an ``mmap`` or ``bytes``), with the
    checks of :func:`read_file`; raw arrays are read-only views of the buffer."""
    size = len(buffer)
    if size < _HEADER.size + _DIGEST:
        raise ModelFileError(f"{target!r} is not a shoprec model file (too short: {size} bytes)")
    mapped = buffer
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
            # Only plain dtype codes ("<f8", "<U3", "|b1", "O"): numpy parses anything else
            # (comma strings, repeats) with ast and raises what it likes (found by fuzzing).
            if not isinstance(entry["dtype"], str) or not _DTYPE_CODE.fullmatch(entry["dtype"]):
                raise ValueError(f"unsupported dtype {str(entry['dtype'])[:40]!r}")
            dtype = np.dtype(entry["dtype"])
            shape = tuple(int(s) for s in entry["shape"])
        except (KeyError, TypeError, ValueError, OverflowError) as exc:
            raise ModelFileError(f"{target!r}: bad entry for array {name!r}: {exc}") from None
        if offset < _HEADER.size + meta_len or nbytes < 0 or offset + nbytes > body_end or any(s < 0 for s in shape):
            raise ModelFileError(f"{target!r}: array {name!r} lies outside the file")
        if encoding == "raw":
            if dtype.kind not in "biuf" or math.prod(shape) * dtype.itemsize != nbytes:
                raise ModelFileError(f"{target!r}: array {name!r} has inconsistent dtype, shape and size")
            array = np.frombuffer(mapped, dtype=dtype, count=nbytes // dtype.itemsize, offset=offset).reshape(shape)
        elif encoding == "json":
            try:
                values = json.loads(bytes(view[offset:offset + nbytes]).decode("utf-8"))
                if not isinstance(values, list) or len(shape) != 1 or len(values) != shape[0]:
                    raise ValueError("not a list of the recorded length")
                if dtype.kind == "O":
                    array = np.empty(len(values), dtype=object)
                    array[:] = values
                else:
                    array = np.array(values, dtype=dtype) if values else np.zeros(0, dtype=dtype)
            except (ValueError, TypeError, OverflowError) as exc:
                raise ModelFileError(f"{target!r}: array {name!r} is unreadable: {exc}") from None
            array.setflags(write=False)
        else:
            raise ModelFileError(f"{target!r}: array {name!r} has unknown encoding {encoding!r}")
        arrays[name] = array
    view.release()
    return type_name, params, arrays


