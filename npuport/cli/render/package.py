"""What package prints."""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING

from npuport.cli.render.base import emit_json, line, new_table, out, size_mb

if TYPE_CHECKING:
    from npuport.package.bundle import PackageResult


def packaged(result: PackageResult, device: str, as_json: bool) -> None:
    if as_json:
        return emit_json({"directory": str(result.directory), "archive": str(result.archive) if result.archive else None,
                          "variants": result.variants, "validated_on": result.validated_on, "files": result.files,
                          "bytes": result.bytes, "target": [asdict(d) for d in result.choices]})
    if result.choices:
        table = new_table("what the target runs, and what was left out", ["variant", "packaged", "why"])
        for choice in result.choices:
            table.add_row(choice.variant, "yes" if choice.chosen else "no", choice.why)
        out.print(table)
    line(f"packaged {len(result.variants)} variant(s) for {device}: {', '.join(result.variants)}")
    for where in sorted(set(result.validated_on.values())):
        chosen = [v for v, w in result.validated_on.items() if w == where]
        line(f"validated on {where}: {', '.join(chosen)}", soft_wrap=True)
    line(f"run `npuport verify PACKAGE --device {device}` on the target machine: a verdict holds for the CPU class it "
         "was reached on", soft_wrap=True)
    line(f"{result.directory}: {result.files} files, {size_mb(result.bytes)}" +
         (f"; {result.archive} ({size_mb(result.archive_bytes)})" if result.archive else ""))
