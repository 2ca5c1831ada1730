"""Paths inside an artifacts directory or a package, as manifests and SHA256SUMS write them: relative, POSIX, canonical.

One rule for every path read from a file npuport did not necessarily write itself, so none can name a file outside
its directory (`../x`, `/etc/x`, `C:x`, `..\\x`) or two spellings of one file (`a//b`, `./a`)."""

from __future__ import annotations

import re

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
