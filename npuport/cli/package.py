"""`npuport package`: what passed validation for a device, bundled (verify it with `npuport verify`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from npuport.cli import render
from npuport.cli.options import (
    ArtifactsDir,
    DeployOpt,
    DeployTargetOpt,
    ImageOpt,
    JsonOpt,
    TargetDeviceOpt,
    VariantsOpt,
    output_option,
)
from npuport.cli.progress import ProgressBar
from npuport.core.devices import CPU


def package(
    artifacts: ArtifactsDir,
    output: Annotated[Path, output_option("Package directory to write, e.g. dist/NAME (NAME.tar.gz beside it).")],
    device: TargetDeviceOpt = CPU,
    variants: VariantsOpt = None,
    triton: Annotated[bool, typer.Option("--triton", help="Also write a Triton Inference Server model repository.")] = False,
    archive: Annotated[bool, typer.Option("--archive/--no-archive", help="Also write NAME.tar.gz.")] = True,
    target: DeployTargetOpt = None,
    deploy: DeployOpt = False,
    image: ImageOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Bundle what passed validation for a device: artifacts, tokenizer, reports, golden data, SHA256SUMS, README.

    Without --variants, every variant that passed is packaged; with --target, the one that target runs best."""
    from npuport.package.bundle import build_package

    with ProgressBar("packaging", quiet=as_json) as progress:
        result = build_package(artifacts, output, device, variants or None, triton, archive, target, deploy, image,  # type: ignore[arg-type]
                               progress)
    render.packaged(result, device, as_json)
