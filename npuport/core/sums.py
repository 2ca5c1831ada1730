"""SHA256SUMS: a package's list of its files and their sha256 (`sha256sum -c` format), the one thing that vouches for
the manifest itself.

Written by `package` (`write_sums`), read by `verify` (every file) and by `load` (the files it reads). Files the
manifest also records are hashed once and compared with both digests (`FileRecord.verify(root, listed)`), so checking
a package costs one pass over it.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from pathlib import Path

from npuport.core.errors import IntegrityError
from npuport.core.files import sha256_file
from npuport.core.paths import relative_path_problem, shown

SUMS_FILE = "SHA256SUMS"
_DIGEST = re.compile(r"[0-9a-fA-F]{64}")


def write_sums(root: Path) -> tuple[int, int]:
    """SHA256SUMS in `sha256sum -c` format over every file under `root`; returns (files, bytes stored) counting
    SHA256SUMS itself among the files. Names of one file (hard links: the Triton repository's) are hashed, and
    their bytes counted, once."""
    files = sorted(p for p in root.rglob("*") if p.is_file() and p != root / SUMS_FILE)
    digests: dict[tuple[int, int], str] = {}
    sizes: dict[tuple[int, int], int] = {}
    lines = []
    for path in files:
        stat = path.stat()
        inode = (stat.st_dev, stat.st_ino)
        if inode not in digests:
            digests[inode], sizes[inode] = sha256_file(path), stat.st_size
        lines.append(f"{digests[inode]}  {path.relative_to(root).as_posix()}")
    (root / SUMS_FILE).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return len(files) + 1, sum(sizes.values())


def read_sums(root: Path) -> dict[str, str]:
    """SHA256SUMS of `root` as {relative path: sha256}; refuses a missing or malformed file."""
    sums = root / SUMS_FILE
    if not sums.is_file():
        raise IntegrityError(f"{root} has no {SUMS_FILE}: not an npuport package")
    try:
        text = sums.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        raise IntegrityError(f"{sums} is not UTF-8 text: the package was modified or truncated") from None
    listed: dict[str, str] = {}
    for number, line in enumerate(text.split("\n"), 1):
        if not line:
            continue
        digest, sep, rel = line.partition("  ")
        if not sep or not _DIGEST.fullmatch(digest) or relative_path_problem(rel) or rel in listed or rel == SUMS_FILE:
            raise IntegrityError(f"{sums}:{number} is malformed")
        listed[rel] = digest.lower()
    return listed


def find_sums(root: Path) -> dict[str, str] | None:
    """`read_sums`, or None where there is no SHA256SUMS (an artifacts directory, not a package)."""
    return read_sums(root) if (root / SUMS_FILE).is_file() else None


def check_listed(root: Path, listed: Mapping[str, str], rel: str) -> Path:
    """The file `rel`, after checking it is listed, present and matches its line."""
    path = root / rel
    if rel not in listed:
        raise IntegrityError(f"{rel} is not listed in {SUMS_FILE}: the package was modified")
    if not path.is_file():
        raise IntegrityError(f"{rel} is listed in {SUMS_FILE} but missing from {root}")
    if sha256_file(path) != listed[rel]:
        raise IntegrityError(f"{rel} does not match {SUMS_FILE}: the package was modified or truncated")
    return path


def check_sums(root: Path, listed: Mapping[str, str], skip: Collection[str] = ()) -> int:
    """No file is in `root` that SHA256SUMS does not list, and every listed file but `skip` (those the caller hashes
    itself, e.g. the manifest's records through `Manifest.verify_files(root, listed=…)`) is there and matches."""
    present = {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file() or p.is_symlink()}
    extra = sorted(present - set(listed) - {SUMS_FILE})
    if extra:
        raise IntegrityError(f"{root} holds files {SUMS_FILE} does not list: {', '.join(shown(e) for e in extra[:5])}")
    for rel in sorted(set(listed) - set(skip)):
        check_listed(root, listed, rel)
    return len(listed)
