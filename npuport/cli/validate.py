"""`npuport validate`: each variant on a device against the fp32 eager CPU reference, judged by its
precision's profile."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from npuport.cli import render
from npuport.cli.options import ArtifactsDir, DeviceOpt, JsonOpt, ProfileOpt, SpinOpt, TextsOpt, ThreadsOpt, VariantsOpt
from npuport.cli.progress import ProgressBar
from npuport.core.devices import CPU


def validate(
    artifacts: ArtifactsDir,
    device: DeviceOpt = CPU,
    variants: VariantsOpt = None,
    texts: TextsOpt = None,
    profile: ProfileOpt = None,
    profile_file: Annotated[Path | None, typer.Option(help='JSON overrides, e.g. {"int8": {"min_top1": 0.99}}.')] = None,
    record: Annotated[bool, typer.Option("--record", help="With --profile or --profile-file: record these verdicts in "
                                         "the manifest, replacing the stored ones (what package ships follows them). "
                                         "Without it, such a run reports only, in reports/unrecorded/.")] = False,
    report: Annotated[Path | None, typer.Option(help="Directory for the JSON and Markdown reports (default: ARTIFACTS/reports).")] = None,
    threads: ThreadsOpt = None,
    spin: SpinOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Prove parity: each variant on the device against the fp32 eager CPU reference, judged by its precision's profile.

    The reference replays the golden inputs recorded by convert; --texts replaces them (and needs the source model).
    A run under limits of your own leaves the stored verdicts as they are, unless --record."""
    from npuport.core.texts import read_texts
    from npuport.validate.gate import validate_artifacts
    from npuport.validate.profiles import resolve_profiles

    profiles = resolve_profiles(profile_file, profile or [])
    with ProgressBar("validating", quiet=as_json) as progress:
        run = validate_artifacts(artifacts, device, variants or None, read_texts(texts) if texts else None, profiles, report,
                                 threads, progress=progress, record=record or not (profile or profile_file))
    render.validation(run, artifacts, as_json)
    run.raise_if_failed()
