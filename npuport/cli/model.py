"""Commands on a model and its artifacts: inspect a model directory, convert it, check a manifest."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from npuport.cli import render
from npuport.cli.errors import handle_errors
from npuport.cli.options import ArtifactsDir, JsonOpt, ModelDir, comma_list
from npuport.cli.progress import ProgressBar


@handle_errors
def inspect(model_dir: ModelDir, as_json: JsonOpt = False) -> None:
    """Architecture, labels, problem type, parameters, tokenizer and max length of a model directory."""
    from npuport.model.source import load_source

    render.source_info(model_dir, load_source(model_dir), as_json)


@handle_errors
def convert(
    model_dir: ModelDir,
    output: Annotated[Path, typer.Option("-o", "--output", help="Artifacts directory to write.")],
    formats: Annotated[str, typer.Option(help="Comma list of torchscript, onnx.")] = "torchscript,onnx",
    precisions: Annotated[str | None, typer.Option(help="Comma list of fp32, fp16, bf16, int8 (bf16: TorchScript only, "
                                                        "int8: ONNX only). Default: all four, each where its format builds it.")] = None,
    shapes: Annotated[str, typer.Option(help="Comma list of dynamic, static.")] = "dynamic,static",
    buckets: Annotated[str, typer.Option(help="Static shape buckets, BATCHxSEQ comma list.")] = "1x64,1x128,16x128",
    opset: Annotated[int, typer.Option(help="ONNX opset.")] = 17,
    fuse: Annotated[str, typer.Option(help="ONNX variants that get ORT transformer fusion: dynamic, all, none. "
                                           "Static ONNX stays standard ops by default for Ascend ATC / CANN.")] = "dynamic",
    int8_static: Annotated[bool, typer.Option("--int8-static", help="Also build static-shape int8 ONNX.")] = False,
    int8_weights: Annotated[str, typer.Option("--int8-weights", help="uint8 (most accurate) or int8-7bit (~2x faster on "
                                              "VNNI CPUs); both compute exactly on every x86 CPU.")] = "uint8",
    as_json: JsonOpt = False,
) -> None:
    """Export a model directory to the TorchScript/ONNX × precision × shape matrix, each file checked."""
    from npuport.convert.pipeline import convert_model
    from npuport.convert.plan import ConvertOptions
    from npuport.core.buckets import parse_buckets

    options = ConvertOptions(formats=comma_list(formats),  # type: ignore[arg-type]
                             precisions=comma_list(precisions) if precisions is not None else None,  # type: ignore[arg-type]
                             shapes=comma_list(shapes),  # type: ignore[arg-type]
                             buckets=tuple(parse_buckets(buckets)), opset=opset, fuse=fuse, int8_static=int8_static,
                             int8_weights=int8_weights)
    with ProgressBar("building", quiet=as_json) as progress:
        result = convert_model(model_dir, output, options, progress=progress)
    render.converted(result, output, as_json)


@handle_errors
def manifest(artifacts: ArtifactsDir, as_json: JsonOpt = False) -> None:
    """Check every file's sha256 against the manifest and list the variants."""
    from npuport.core.manifest import Manifest

    loaded = Manifest.load(artifacts)
    render.manifest_checked(artifacts, loaded, loaded.verify_files(artifacts), as_json)
