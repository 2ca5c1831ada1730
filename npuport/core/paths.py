"""Paths inside an artifacts directory or a package, as manifests and SHA256SUMS write them: relative, POSIX, canonical.

One rule for every path read from a file npuport did not necessarily write itself, so none can name a file outside
its directory (`../x`, `/etc/x`, `C:x`, `..\\x`) or two spellings of one file (`a//b`, `./a`); and one way to open
such a path, through no symbolic link."""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path, PurePosixPath

from npuport.core.errors import IntegrityError

_DRIVE = re.compile(r"^[A-Za-z]:")


def relative_path_problem(path: str) -> str | None:
    """Why `path` is not a canonical relative POSIX path inside its directory; None when it is."""
    if not path:
        return "empty path"
    if any(ord(c) < 32 or ord(c) == 127 for c in path):
        return "control character in the path"
    if not path.isascii() and any(0xD800 <= ord(c) <= 0xDFFF for c in path):
        return "a lone surrogate in the path (not valid Unicode)"
    if "\\" in path:
        return "backslash in the path (paths use /)"
    if path.startswith("/") or _DRIVE.match(path):
        return "absolute path"
    parts = path.split("/")
    if ".." in parts:
        return "'..' points outside the directory"
    if any(part in ("", ".") for part in parts):
        return "empty or '.' segment"
    return None


def shown(value: str, limit: int = 120) -> str:
    """`value` fit for a one-line message: as is when printable, else with its escapes shown; cut to `limit`."""
    value = value if len(value) <= limit else value[:limit] + "…"
    return value if value.isprintable() else repr(value)[1:-1]


def opened_path(root: Path, rel: str) -> Path:
    """`root/rel` after checking that no folder on the way below `root` and not the file itself is a link, and that
    it is a regular file: what every recorded file is read through, in artifacts directories too."""
    path = root
    for part in PurePosixPath(rel).parts:
        path = path / part
        try:
            mode = os.lstat(path).st_mode
        except (FileNotFoundError, NotADirectoryError):
            raise IntegrityError(f"{shown(rel)} is missing from {root}") from None
        if stat.S_ISLNK(mode):
            raise IntegrityError(f"{shown(rel)} in {root} goes through a symbolic link ({shown(path.name)}): "
                                 "npuport reads only the directory's own files")
    if not stat.S_ISREG(mode):
        raise IntegrityError(f"{shown(rel)} in {root} is not a regular file")
    return path
