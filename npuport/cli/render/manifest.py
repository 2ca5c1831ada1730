"""What manifest prints: the variants and their hashes."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from npuport.cli.render.base import emit_json, line, new_table, out, variant_size

if TYPE_CHECKING:
    from npuport.core.manifest import Manifest


def manifest_checked(artifacts: Path, manifest: Manifest, files: int, as_json: bool) -> None:
    if as_json:
        return emit_json(manifest.model_dump())
    table = new_table(f"{artifacts} — {manifest.source.architecture} ({manifest.source.problem_type})",
                   ("variant", "format", "precision", "shape", "buckets", "size", "sha256"), no_wrap=("variant",))
    for v in manifest.variants:
        table.add_row(v.id, v.format, v.precision, v.shape, ",".join(str(b) for b in v.buckets) or "any",
                      variant_size(manifest, v), v.digest[:12])
    out.print(table)
    line(f"all hashes OK: {files} files match the manifest")
