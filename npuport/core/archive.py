"""`.tar.gz` packages (read by the runtime and by verify, written by package): written atomically with stable ordering;
unpacked only when every member is a plain file or directory inside the destination (no absolute paths, no `..`, no
symbolic links, no devices, no name twice, no file its SHA256SUMS and manifest do not list or larger than they record:
checked before anything is written), or a hard link to a file stored earlier in the same archive: the Triton
repository's model folders name the package's own files that way, so the tarball stores them once (tarfile writes a
second name of a file as a link by itself)."""

from __future__ import annotations

import tarfile
import zlib
from pathlib import Path, PurePosixPath

from npuport.core.contents import packed_sizes
from npuport.core.errors import IntegrityError, ManifestError
from npuport.core.files import atomic_path, remove_orphaned_temporaries
from npuport.core.paths import shown

_UNPACKED = "npuport-package-"


def write_archive(directory: Path, archive: Path) -> Path:
    """`directory` as `archive` (.tar.gz) with one top-level folder named after it."""
    with atomic_path(archive) as temporary:
        with tarfile.open(temporary, "w:gz", compresslevel=1) as tar:  # weights barely compress; speed wins
            for path in sorted(directory.rglob("*")):
                arcname = PurePosixPath(directory.name, path.relative_to(directory).as_posix())
                tar.add(path, arcname=str(arcname), recursive=False, filter=_normalise)
    return archive


def _normalise(info: tarfile.TarInfo) -> tarfile.TarInfo:
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info


def check_members(tar: tarfile.TarFile, source: Path) -> list[tarfile.TarInfo]:
    """Every member, after refusing any that could write outside the destination or is not a plain file, a directory
    or a hard link to a file before it."""
    members = tar.getmembers()
    files: set[str] = set()
    names: set[str] = set()
    for member in members:
        name = member.name
        parts = PurePosixPath(name).parts
        if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
            raise IntegrityError(f"{source}: refusing to unpack {name!r}: absolute path")
        if ".." in parts or "\\" in name:
            raise IntegrityError(f"{source}: refusing to unpack {name!r}: it points outside the package")
        if member.issym() or (member.islnk() and member.linkname not in files):
            raise IntegrityError(f"{source}: refusing to unpack {name!r}: links are not allowed in a package "
                                 "(only a hard link to a file stored before it)")
        if not (member.isfile() or member.isdir() or member.islnk()):
            raise IntegrityError(f"{source}: refusing to unpack {name!r}: not a regular file or directory")
        if name.rstrip("/") in names:  # a second member of one name would write through a link made for the first
            raise IntegrityError(f"{source}: refusing to unpack {name!r}: it is stored twice")
        names.add(name.rstrip("/"))
        if member.isfile() or member.islnk():
            files.add(name)
    return members


def safe_extract(archive: Path, destination: Path) -> Path:
    """Unpack `archive` into `destination`; returns the package directory (the archive's single top folder).
    Anything unreadable (empty, not gzip, truncated, corrupt) is one line naming the archive."""
    try:
        if archive.stat().st_size == 0:
            raise IntegrityError(f"{archive} is empty: not a .tar.gz package")
        with tarfile.open(archive, "r:gz") as tar:
            members = check_members(tar, archive)
            tops = {PurePosixPath(m.name).parts[0] for m in members if m.name not in ("", ".")}
            if len(tops) != 1:
                raise IntegrityError(f"{archive}: expected one top-level package folder, found {len(tops)}")
            top = tops.pop()
            files = {m.name[len(top) + 1:]: m for m in members if m.isfile() or m.islnk()}
            sizes = packed_sizes(tar, files, archive)
            for rel, member in files.items():
                if rel not in sizes:
                    raise IntegrityError(f"{archive}: refusing to unpack {shown(member.name)}: the package does not list it")
                if member.size > sizes[rel]:
                    raise IntegrityError(f"{archive}: refusing to unpack {shown(member.name)}: {member.size} bytes, "
                                         f"the package records {sizes[rel]}")
            tar.extractall(destination, members=members, filter="data")
    except (tarfile.TarError, EOFError, OSError, zlib.error) as exc:
        if isinstance(exc, FileNotFoundError):
            raise IntegrityError(f"{archive} does not exist") from None
        reason = " ".join(str(exc).split())[:200] or type(exc).__name__
        raise IntegrityError(f"{archive} is not a readable .tar.gz package: {reason}") from None
    return destination / top


def unpacked(path: Path) -> Path:
    """A package `.tar.gz` is unpacked (safely) into a temporary directory removed when the process exits, and by the
    next run if this one is killed first (the folder names its pid); directories — artifacts or unpacked packages — are used in place."""
    path = Path(path)
    if not path.exists():
        raise ManifestError(f"{path} does not exist")
    if not path.is_file():
        return path
    import atexit
    import os
    import shutil
    import tempfile

    remove_orphaned_temporaries(_UNPACKED)  # copies of runs killed before their atexit ran
    scratch = Path(tempfile.mkdtemp(prefix=f"{_UNPACKED}{os.getpid()}-"))
    atexit.register(shutil.rmtree, scratch, ignore_errors=True)
    return safe_extract(path, scratch)
