"""`validate_artifacts`: validate variants on a device, write the reports, record the verdicts in the manifest."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from npuport.core.devices import Device
from npuport.core.errors import InputError
from npuport.core.manifest import Manifest, Validation
from npuport.core.progress import Progress, reporter, step, total
from npuport.core.records import REPORTS_DIR, still_current, utc_now
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

    action = "validation"


def validate_artifacts(
    path: str | Path,
    device: str = "cpu",
    variants: list[str] | tuple[str, ...] | None = None,
    texts: list[str] | None = None,
    profiles: dict[str, Profile] | None = None,
    report_dir: Path | None = None,
    threads: int | None = None,
    progress: Progress | None = None,
) -> ValidationRun:
    """Validate `variants` (default: all) on `device`; `texts` replace the golden inputs (needs the source model)."""
    root = Path(path)
    manifest = Manifest.load(root)
    target = Device.parse(device)
    profiles = profiles or DEFAULT_PROFILES
    chosen = [manifest.variant(v) for v in variants] if variants else list(manifest.variants)
    missing = sorted({v.precision for v in chosen} - set(profiles))
    if missing:
        raise InputError(f"no validation profile for precision {', '.join(missing)}")
    reference = custom_reference(root, manifest, texts) if texts else golden_reference(root, manifest)
    notify = reporter(progress)
    notify(total(len(chosen)))
    results = []
    for variant in chosen:
        with step(notify, variant.id):
            results.append(validate_variant(root, manifest, variant, target, profiles[variant.precision], reference, threads))
    report_dir = report_dir or root / REPORTS_DIR
    entries = [r.as_dict() | {"reference": reference.origin} for r in results]
    json_report, markdown_report = write_reports(report_dir, manifest, str(target), entries)
    _record(root, json_report, results)
    return ValidationRun(str(target), reference.origin, results, json_report, markdown_report)


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
