"""`validate_artifacts`: validate variants on a device, write the reports, record the verdicts in the manifest."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from npuport.core.clock import utc_now
from npuport.core.devices import CPU, Device
from npuport.core.errors import InputError
from npuport.core.manifest import Manifest, Validation
from npuport.core.progress import Progress, reporter, step, total
from npuport.core.reports.keep import still_current
from npuport.core.reports.paths import reports_dir, unrecorded_reports_dir
from npuport.validate.parity_report import write_reports
from npuport.validate.profiles import DEFAULT_PROFILES, Profile
from npuport.validate.validator import VariantValidation, Verdicts, custom_reference, golden_reference, validate_variant


@dataclass
class ValidationRun(Verdicts):
    device: str
    reference: str
    results: list[VariantValidation]
    json_report: Path
    markdown_report: Path
    advice: dict[str, str] = field(default_factory=dict)  # failing variant → what to do next
    recorded: bool = True  # the verdicts are the manifest's now (False: reported only)

    action = "validation"


def validate_artifacts(
    path: str | Path,
    device: Device = CPU,
    variants: list[str] | tuple[str, ...] | None = None,
    texts: list[str] | None = None,
    profiles: dict[str, Profile] | None = None,
    report_dir: Path | None = None,
    threads: int | None = None,
    progress: Progress | None = None,
    record: bool = True,
) -> ValidationRun:
    """Validate `variants` (default: all) on `device`; `texts` replace the golden inputs (needs the source model).
    `record` False leaves the manifest's verdicts as they are: the reports go to reports/unrecorded/ (or `report_dir`,
    if not reports/ itself)."""
    root = Path(path)
    manifest = Manifest.load(root)
    profiles = profiles or DEFAULT_PROFILES
    chosen = [manifest.variant(v) for v in variants] if variants else list(manifest.variants)
    missing = sorted({v.precision for v in chosen} - set(profiles))
    if missing:
        raise InputError(f"no validation profile for precision {', '.join(missing)}")
    recorded_reports = reports_dir(root)
    if not record and report_dir is not None and report_dir.resolve() == recorded_reports.resolve():
        raise InputError(f"{report_dir} holds the reports the recorded verdicts point to: an unrecorded run writes elsewhere")
    report_dir = writable_directory(report_dir or (recorded_reports if record else unrecorded_reports_dir(root)))
    reference = custom_reference(root, manifest, texts) if texts else golden_reference(root, manifest)
    notify = reporter(progress)
    notify(total(len(chosen)))
    results = []
    for variant in chosen:
        with step(notify, variant.id):
            results.append(validate_variant(root, manifest, variant, device, profiles[variant.precision], reference, threads))
    entries = [r.as_dict() | {"reference": reference.origin} for r in results]
    json_report, markdown_report = write_reports(report_dir, manifest, str(device), entries)
    if not record:
        return ValidationRun(str(device), reference.origin, results, json_report, markdown_report, recorded=False)
    _record(root, json_report, results)
    return ValidationRun(str(device), reference.origin, results, json_report, markdown_report,
                         advice(Manifest.load(root), str(device), root))


def advice(manifest: Manifest, device: str, root: Path) -> dict[str, str]:
    """For each variant that fails on `device` below fp32: whether that is its precision's cost (the fp32 variant of
    the same format and shape passes here) or unknown yet, and the commands that localise and fix it."""
    notes = {}
    for variant in manifest.variants:
        verdict = manifest.verdict(variant, device)
        if variant.precision == "fp32" or verdict is None or verdict.passed:
            continue
        fp32 = next((v for v in manifest.variants if (v.format, v.precision, v.shape) == (variant.format, "fp32", variant.shape)), None)
        fp32_verdict = manifest.verdict(fp32, device) if fp32 else None
        if fp32_verdict is not None and fp32_verdict.passed:
            why = f"{fp32.id} passes here, so this is the cost of {variant.precision}, not a broken export"  # type: ignore[union-attr]
        else:
            why = f"validate {fp32.id if fp32 else 'an fp32 variant'} too, to tell {variant.precision}'s cost from a broken export"
        fix = f"`npuport doctor {root} --variant {variant.id}` shows the first layer past the budget"
        if variant.format == "onnx" and variant.precision in ("int8", "fp16"):
            fix += f"; `npuport tune {root} --precision {variant.precision}` builds one that keeps those layers in fp32"
        notes[variant.id] = f"{why}: {fix}"
    return notes


def writable_directory(folder: Path) -> Path:
    """`folder`, created if need be, after checking a file can be written there; one clear error otherwise."""
    if folder.exists() and not folder.is_dir():
        raise InputError(f"report directory {folder} is a file, not a directory")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        raise InputError(f"cannot write reports to {folder}: {exc.strerror or exc}") from None
    return folder


def _record(root: Path, report: Path, results: list[VariantValidation]) -> None:
    """Replace this device's records of the validated variants; re-read the manifest so nothing else is lost."""
    manifest = Manifest.load(root)
    try:
        where = report.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        where = str(report.resolve())
    created = utc_now()
    done = {(r.variant, r.device) for r in results}
    kept = [v for v in still_current(manifest.validations, manifest.variants) if (v.variant, v.device) not in done]
    new = [Validation(report=where, variant=r.variant, sha256=r.digest, device=r.device, profile=r.profile.name,
                      passed=r.passed, created=created, platform=r.platform) for r in results]
    manifest.model_copy(update={"validations": kept + new}).save(root)
