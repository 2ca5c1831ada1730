"""`npuport import`: an ONNX export made elsewhere, adopted into artifacts that validate and package
treat like npuport's own."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from npuport.cli import render
from npuport.cli.options import ArtifactsOutput, JsonOpt
from npuport.cli.progress import ProgressBar


def import_onnx(
    onnx: Annotated[Path, typer.Argument(metavar="ONNX_DIR_OR_FILE", help="An ONNX export: Optimum's output folder "
                                         "(model.onnx beside config.json and the tokenizer) or an .onnx file.")],
    source: Annotated[Path, typer.Option("--source", help="The model directory it was exported from: the tokenizer and "
                                         "the fp32 reference the file is judged against.")],
    output: ArtifactsOutput,
    as_json: JsonOpt = False,
) -> None:
    """Adopt an ONNX export made elsewhere into a manifest (specs and precision read from the graph, golden reference
    from --source), so validate and package treat it like npuport's own."""
    from npuport.convert.adopt import adopt_onnx

    with ProgressBar("importing", quiet=as_json) as progress:
        result = adopt_onnx(onnx, source, output, progress=progress)
    render.converted(result, output, as_json)
