"""What a package may hold and how its files are opened: the one home of those rules. `load` (so predict, serve and
score), `verify` and unpacking all go through here.

A package is only its own regular files: no symbolic link (to a file or a folder, inside or outside it), no FIFO,
socket or device. SHA256SUMS lists each file once and nothing else is present; the manifest records every file
SHA256SUMS lists (its variants', tokenizer's and golden data's, and `package.files` for the rest: README, reports,
Triton and ATC files), each with the digest SHA256SUMS gives it, so one changed byte in SHA256SUMS disagrees with the
manifest without any file being hashed. A manifest lists at least one variant and its `package` section. The one
exception is the Triton text model's copy of the package (`triton/NAME/1/NAME/`): its `manifest.json` is the package's
own and its SHA256SUMS must agree, line for line, with the outer one.
"""

from __future__ import annotations

import hashlib
import os
import tarfile
from collections.abc import Mapping
from pathlib import Path, PurePosixPath

from npuport.core.errors import IntegrityError
from npuport.core.manifest import MANIFEST_NAME, FileRecord, Manifest
from npuport.core.paths import shown
from npuport.core.sums import SUMS_FILE, parse_sums, read_sums


def regular_files(root: Path) -> set[str]:
    """Every file under `root` (relative POSIX paths), refusing links and special files anywhere below it."""
    found: set[str] = set()
    pending = [root]
    while pending:
        folder = pending.pop()
        with os.scandir(folder) as entries:
            for entry in entries:
                rel = Path(entry.path).relative_to(root).as_posix()
                if entry.is_symlink():
                    raise IntegrityError(f"{shown(rel)} in {root} is a symbolic link: a package holds only its own files")
                if entry.is_dir(follow_symlinks=False):
                    pending.append(Path(entry.path))
                elif entry.is_file(follow_symlinks=False):
                    found.add(rel)
                else:
                    raise IntegrityError(f"{shown(rel)} in {root} is not a regular file (a FIFO, socket or device)")
    return found


_MAX_MANIFEST, _MAX_SUMS = 64 << 20, 16 << 20  # read into memory from an archive before anything is written


def packed_sizes(tar: tarfile.TarFile, files: Mapping[str, tarfile.TarInfo], source: Path) -> dict[str, int]:
    """Before a packed package (`files`: its file members by path below the top folder) is written anywhere: the
    files it may hold and the most bytes each may have, from its SHA256SUMS and its manifest (checked against
    SHA256SUMS first). A member not named here, or larger, is refused before a byte of it is written."""
    data: dict[str, bytes] = {}
    for name, limit in ((SUMS_FILE, _MAX_SUMS), (MANIFEST_NAME, _MAX_MANIFEST)):
        member = files.get(name)
        if member is None:
            raise IntegrityError(f"{source} holds no {name}: not an npuport package")
        if member.size > limit:
            raise IntegrityError(f"{source}: its {name} is {member.size} bytes, more than a package's can be")
        handle = tar.extractfile(member)
        data[name] = handle.read() if handle is not None else b""
    listed = parse_sums(data[SUMS_FILE], source / SUMS_FILE)
    if listed.get(MANIFEST_NAME) != hashlib.sha256(data[MANIFEST_NAME]).hexdigest():
        raise IntegrityError(f"{MANIFEST_NAME} in {source} does not match {SUMS_FILE}: the package was modified")
    records = recorded_files(Manifest.parse(data[MANIFEST_NAME], source / MANIFEST_NAME))
    sizes = {SUMS_FILE: len(data[SUMS_FILE])}
    for rel in listed:
        own = {MANIFEST_NAME: len(data[MANIFEST_NAME]), SUMS_FILE: len(data[SUMS_FILE])}.get(PurePosixPath(rel).name)
        size = records[rel].bytes if rel in records else own  # a copy's manifest and SHA256SUMS (see _nested)
        if size is not None:
            sizes[rel] = size
    return sizes


def check_package(root: Path, manifest: Manifest, listed: Mapping[str, str]) -> None:
    """The package rules above, without hashing a data file (`load` runs this; `verify` then hashes every file)."""
    if manifest.package is None:
        raise IntegrityError(f"{root} has a {SUMS_FILE} but its manifest has no package section: not a package npuport built")
    if not manifest.variants:
        raise IntegrityError(f"the manifest of {root} lists no variants: there is nothing to verify or run")
    present = regular_files(root)
    unlisted = sorted(present - set(listed) - {SUMS_FILE})
    if unlisted:
        more = f" (and {len(unlisted) - 1} more)" if len(unlisted) > 1 else ""
        raise IntegrityError(f"{shown(unlisted[0])}{more} is in {root} but not listed in {SUMS_FILE}: the package was modified")
    records = recorded_files(manifest)
    for record in manifest.all_files():
        _agrees(record, listed)
    for rel, digest in listed.items():
        if rel == MANIFEST_NAME or _nested(root, rel, listed):
            continue
        if rel not in records:
            raise IntegrityError(f"{shown(rel)} is listed in {SUMS_FILE} but not recorded in the manifest: the package "
                                 "was modified")
        _agrees(records[rel], listed)


def recorded_files(manifest: Manifest) -> dict[str, FileRecord]:
    """Every file the manifest records, by path: a package's own ones (`package.files`) beside `all_files()`."""
    extra = manifest.package.files if manifest.package is not None else []
    return {record.path: record for record in [*extra, *manifest.all_files()]}


def _agrees(record: FileRecord, listed: Mapping[str, str]) -> None:
    if record.path not in listed:
        raise IntegrityError(f"{record.path} is not listed in {SUMS_FILE}: the package was modified")
    if listed[record.path] != record.sha256:
        raise IntegrityError(f"{SUMS_FILE} and the manifest disagree on {record.path}: the package was modified")


def _nested(root: Path, rel: str, listed: Mapping[str, str]) -> bool:
    """Whether `rel` is the manifest or SHA256SUMS of a copy of this package inside it (the Triton text model's),
    after checking that copy: its manifest is this one, and its SHA256SUMS lists exactly the outer listing's files
    below it, with the same digests."""
    path = PurePosixPath(rel)
    if path.name not in (MANIFEST_NAME, SUMS_FILE) or len(path.parts) == 1:
        return False
    folder = path.parent.as_posix()
    if f"{folder}/{SUMS_FILE}" not in listed or f"{folder}/{MANIFEST_NAME}" not in listed:
        return False
    if listed[f"{folder}/{MANIFEST_NAME}"] != listed[MANIFEST_NAME]:
        raise IntegrityError(f"{folder}/{MANIFEST_NAME} is not the package's manifest: the package was modified")
    if path.name == SUMS_FILE:
        inner = read_sums(root / folder)  # regular_files: no link on the way
        outer = {name[len(folder) + 1:]: digest for name, digest in listed.items()
                 if name.startswith(f"{folder}/") and name != rel}
        if inner != outer:
            raise IntegrityError(f"{rel} disagrees with the package's {SUMS_FILE}: the package was modified")
    return True
