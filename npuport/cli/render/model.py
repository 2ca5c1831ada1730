"""What inspect, convert, manifest and predict print."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from rich.markup import escape
from rich.table import Table

from npuport.cli.render.base import emit_json, line, new_table, out, variant_size
from npuport.cli.render.buckets import gear_table
from npuport.model.architectures import GENERIC_NOTE

if TYPE_CHECKING:
    from npuport.convert.pipeline import ConvertResult
    from npuport.core.manifest import Manifest
    from npuport.model.source import SourceModel
    from npuport.runtime.classifier import Prediction


# model: inspect, convert, manifest
def source_info(model_dir: Path, source: SourceModel, as_json: bool) -> None:
    info = source.info.model_dump() | {"activation": source.info.activation, "tokenizer": type(source.tokenizer).__name__}
    if as_json:
        return emit_json(info)
    table = Table(title=str(model_dir), show_header=False)
    for key in ("architecture", "model_type", "problem_type", "activation", "threshold", "num_labels", "parameters",
                "tokenizer", "max_length", "input_names", "coverage"):
        value = info[key]
        table.add_row(key, f"{value:,}" if key == "parameters" else str(value))
    table.add_row("labels", ", ".join(source.info.labels))
    out.print(table)


def converted(result: ConvertResult, output: Path, as_json: bool) -> None:
    manifest = result.manifest
    if as_json:
        return emit_json({"root": str(output), "seconds": result.seconds, "peak_rss_mb": result.peak_rss_mb,
                          "steps": [s.__dict__ for s in result.steps], "manifest": manifest.model_dump(),
                          "gears": result.gears.to_dict() if result.gears else None})
    if result.gears:
        out.print(gear_table(result.gears))
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


# predict
def predictions(header: str, max_length: int, results: list[Prediction], as_json: bool) -> None:
    if as_json:
        for prediction in results:
            sys.stdout.write(json.dumps(prediction.to_dict(), ensure_ascii=False) + "\n")
        return
    line(header)
    for prediction in results:
        out.print(_prediction_table(prediction))
    truncated = sum(p.truncated for p in results)
    if truncated:
        line(f"{truncated} of {len(results)} texts were longer than {max_length} tokens and truncated")


def _prediction_table(prediction: Prediction) -> Table:
    """Labels by score, the predicted ones marked (the shape of the seed ports' smoke output)."""
    text = prediction.text if len(prediction.text) <= 100 else prediction.text[:99] + "…"
    note = f" (truncated: {prediction.original_tokens} → {prediction.tokens} tokens)" if prediction.truncated else ""
    table = new_table(escape(text), ("label", "score", "predicted"), right=("score",), title_justify="left",
                   caption_justify="left", min_width=60,
                   caption=escape(f"predicted: {', '.join(prediction.labels) or 'none over threshold'}{note}"))
    for label, score in prediction.top:
        chosen = label in prediction.labels
        table.add_row(escape(label), f"{score:.4f}", "✓" if chosen else "", style="bold" if chosen else None)
    return table
