"""What convert and import print: the variants built, their sizes and export checks."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from npuport.cli.render.base import emit_json, line, new_table, out, variant_size
from npuport.cli.render.buckets import bucket_plan_table
from npuport.model.architectures import GENERIC_NOTE

if TYPE_CHECKING:
    from npuport.convert.pipeline import ConvertResult


def converted(result: ConvertResult, output: Path, as_json: bool) -> None:
    manifest = result.manifest
    if as_json:
        return emit_json({"root": str(output), "seconds": result.seconds, "peak_rss_mb": result.peak_rss_mb,
                          "steps": [s.__dict__ for s in result.steps], "manifest": manifest.model_dump(),
                          "bucket_plan": result.bucket_plan.to_dict() if result.bucket_plan else None})
    if result.bucket_plan:
        out.print(bucket_plan_table(result.bucket_plan))
    table = new_table(f"{output} — {manifest.source.architecture}, {manifest.source.num_labels} labels",
                   ("variant", "files", "size", "buckets", "transforms", "export check |Δp|"), right=("size", "files"),
                   no_wrap=("variant",))
    for v in manifest.variants:
        table.add_row(v.id, str(len(v.files)), variant_size(manifest, v),
                      ",".join(str(b) for b in v.buckets) or "any", ", ".join(v.transforms),
                      f"{v.export_check.max_abs_prob_error:.1e} ≤ {v.export_check.tolerance:g}")
    out.print(table)
    if manifest.source.coverage == GENERIC_NOTE:
        line(f"{manifest.source.model_type}: {GENERIC_NOTE}")
    line(f"converted in {result.seconds:.1f}s, peak memory {result.peak_rss_mb:,.0f} MB (largest process)")
