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
from npuport.core.paths import opened_path, relative_path_problem

SUMS_FILE = "SHA256SUMS"
_DIGEST = re.compile(r"[0-9a-fA-F]{64}")


def hash_tree(root: Path, known: Mapping[str, str] | None = None) -> dict[str, tuple[str, int]]:
    """{relative path: (sha256, bytes)} of every file under `root` but its SHA256SUMS (`known`: digests already
    taken, by path). Names of one file (hard links: the Triton repository's) are hashed once."""
    known = known or {}
    by_inode: dict[tuple[int, int], str] = {}
    found: dict[str, tuple[str, int]] = {}
    for path in sorted(p for p in root.rglob("*") if p.is_file() and p != root / SUMS_FILE):
        rel, info = path.relative_to(root).as_posix(), path.stat()
        inode = (info.st_dev, info.st_ino)
        if inode not in by_inode:
            by_inode[inode] = known.get(rel) or sha256_file(path)
        found[rel] = by_inode[inode], info.st_size
    return found


def write_sums(root: Path, known: Mapping[str, str] | None = None) -> tuple[int, int]:
    """SHA256SUMS in `sha256sum -c` format over every file under `root` (`hash_tree`); returns (files, bytes stored)
    counting SHA256SUMS itself among the files and a file of several names once."""
    found = hash_tree(root, known)
    (root / SUMS_FILE).write_text("".join(f"{digest}  {rel}\n" for rel, (digest, _) in found.items()), encoding="utf-8")
    stored: dict[tuple[int, int], int] = {}
    for rel, (_, size) in found.items():
        info = (root / rel).stat()
        stored[(info.st_dev, info.st_ino)] = size
    return len(found) + 1, sum(stored.values())


def read_sums(root: Path) -> dict[str, str]:
    """SHA256SUMS of `root` as {relative path: sha256}; refuses a missing or malformed file."""
    sums = root / SUMS_FILE
    if not sums.is_file():
        raise IntegrityError(f"{root} has no {SUMS_FILE}: not an npuport package")
    return parse_sums(opened_path(root, SUMS_FILE).read_bytes(), sums)


def parse_sums(data: bytes, sums: Path) -> dict[str, str]:
    """SHA256SUMS's text `data` (read from `sums`, which messages name) as {relative path: sha256}; each path once."""
    try:
        text = data.decode("utf-8")
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
    if rel not in listed:
        raise IntegrityError(f"{rel} is not listed in {SUMS_FILE}: the package was modified")
    path = opened_path(root, rel)
    if sha256_file(path) != listed[rel]:
        raise IntegrityError(f"{rel} does not match {SUMS_FILE}: the package was modified or truncated")
    return path


def check_sums(root: Path, listed: Mapping[str, str], skip: Collection[str] = ()) -> int:
    """Every listed file but `skip` (those the caller hashes itself, e.g. the manifest's records through
    `Manifest.verify_files(root, listed=…)`) is there and matches; returns how many are listed. That nothing else is
    there is `core.contents.check_package`'s rule."""
    for rel in sorted(set(listed) - set(skip)):
        check_listed(root, listed, rel)
    return len(listed)
