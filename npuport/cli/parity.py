"""Parity commands: validate artifacts on a device, verify a package on the target machine."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from npuport.cli import render
from npuport.cli.errors import handle_errors
from npuport.cli.options import ArtifactsDir, DeviceOpt, JsonOpt, PackagePath, TextsOpt, ThreadsOpt, VariantsOpt
from npuport.cli.progress import ProgressBar


@handle_errors
def validate(
    artifacts: ArtifactsDir,
    device: DeviceOpt = "cpu",
    variants: VariantsOpt = None,
    texts: TextsOpt = None,
    profile: Annotated[list[str] | None, typer.Option("--profile", help="Override a limit: PRECISION.FIELD=VALUE (repeatable), e.g. fp16.max_abs_error=0.005.")] = None,
    profile_file: Annotated[Path | None, typer.Option(help='JSON overrides, e.g. {"int8": {"min_top1": 0.99}}.')] = None,
    report: Annotated[Path | None, typer.Option(help="Directory for the JSON and Markdown reports (default: ARTIFACTS/reports).")] = None,
    threads: ThreadsOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Prove parity: each variant on the device against the fp32 eager CPU reference, judged by its precision's profile.

    The reference replays the golden inputs recorded by convert; --texts replaces them (and needs the source model)."""
    from npuport.core.texts import read_texts
    from npuport.validate.gate import validate_artifacts
    from npuport.validate.profiles import resolve_profiles

    profiles = resolve_profiles(profile_file, profile or [])
    with ProgressBar("validating", quiet=as_json) as progress:
        run = validate_artifacts(artifacts, device, variants or None, read_texts(texts) if texts else None, profiles, report,
                                 threads, progress=progress)
    render.validation(run, artifacts, as_json)
    run.raise_if_failed()


@handle_errors
def verify(package_path: PackagePath, device: DeviceOpt = "cpu", threads: ThreadsOpt = None, as_json: JsonOpt = False) -> None:
    """On the target machine: check every hash, replay the golden inputs, compare with the stored reference."""
    from npuport.package.verify import verify_package

    with ProgressBar("verifying", quiet=as_json) as progress:
        result = verify_package(package_path, device, threads, progress=progress)
    render.verification(result, package_path, as_json)
    result.raise_if_failed()
