"""What inspect prints: the source model's facts."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from rich.table import Table

from npuport.cli.render.base import emit_json, out

if TYPE_CHECKING:
    from npuport.model.source import SourceModel


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
