"""The one rule for keeping earlier records: only while the variant's files are unchanged; and reading a report's
list back as a cache (absent or damaged reads as empty)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from npuport.core.manifest import Variant

R = TypeVar("R")


def _field(record: Any, name: str) -> Any:
    return record.get(name) if isinstance(record, dict) else getattr(record, name, None)


def still_current(records: Iterable[R], variants: Iterable[Variant]) -> list[R]:
    """The records (dicts or models with `variant` and `sha256`) whose variant still exists with the same files."""
    digests = {v.id: v.digest for v in variants}
    return [r for r in records if _field(r, "variant") in digests and digests[_field(r, "variant")] == _field(r, "sha256")]


def read_json_list(path: Path, key: str) -> list[dict[str, Any]]:
    """The objects under `key` in a JSON report; [] when the file is absent or unreadable (a report is a cache of
    measurements, never trusted when damaged)."""
    try:
        found = json.loads(path.read_text(encoding="utf-8")).get(key, [])
    except (OSError, UnicodeDecodeError, ValueError, AttributeError):
        return []
    return [entry for entry in found if isinstance(entry, dict)] if isinstance(found, list) else []
