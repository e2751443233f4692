"""The explicit registry of what shoprec saves, and the one ``load`` that opens any of it.

A class that saves itself registers under a type name with :func:`register` (the name is
written into the file or manifest). Single-file kinds implement ``_to_state() -> (params,
arrays)`` and ``_from_state(params, arrays)``; directory kinds implement ``_to_files() ->
(meta, files)`` and ``_from_files(meta, files)`` (or ``_from_directory(saved)`` to read files
lazily). Every model class registers when its module is imported, and ``import shoprec``
imports them all, so the registry is complete whenever this module can be called.

:class:`PicklesByValue` makes a registered class picklable through the same formats, so a
fitted model crosses process boundaries (multiprocessing, joblib, Dask) as the bytes of its
saved file and comes back equal.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable, Dict, Mapping, Optional, Tuple, Type, TypeVar

import numpy as np

from .._validate import FLOAT32_MAX, check_path
from ..errors import InvalidArgumentError, ModelFileError
from .atomic import PathLike
from .directory import SavedDirectory, read_directory, write_directory
from .file import decode, encode, read_file, write_file

__all__ = ["register", "save", "load", "load_as", "PicklesByValue", "nested_state", "restore_nested"]

_REGISTRY: Dict[str, Type[Any]] = {}
T = TypeVar("T")


def register(name: str) -> Callable[[Type[T]], Type[T]]:
    """Class decorator: objects of this class save under ``name`` and :func:`load` rebuilds them."""

    def decorate(cls: Type[T]) -> Type[T]:
        if _REGISTRY.get(name, cls) is not cls:
            raise RuntimeError(f"two classes register as {name!r}")
        _REGISTRY[name] = cls
        cls._persist_name = name  # type: ignore[attr-defined]
        return cls

    return decorate


def _type_name(obj: Any) -> str:
    name = getattr(type(obj), "_persist_name", None)
    if name is None or _REGISTRY.get(name) is not type(obj):
        raise InvalidArgumentError(f"{type(obj).__name__} objects cannot be saved")
    return name


def _is_directory_kind(cls: Type[Any]) -> bool:
    return hasattr(cls, "_to_files")


def save(path: PathLike, obj: Any) -> None:
    """Save a registered object atomically: one file, or one directory for directory kinds."""
    name = _type_name(obj)
    if _is_directory_kind(type(obj)):
        meta, files = obj._to_files()
        write_directory(path, name, files, meta)
    else:
        params, arrays = obj._to_state()
        write_file(path, name, params, arrays)


def _class_of(type_name: str, where: str) -> Type[Any]:
    cls = _REGISTRY.get(type_name)
    if cls is None:
        raise ModelFileError(f"{where} holds an unknown model type {type_name!r}")
    return cls


def _rebuild(where: str, type_name: str, build: Callable[[], Any]) -> Any:
    try:
        return build()
    except ModelFileError:
        raise
    except (KeyError, TypeError, ValueError, IndexError, AttributeError, UnicodeDecodeError) as exc:
        # Arrays that do not fit together, or metadata of the wrong JSON type (AttributeError:
        # a list or a number where a reader calls a dict's methods).
        raise ModelFileError(f"{where}: inconsistent {type_name} data: {exc!r}") from None


def _check_stored_floats(where: str, arrays: Dict[str, np.ndarray]) -> None:
    """Every number shoprec stores is computed in, or cast to, float32 somewhere: a stored float
    beyond its range (or NaN, inf) can only come from a damaged file, and would turn into inf
    or NaN scores after the load rather than an error at it. Every one-file state (nested and
    pickled ones too) passes here before its class's ``_from_state``."""
    for name, array in arrays.items():
        if array.dtype.kind == "f" and array.size and not (np.abs(array) <= FLOAT32_MAX).all():
            raise ModelFileError(
                f"{where}: the stored array {name!r} holds NaN, infinite or out-of-float32-range values "
                "(the file is damaged; loading with verify=True checks its checksum)"
            )


def _from_state(where: str, type_name: str, params: Dict[str, Any], arrays: Dict[str, np.ndarray]) -> Any:
    cls = _class_of(type_name, where)
    if _is_directory_kind(cls):
        raise ModelFileError(f"{where}: a {type_name} is saved as a directory, not one file")
    _check_stored_floats(where, arrays)
    return _rebuild(where, type_name, lambda: cls._from_state(params, arrays))


def _from_directory(saved: SavedDirectory) -> Any:
    where = str(saved.root)
    cls = _class_of(saved.type, where)
    if hasattr(cls, "_from_directory"):
        return _rebuild(where, saved.type, lambda: cls._from_directory(saved))
    if not _is_directory_kind(cls):
        raise ModelFileError(f"{where}: a {saved.type} is saved as one file, not a directory")
    return _rebuild(where, saved.type, lambda: cls._from_files(saved.meta, saved.read_all()))


def load(path: PathLike, *, verify: bool = True) -> Any:
    """Load anything shoprec saved: a model, segments or interactions (one file), or a keyword
    model or other directory.

    Large arrays of one-file models are memory-mapped, read-only, not copied, so many worker
    processes share one file. The loaded object behaves exactly like the saved one.

    Parameters
    ----------
    path : str or os.PathLike
    verify : bool
        Check the SHA-256 checksums first (default). Skipping it saves reading the data once,
        for files known to be intact (sizes are still checked).

    Raises
    ------
    FileNotFoundError
        No such file or directory.
    ModelFileError
        Not written by shoprec, truncated, corrupted, or of an unknown type.
    ModelVersionError
        Written by a newer version of shoprec.
    """
    target = check_path(path)
    if os.path.isdir(target):
        legacy = _REGISTRY.get("KeywordModel")
        if not os.path.exists(os.path.join(target, "manifest.json")) and legacy is not None \
                and os.path.exists(os.path.join(target, "meta.json")):
            return legacy._from_legacy_directory(Path(target))
        return _from_directory(read_directory(target, verify=verify))
    type_name, params, arrays = read_file(target, verify=verify)
    return _from_state(repr(target), type_name, params, arrays)


def load_as(cls: Type[T], path: PathLike, **kwargs: Any) -> T:
    """:func:`load`, then check the object is a ``cls`` (:class:`ModelFileError` otherwise)."""
    obj = load(path, **kwargs)
    if not isinstance(obj, cls):
        raise ModelFileError(f"{os.fspath(path)!r} holds a {type(obj).__name__}, not a {cls.__name__}")
    return obj


def nested_state(obj: Any, prefix: str) -> Tuple[Dict[str, Any], Dict[str, np.ndarray]]:
    """The state of ``obj`` to store inside another object's file: ``(params, arrays)`` with
    the type recorded and array names under ``prefix``."""
    name = _type_name(obj)
    params, arrays = obj._to_state()
    return {"type": name, "params": params}, {prefix + key: value for key, value in arrays.items()}


def restore_nested(params: Mapping[str, Any], arrays: Mapping[str, np.ndarray], prefix: str,
                   expected: Optional[Type[T]] = None) -> T:
    """The object :func:`nested_state` stored (a ``expected`` instance, else :class:`ModelFileError`)."""
    nested = {key[len(prefix):]: value for key, value in arrays.items() if key.startswith(prefix)}
    if "type" not in params and expected is not None:  # written before nested states named their type
        return _rebuild("nested state", expected.__name__, lambda: expected._from_state(dict(params), nested))
    obj = _from_state("nested state", params["type"], params["params"], nested)
    if expected is not None and not isinstance(obj, expected):
        raise ModelFileError(f"nested state holds a {type(obj).__name__}, not a {expected.__name__}")
    return obj


def _unpickle(kind: str, payload: Any) -> Any:
    if kind == "file":
        type_name, params, arrays = decode(payload, "<pickle>")
        return _from_state("<pickle>", type_name, params, arrays)
    type_name, meta, files = payload
    cls = _class_of(type_name, "<pickle>")
    return _rebuild("<pickle>", type_name, lambda: cls._from_files(meta, files))


class PicklesByValue:
    """Mixin: pickle through the saved format (the file's bytes, or a directory's files), so
    what arrives is checked like a loaded file and equal to what was sent."""

    __slots__ = ()

    def _picklable_by_value(self) -> bool:
        """False while there is nothing saved to send (an unfitted model pickles as usual)."""
        return True

    def __reduce_ex__(self, protocol: Any) -> Any:
        if not self._picklable_by_value():
            return super().__reduce_ex__(protocol)
        name = _type_name(self)
        if _is_directory_kind(type(self)):
            meta, files = self._to_files()  # type: ignore[attr-defined]
            return _unpickle, ("directory", (name, meta, dict(files)))
        params, arrays = self._to_state()  # type: ignore[attr-defined]
        return _unpickle, ("file", encode(name, params, arrays))
