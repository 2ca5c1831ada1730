"""The consoles and the small helpers every renderer shares (stdout tables and lines, stderr, JSON)."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from npuport.core.manifest import Manifest, Variant

out = Console()
if not out.is_terminal and "COLUMNS" not in os.environ:
    out.width = 120  # logs and pipes: rich would otherwise squeeze tables into 80 columns
err = Console(stderr=True)


def emit_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")


def line(text: str, soft_wrap: bool = False) -> None:
    """A plain line on stdout: no markup, no highlighting."""
    out.print(text, markup=False, highlight=False, soft_wrap=soft_wrap)


def announce(text: str) -> None:
    """A plain line on stderr (what a server says while stdout may be a pipe)."""
    err.print(text, markup=False, highlight=False, soft_wrap=True)


def size_mb(size: int) -> str:
    from npuport.core.sizes import megabytes

    return megabytes(size)


def variant_size(manifest: Manifest, variant: Variant) -> str:
    """Bytes of the variant's own files; "shared" when it only reuses another variant's (see transforms)."""
    size = manifest.owned_bytes(variant)
    return size_mb(size) if size else "shared"


def signed(value: float | None) -> str:
    return "" if value is None else "±0" if abs(value) < 5e-5 else f"{value:+.4f}"


def new_table(title: str, columns: Sequence[str], right: Sequence[str] = (), no_wrap: Sequence[str] | bool = (),
           **options: Any) -> Table:
    """A rich table with `columns`, those in `right` right-justified, those in `no_wrap` (or all: True) unwrapped."""
    table = Table(title=title, **options)
    for column in columns:
        table.add_column(column, justify="right" if column in right else "left",
                         no_wrap=no_wrap if isinstance(no_wrap, bool) else column in no_wrap)
    return table
