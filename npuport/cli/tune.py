"""`npuport tune`: the variant of a precision that passes the decision gate, built step by step."""

from __future__ import annotations

from typing import Annotated

import typer

from npuport.cli import render
from npuport.cli.options import ArtifactsDir, CpuClassOpt, Int8WeightsOpt, JsonOpt, ProfileOpt, TextsOpt, ThreadsOpt
from npuport.cli.progress import ProgressBar


def tune(
    artifacts: ArtifactsDir,
    precision: Annotated[str, typer.Option("--precision", help="int8 (calibrated static QDQ) or fp16.")],
    texts: TextsOpt = None,
    calibration: Annotated[str, typer.Option(help="int8 activation ranges: minmax, entropy or percentile.")] = "minmax",
    int8_weights: Int8WeightsOpt = None,
    cpu_class: CpuClassOpt = None,
    method: Annotated[str, typer.Option(help="int8: dynamic, static (calibrated QDQ) or auto (both; the smallest "
                                              "passing file wins).")] = "auto",
    smoothing: Annotated[str, typer.Option(help="int8: SmoothQuant before quantizing: auto (the α closest to fp32 on "
                                                "the calibration texts), off, or an α in (0, 1).")] = "auto",
    profile: ProfileOpt = None,
    threads: ThreadsOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Build the variant onnx-PRECISION-tuned that passes the decision gate: everything in PRECISION, then the blocks
    doctor finds first past the budget kept in fp32, step by step. int8 calibrates (static ranges, SmoothQuant's α) on
    --texts (default: bundled corpus texts that are not golden texts); fp16 also writes the kept ops as an ATC
    --keep_dtype file."""
    from npuport.core.texts import read_texts
    from npuport.tune.search import tune as build
    from npuport.validate.profiles import resolve_profiles

    with ProgressBar("tuning", quiet=as_json) as progress:
        result = build(artifacts, precision, read_texts(texts) if texts else None, calibration, int8_weights, method,
                       smoothing, resolve_profiles(None, profile or []), threads, progress=progress, cpu_class=cpu_class)
    render.tuned(result, as_json)
    result.raise_if_failed()
