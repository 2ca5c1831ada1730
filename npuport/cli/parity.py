"""Parity commands: validate artifacts on a device, verify a package on the target machine, and localise a failure
(doctor)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from npuport.cli import render
from npuport.cli.options import (
    ArtifactsDir,
    CpuClassOpt,
    DeviceOpt,
    Int8WeightsOpt,
    JsonOpt,
    OmOpt,
    PackagePath,
    ProfileOpt,
    SpinOpt,
    TextsOpt,
    ThreadsOpt,
    VariantsOpt,
)
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


def verify(package_path: PackagePath, device: DeviceOpt = CPU, variants: VariantsOpt = None, om: OmOpt = None,
           threads: ThreadsOpt = None, spin: SpinOpt = False, as_json: JsonOpt = False) -> None:
    """On the target machine: check every hash, replay the golden inputs, compare with the stored reference.

    Every file is checked; a variant this machine cannot run (TorchScript without torch, a missing device) is listed
    with the reason and not replayed. Exit 0: every variant replayed and passed; 8: one failed; 9: the replayed ones
    passed but some could not run here (--variants narrows to what this machine runs); 6: none could run."""
    from npuport.package.verify import verify_package

    with ProgressBar("verifying", quiet=as_json) as progress:
        result = verify_package(package_path, device, threads, progress=progress, variants=variants or None, om=om)
    render.verification(result, package_path, as_json)
    result.raise_if_failed()


def doctor(
    artifacts: ArtifactsDir,
    variant: Annotated[str, typer.Option("--variant", help="The variant to examine (e.g. the one validate failed).")],
    device: DeviceOpt = CPU,
    texts: TextsOpt = None,
    profile: ProfileOpt = None,
    threads: ThreadsOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Where parity breaks: every layer of the variant against the fp32 eager reference (embeddings, each layer's
    attention and feed-forward, pooler, logits), the first layer past the budget and the nodes computing it.

    The precision's min_cosine (--profile changes it) is the budget at every layer. Needs the source model (the
    reference's layers); writes reports/doctor-VARIANT-DEVICE.json and .png."""
    from npuport.core.texts import read_texts
    from npuport.doctor.localise import diagnose
    from npuport.validate.profiles import resolve_profiles

    with ProgressBar("diagnosing", quiet=as_json) as progress:
        result = diagnose(artifacts, variant, device, read_texts(texts) if texts else None,
                          resolve_profiles(None, profile or []), threads, progress=progress)
    render.diagnosis(result, as_json)


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
