"""Atomic writes of files and directories, and hashing: a crash never leaves a half-written file or directory under
its final name."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from npuport.core.errors import NpuportError


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


@contextlib.contextmanager
def atomic_path(final: Path) -> Iterator[Path]:
    """Yield a temporary path beside `final`; rename it into place only if the block succeeds.

    The temporary file keeps `final`'s name inside a private directory: some writers (torch.jit.save)
    record the file name inside the file, and identical content must give identical bytes.
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
        if exc.errno == errno.ENOSPC:
            raise NpuportError(f"disk full while writing {final}; nothing was left behind") from exc
        raise
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def write_bytes_atomic(path: Path, data: bytes) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def write_text_atomic(path: Path, text: str) -> None:
    write_bytes_atomic(path, text.encode("utf-8"))


def remove_stale_temporaries(root: Path) -> None:
    """Delete leftovers of an interrupted run (directories named .<name>.<random>.tmp)."""
    for leftover in list(root.rglob(".*.tmp")):
        shutil.rmtree(leftover, ignore_errors=True)


def fresh_directory(path: Path) -> Path:
    """`path` as a new empty directory (whatever an interrupted run left there is removed first)."""
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


@contextlib.contextmanager
def staged_directory(final: Path) -> Iterator[Path]:
    """Yield an empty `.<name>.staging` directory beside `final` to build it in; if the block succeeds, it replaces
    `final` by rename, else it is removed. Readers see the old directory or the new one, never a mix."""
    staging = fresh_directory(final.parent / f".{final.name}.staging")
    try:
        yield staging
        if final.exists():
            shutil.rmtree(final)
        staging.rename(final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
