"""Atomic writes of files and directories, hashing, the per-output lock, and temporary folders that name their owner.

A crash never leaves a half-written file or directory under its final name; two runs never write one output at once;
what a killed run leaves behind is recognisable, and the next run reclaims it. Torch-free: every stage uses these.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import hashlib
import os
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from npuport.core.errors import NpuportError, OutputBusyError

# A write that fails for lack of room: one line naming the file, whatever the writer (see atomic_path).
_NO_ROOM = {errno.ENOSPC: "disk full", errno.EDQUOT: "disk quota exceeded", errno.EFBIG: "file size limit reached"}


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


@contextlib.contextmanager
def atomic_path(final: Path) -> Iterator[Path]:
    """Yield a temporary path beside `final`; rename it into place only if the block succeeds.

    The temporary file keeps `final`'s name inside a private directory, for writers that record the file name in
    the file. A full disk (or quota, or file size limit) becomes one NpuportError line naming `final` (as in
    `staged_directory`).
    """
    final.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".tmp", dir=final.parent))
    tmp = scratch / final.name
    try:
        yield tmp
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, final)
    except OSError as exc:
        _raise_if_no_room(exc, final)
        raise
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _raise_if_no_room(exc: OSError, final: Path) -> None:
    """A write that failed for lack of room names what was being written (`final`), not the file read from (a
    copy's OSError names its source, on the disk that has room)."""
    if exc.errno in _NO_ROOM:
        raise NpuportError(f"{_NO_ROOM[exc.errno]} while writing {final}; nothing was left behind") from exc


def write_bytes_atomic(path: Path, data: bytes | memoryview) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def write_text_atomic(path: Path, text: str) -> None:
    write_bytes_atomic(path, text.encode("utf-8"))


def fsync_file(path: Path) -> None:
    """Flush `path`'s data to disk (files written by libraries that do not, before a rename publishes them)."""
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


def fsync_directory(path: Path) -> None:
    """Make the renames into `path` durable: after a power cut the directory holds what it held when this returned."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def remove_stale_temporaries(root: Path) -> None:
    """Delete leftovers of an interrupted run (directories named .<name>.<random>.tmp)."""
    for leftover in list(root.rglob(".*.tmp")):
        shutil.rmtree(leftover, ignore_errors=True)


def fresh_directory(path: Path) -> Path:
    """`path` as a new empty directory (whatever an interrupted run left there is removed first)."""
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


def _sibling(final: Path, role: str) -> Path:
    return final.parent / f".{final.name}.{role}"


@contextlib.contextmanager
def staged_directory(final: Path) -> Iterator[Path]:
    """Yield an empty `.<name>.staging` directory beside `final` to build it in; if the block succeeds, it replaces
    `final` (`replace_directory`), else it is removed. Readers see the old directory or the new one, never a mix.

    Not a lock: runs building one `final` share the staging name, so each must hold `output_lock` (package locks
    `.<name>.lock` beside `final`)."""
    _recover_directory(final)
    staging = fresh_directory(_sibling(final, "staging"))
    try:
        yield staging
        replace_directory(staging, final)
    except BaseException as exc:
        shutil.rmtree(staging, ignore_errors=True)
        if isinstance(exc, OSError):
            _raise_if_no_room(exc, final)
        raise


def replace_directory(new: Path, final: Path) -> None:
    """Put directory `new` at `final`. On Linux one renameat2(RENAME_EXCHANGE) swaps the two atomically, so `final`
    never stops existing; elsewhere `final` goes to `.<name>.old` first, and a crash between the two renames is
    undone by the next `staged_directory(final)` (`_recover_directory`)."""
    if not final.exists():
        os.rename(new, final)
        return
    if _exchange(new, final):
        shutil.rmtree(new)  # now the old directory
        return
    old = _sibling(final, "old")
    shutil.rmtree(old, ignore_errors=True)
    os.rename(final, old)
    os.rename(new, final)
    shutil.rmtree(old)


def _recover_directory(final: Path) -> None:
    """After a crash between replace_directory's two renames, `final` is missing and `.<name>.old` holds it."""
    old = _sibling(final, "old")
    if old.is_dir() and not final.exists():
        os.rename(old, final)
    shutil.rmtree(old, ignore_errors=True)


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two paths (Linux renameat2 RENAME_EXCHANGE); False where the OS or file system cannot."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):  # glibc < 2.28, musl
        return False
    at_fdcwd, rename_exchange = -100, 2
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        return False
    raise OSError(code, os.strerror(code), str(b))


# --- one run per output -------------------------------------------------------------------------------------------


ARTIFACTS_LOCK = ".npuport.lock"  # inside an artifacts directory, which is written in place and never replaced


def artifacts_lock(root: Path) -> contextlib.AbstractContextManager[int]:
    """The lock of an artifacts directory (convert holds it; any command that writes the directory should)."""
    return output_lock(root / ARTIFACTS_LOCK, f"artifacts directory {root}")


def directory_lock(final: Path, what: str) -> contextlib.AbstractContextManager[int]:
    """The lock of a directory built beside itself and swapped in (`staged_directory`): `.<name>.lock` beside it."""
    return output_lock(_sibling(final, "lock"), what)


@contextlib.contextmanager
def output_lock(lock_file: Path, what: str) -> Iterator[int]:
    """Hold an exclusive flock on `lock_file` for the block, or refuse at once (OutputBusyError naming the holder's pid).

    Refuse rather than wait: a second run into the same output is almost always a mistake (a double-started job),
    and waiting minutes to then overwrite the first run's result hides it; a script that means to queue can retry.
    The lock lives in the kernel, so a killed holder releases it; yields the descriptor so child processes can
    inherit it (pass_fds) and keep the output locked until they too are gone. The file holds the holder's pid and is
    removed on release; a run that locked a file already unlinked by a releasing run retries on the new one."""
    import fcntl  # POSIX only: imported here so that reading artifacts works where it is missing

    lock_file.parent.mkdir(parents=True, exist_ok=True)
    while True:
        fd = os.open(lock_file, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder(fd)
            os.close(fd)
            raise OutputBusyError(f"{what} is being written by another npuport run ({holder}); "
                                  "wait for it to finish or stop it, then run again") from None
        try:
            current = os.stat(lock_file)
            mine = os.fstat(fd)
            if (current.st_dev, current.st_ino) == (mine.st_dev, mine.st_ino):
                break
        except FileNotFoundError:
            pass
        os.close(fd)
    try:
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        yield fd
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(lock_file)
        os.close(fd)


def _holder(fd: int) -> str:
    """'pid N' from a held lock file (its holder writes it right after locking: allow it a moment)."""
    for _ in range(20):
        text = os.pread(fd, 64, 0).decode(errors="replace").strip()
        if text.isdigit():
            return f"pid {text}"
        time.sleep(0.01)
    return "pid unknown"


# --- temporary folders of killed runs -----------------------------------------------------------------------------


@contextlib.contextmanager
def owned_temporary_directory(prefix: str) -> Iterator[Path]:
    """A temporary directory named `<prefix><pid>-<random>`, removed after the block: if this process is killed
    first, `remove_orphaned_temporaries(prefix)` in a later run sees the pid is dead and removes it."""
    with tempfile.TemporaryDirectory(prefix=f"{prefix}{os.getpid()}-") as path:
        yield Path(path)


def remove_orphaned_temporaries(prefix: str) -> int:
    """Remove this user's `<prefix><pid>-*` folders in the temp directory whose pid is no longer running."""
    pattern = re.compile(re.escape(prefix) + r"(\d+)-")
    removed = 0
    for path in Path(tempfile.gettempdir()).glob(f"{prefix}*"):
        match = pattern.match(path.name)
        try:
            ours = path.is_dir() and not path.is_symlink() and path.stat().st_uid == os.getuid()
        except OSError:
            continue
        if match and ours and not pid_alive(int(match.group(1))):
            shutil.rmtree(path, ignore_errors=True)
            removed += 1
    return removed


def pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        return True
    return True
