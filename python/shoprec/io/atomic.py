"""Atomic writes: stage next to the target, fsync, rename into place, fsync the parent.

Every file and directory shoprec writes goes through here, so a reader (another worker, a
process that restarts after a crash) sees the old version or the new one, never a mix, and
what was saved is readable like any file the process writes (mode ``0o666`` / ``0o777`` less
the umask), so a web server running as another user can load what a batch job saved.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import shutil
import stat
import tempfile
from pathlib import Path
from typing import Callable, Iterator, Union

from ..errors import InvalidArgumentError

PathLike = Union[str, "os.PathLike[str]"]

__all__ = ["write_file_atomically", "replace_directory", "staging_directory", "scratch_directory", "fsync_directory",
           "PathLike"]

_STAGING_PREFIX = ".shoprec-staging-"


def _staging_prefix() -> str:
    # The writer's pid in the name tells a leftover of a killed save from one in progress.
    return f"{_STAGING_PREFIX}{os.getpid()}-"


def _umask() -> int:
    """The process umask, read without changing it where the kernel tells it (Linux >= 4.7);
    elsewhere set and restored at once."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def fsync_directory(path: PathLike) -> None:
    """Make a rename inside ``path`` durable (a no-op where the platform refuses)."""
    try:
        fd = os.open(os.fspath(path), os.O_RDONLY)
    except OSError:  # pragma: no cover - Windows cannot open directories
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover - some filesystems refuse fsync on directories
        pass
    finally:
        os.close(fd)


def check_file_target(path: PathLike) -> str:
    """The target path of a one-file save: absent or a regular file (never a symlink, a
    directory or a device), else :class:`InvalidArgumentError`."""
    target = os.fspath(path)
    try:
        info = os.lstat(target)
    except FileNotFoundError:
        return target
    if not stat.S_ISREG(info.st_mode):
        kind = "a symbolic link" if stat.S_ISLNK(info.st_mode) else "a directory" if stat.S_ISDIR(info.st_mode) else "not a regular file"
        raise InvalidArgumentError(f"will not save over {target!r}: it is {kind}")
    return target


def write_file_atomically(path: PathLike, write: Callable[[Callable[[bytes], None]], None]) -> None:
    """Write one file: ``write(put)`` calls ``put(chunk)`` for each piece of the content."""
    target = check_file_target(path)
    parent = os.path.dirname(os.path.abspath(target))
    fd, temp = tempfile.mkstemp(prefix=_staging_prefix(), suffix=".tmp", dir=parent)
    try:
        with os.fdopen(fd, "wb") as out:
            write(out.write)
            out.flush()
            if hasattr(os, "fchmod"):
                os.fchmod(out.fileno(), 0o666 & ~_umask())
            os.fsync(out.fileno())
        check_file_target(target)  # nothing else took the name meanwhile
        os.replace(temp, target)
    except BaseException:
        try:
            os.unlink(temp)
        except OSError:
            pass
        raise
    fsync_directory(parent)
    remove_stale_staging(parent)


def staging_directory(target: PathLike) -> Path:
    """A new empty directory next to ``target`` to write a directory's files into."""
    parent = Path(os.path.abspath(os.fspath(target))).parent
    parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=_staging_prefix(), dir=parent))
    os.chmod(staging, 0o777 & ~_umask())
    return staging


@contextlib.contextmanager
def scratch_directory() -> Iterator[Path]:
    """A private temporary directory (in :func:`tempfile.gettempdir`) for the intermediate
    files of a save, removed afterwards. Its name carries this process's pid like a staging
    directory, so what a save killed midway left there is removed by the next one."""
    parent = tempfile.gettempdir()
    remove_stale_staging(parent)
    scratch = Path(tempfile.mkdtemp(prefix=_staging_prefix(), dir=parent))
    try:
        yield scratch
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def write_into(directory: Path, name: str, data: bytes) -> None:
    """One file of a staged directory, flushed to disk, with the ordinary permissions."""
    with open(directory / name, "wb") as out:
        out.write(data)
        out.flush()
        if hasattr(os, "fchmod"):
            os.fchmod(out.fileno(), 0o666 & ~_umask())
        os.fsync(out.fileno())


def _exchange(a: str, b: str) -> bool:
    """Atomically swap two paths (Linux ``renameat2(RENAME_EXCHANGE)``); False where unsupported."""
    if not hasattr(os, "uname") or os.uname().sysname != "Linux":
        return False
    libc_name = ctypes.util.find_library("c")
    if not libc_name:
        return False
    libc = ctypes.CDLL(libc_name, use_errno=True)
    renameat2 = getattr(libc, "renameat2", None)
    if renameat2 is None:
        return False
    at_fdcwd, rename_exchange = -100, 2
    result = renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange)
    return result == 0


def replace_directory(staging: Path, target: PathLike, is_ours: Callable[[Path], bool]) -> None:
    """Move a fully written ``staging`` directory to ``target``.

    ``target`` must be absent, an empty directory, or a directory ``is_ours`` recognises
    (one shoprec wrote); anything else raises :class:`InvalidArgumentError` and is left alone.
    An existing directory is swapped with the new one in one atomic step where the platform
    can (Linux), else renamed aside first (then the name is briefly absent, never half-written).
    """
    target_path = Path(os.path.abspath(os.fspath(target)))
    fsync_directory(staging)
    try:
        info = os.lstat(target_path)
    except FileNotFoundError:
        info = None
    if info is None:
        os.rename(staging, target_path)
    else:
        if not stat.S_ISDIR(info.st_mode):
            raise InvalidArgumentError(f"will not save over {os.fspath(target)!r}: it is not a directory")
        if any(target_path.iterdir()) and not is_ours(target_path):
            raise InvalidArgumentError(
                f"will not save over {os.fspath(target)!r}: a non-empty directory that shoprec did not write"
            )
        if _exchange(os.fspath(staging), os.fspath(target_path)):
            shutil.rmtree(staging, ignore_errors=True)  # staging now holds the old version
        else:
            old = Path(tempfile.mkdtemp(prefix=_staging_prefix(), dir=target_path.parent))
            os.rmdir(old)
            os.rename(target_path, old)
            os.rename(staging, target_path)
            shutil.rmtree(old, ignore_errors=True)
    fsync_directory(target_path.parent)
    remove_stale_staging(target_path.parent)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # exists but belongs to someone else (or cannot be asked): leave it
    return True


def remove_stale_staging(parent: PathLike) -> None:
    """Remove what saves killed midway left next to their targets (never read by a load):
    staging entries whose writing process no longer exists."""
    for entry in Path(parent).glob(_STAGING_PREFIX + "*"):
        pid_text = entry.name[len(_STAGING_PREFIX):].split("-", 1)[0]
        if not pid_text.isdigit() or _alive(int(pid_text)):
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            try:
                entry.unlink()
            except OSError:
                pass
