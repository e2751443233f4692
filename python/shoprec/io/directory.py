"""The directory format: several files saved as one unit, with a checksummed manifest.

Used where a saved object is more than arrays (a keyword model's ONNX graph and word lists;
a search index; a whole shop)::

    target/
        manifest.json     {"format": "shoprec-directory", "format_version": 1, "type": ...,
                           "meta": {...}, "files": {name: {"sha256": ..., "size": ...}},
                           "checksum": SHA-256 of this JSON without "checksum"}
        <file> ...        any relative names, subfolders allowed

Every file, the manifest included, is covered by a checksum. The directory is written in a
staging folder next to the target and moved into place by :func:`.atomic.replace_directory`.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path, PurePosixPath
from typing import Any, Dict, Mapping, Tuple

from ..errors import InvalidArgumentError, ModelFileError, ModelVersionError
from .atomic import PathLike, replace_directory, staging_directory, write_into

__all__ = ["MANIFEST", "DIRECTORY_VERSION", "write_directory", "read_directory", "is_shoprec_directory", "SavedDirectory"]

MANIFEST = "manifest.json"
DIRECTORY_FORMAT = "shoprec-directory"
DIRECTORY_VERSION = 1
# Directories written before the manifest existed (keyword models of shoprec 0.1) name
# themselves in meta.json; they are recognised, so saving over one replaces it.
_LEGACY_META = "meta.json"


def _manifest_checksum(manifest: Mapping[str, Any]) -> str:
    body = {key: value for key, value in manifest.items() if key != "checksum"}
    return hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False).encode("utf-8")).hexdigest()


def _check_name(name: str) -> str:
    pure = PurePosixPath(name)
    if not name or pure.is_absolute() or ".." in pure.parts or name == MANIFEST or "\\" in name:
        raise InvalidArgumentError(f"bad file name {name!r} in a shoprec directory")
    return name


def is_shoprec_directory(path: Path) -> bool:
    """Whether ``path`` is a directory shoprec wrote (safe to replace on save)."""
    return (path / MANIFEST).is_file() or (path / _LEGACY_META).is_file()


def write_directory(path: PathLike, type_name: str, files: Mapping[str, bytes], meta: Mapping[str, Any]) -> None:
    """Write ``files`` (relative name -> content) and a manifest as one directory, atomically.

    Raises
    ------
    InvalidArgumentError
        ``path`` exists and is not a directory shoprec wrote (nothing is replaced), or the
        metadata is not JSON.
    """
    from .. import __version__

    entries = {_check_name(name): {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
               for name, data in files.items()}
    manifest: Dict[str, Any] = {
        "format": DIRECTORY_FORMAT, "format_version": DIRECTORY_VERSION, "type": type_name,
        "shoprec_version": __version__, "meta": dict(meta), "files": entries,
    }
    try:
        manifest["checksum"] = _manifest_checksum(manifest)
        manifest_bytes = json.dumps(manifest, sort_keys=True, ensure_ascii=False, indent=1, allow_nan=False).encode("utf-8")
    except (TypeError, ValueError) as exc:
        raise InvalidArgumentError(f"the metadata of a {type_name} cannot be saved: {exc}") from None
    staging = staging_directory(path)
    try:
        for name, data in files.items():
            parts = PurePosixPath(name).parts
            folder = staging.joinpath(*parts[:-1])
            folder.mkdir(parents=True, exist_ok=True)
            write_into(folder, parts[-1], data)
        write_into(staging, MANIFEST, manifest_bytes)
        replace_directory(staging, path, is_shoprec_directory)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


class SavedDirectory:
    """A verified directory: its type, metadata and files (read on demand)."""

    def __init__(self, root: Path, type_name: str, meta: Dict[str, Any], files: Dict[str, Dict[str, Any]]) -> None:
        self.root = root
        self.type = type_name
        self.meta = meta
        self.files = files

    def path(self, name: str) -> Path:
        if name not in self.files:
            raise ModelFileError(f"{self.root}: the manifest lists no file {name!r}")
        return self.root / Path(*PurePosixPath(name).parts)

    def read(self, name: str) -> bytes:
        return self.path(name).read_bytes()

    def read_all(self) -> Dict[str, bytes]:
        return {name: self.read(name) for name in self.files}


def _file_sha256(path: Path) -> Tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def read_directory(path: PathLike, *, verify: bool = True) -> SavedDirectory:
    """Open a directory written by :func:`write_directory`, checking the manifest's own
    checksum and (``verify``) every file's size and SHA-256.

    Raises
    ------
    FileNotFoundError
        No such directory.
    ModelFileError
        No manifest, a corrupted or edited manifest, a missing, truncated or changed file.
    ModelVersionError
        Written in a newer directory format than this shoprec reads.
    """
    root = Path(os.fspath(path))
    if not root.exists():
        raise FileNotFoundError(f"no such shoprec directory: {os.fspath(path)!r}")
    if not root.is_dir():
        raise ModelFileError(f"{os.fspath(path)!r} is not a shoprec directory")
    try:
        manifest = json.loads((root / MANIFEST).read_bytes().decode("utf-8"))
    except FileNotFoundError:
        raise ModelFileError(f"{root}: {MANIFEST} is missing (not a shoprec directory)") from None
    except (UnicodeDecodeError, ValueError) as exc:
        raise ModelFileError(f"{root}: {MANIFEST} is corrupted ({exc})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != DIRECTORY_FORMAT:
        raise ModelFileError(f"{root}: {MANIFEST} does not describe a shoprec directory")
    version = manifest.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise ModelFileError(f"{root}: {MANIFEST} has no format_version")
    if version > DIRECTORY_VERSION:
        raise ModelVersionError(
            f"{root} uses directory format {version}; this shoprec reads up to {DIRECTORY_VERSION}: upgrade shoprec"
        )
    try:
        intact = manifest.get("checksum") == _manifest_checksum(manifest)
    except UnicodeEncodeError:  # a lone surrogate spelled as a JSON escape: never written by shoprec
        intact = False
    if not intact:
        raise ModelFileError(f"{root}: {MANIFEST} does not match its checksum (corrupted or edited)")
    type_name, meta, files = manifest.get("type"), manifest.get("meta"), manifest.get("files")
    if not isinstance(type_name, str) or not isinstance(meta, dict) or not isinstance(files, dict):
        raise ModelFileError(f"{root}: {MANIFEST} is incomplete")
    for name, entry in files.items():
        try:
            _check_name(name)
            expected, size = str(entry["sha256"]), entry["size"]
            # A byte count, exactly: not Infinity (found by fuzz_shop_directory: int() raised
            # OverflowError), not a float or a bool that int() would round or take.
            if type(size) is not int or size < 0:
                raise ValueError(size)
        except (InvalidArgumentError, KeyError, TypeError, ValueError):
            raise ModelFileError(f"{root}: {MANIFEST} has a bad entry for {name!r}") from None
        file_path = root / Path(*PurePosixPath(name).parts)
        if not file_path.is_file():
            raise ModelFileError(f"{root}: {name} is missing")
        if verify:
            actual, actual_size = _file_sha256(file_path)
            if actual_size != size or actual != expected:
                raise ModelFileError(f"{root}: {name} does not match its checksum (corrupted, truncated or edited)")
        elif file_path.stat().st_size != size:
            raise ModelFileError(f"{root}: {name} has the wrong size (truncated or edited)")
    return SavedDirectory(root, type_name, meta, files)
