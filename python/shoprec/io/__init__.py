"""Persistence: one atomic writer, two formats, one registry, one ``load``.

* :mod:`.atomic`: stage, fsync, rename, fsync the parent; ordinary permissions; refuses to
  replace what shoprec did not write; cleans up after saves that were killed.
* :mod:`.file`: the one-file format (models, segments, interactions), memory-mapped on load.
* :mod:`.directory`: several files with a checksummed manifest (keyword models, search
  indexes, shops).
* :mod:`.registry`: which class each saved type name is; :func:`load`; pickling by value.

Version policy: a file or directory records its format version; this shoprec reads every
older version it knows and raises :class:`shoprec.ModelVersionError` for a newer one, saying
to upgrade shoprec.
"""

from __future__ import annotations

from .atomic import PathLike, scratch_directory
from .directory import SavedDirectory, read_directory, write_directory
from .file import FORMAT_VERSION, read_file, write_file
from .registry import PicklesByValue, load, load_as, nested_state, register, restore_nested, save

__all__ = [
    "FORMAT_VERSION",
    "PathLike",
    "PicklesByValue",
    "SavedDirectory",
    "load",
    "load_as",
    "nested_state",
    "read_directory",
    "read_file",
    "register",
    "restore_nested",
    "save",
    "scratch_directory",
    "write_directory",
    "write_file",
]
