"""`npuport convert`: a model directory into the TorchScript/ONNX variant matrix, each file checked."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from npuport.cli import render
from npuport.cli.options import (
    TEXTS_HELP,
    ArtifactsOutput,
    CpuClassOpt,
    DeployTargetOpt,
    Int8WeightsOpt,
    JsonOpt,
    ModelDir,
    comma_list,
)
from npuport.cli.progress import ProgressBar


def convert(
    model_dir: ModelDir,
    output: ArtifactsOutput,
    formats: Annotated[str, typer.Option(help="Comma list of torchscript, onnx.")] = "torchscript,onnx",
    precisions: Annotated[str | None, typer.Option(help="Comma list of fp32, fp16, bf16, int8 (bf16: TorchScript only, "
                                                        "int8: ONNX only). Default: all four, each where its format builds it.")] = None,
    shapes: Annotated[str, typer.Option(help="Comma list of dynamic, static.")] = "dynamic,static",
    buckets: Annotated[str, typer.Option(help="Static shape buckets, BATCHxSEQ comma list, or auto: planned from "
                                             "--texts (see `npuport buckets plan`).")] = "1x64,1x128,16x128",
    texts: Annotated[Path | None, typer.Option("--texts", help="With --buckets auto: your traffic, whose token lengths "
                                               "choose the buckets. " + TEXTS_HELP)] = None,
    opset: Annotated[int, typer.Option(help="ONNX opset.")] = 17,
    fuse: Annotated[str, typer.Option(help="ONNX variants that get ORT transformer fusion: dynamic, all, none. "
                                           "Static ONNX stays standard ops by default for Ascend ATC / CANN.")] = "dynamic",
    int8_static: Annotated[bool, typer.Option("--int8-static", help="Also build static-shape int8 ONNX.")] = False,
    int8_weights: Int8WeightsOpt = None,
    cpu_class: CpuClassOpt = None,
    engines: Annotated[str, typer.Option(help="Comma list of onnxruntime, openvino: openvino adds openvino-fp32-dynamic "
                                               "and openvino-bf16-dynamic, the fp32 dynamic ONNX file run by OpenVINO "
                                               "at that inference precision (needs npuport[openvino]).")] = "onnxruntime",
    target: DeployTargetOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Export a model directory to the TorchScript/ONNX × precision × shape matrix, each file checked."""
    from npuport.convert.pipeline import convert_model
    from npuport.convert.plan import ConvertOptions, for_target
    from npuport.core.buckets import parse_buckets
    from npuport.core.errors import InputError

    planned = buckets.strip().lower() == "auto"
    if texts is not None and not planned:
        raise InputError("--texts plans the buckets: use it with --buckets auto")
    options = ConvertOptions(formats=comma_list(formats),  # type: ignore[arg-type]
                             precisions=comma_list(precisions) if precisions is not None else None,  # type: ignore[arg-type]
                             shapes=comma_list(shapes),  # type: ignore[arg-type]
                             buckets=() if planned else tuple(parse_buckets(buckets)), bucket_texts=texts, opset=opset,
                             fuse=fuse, int8_static=int8_static, int8_weights=int8_weights,
                             cpu_class=cpu_class, engines=comma_list(engines))
    options = for_target(options, target) if target else options
    with ProgressBar("building", quiet=as_json) as progress:
        result = convert_model(model_dir, output, options, progress=progress)
    render.converted(result, output, as_json)
