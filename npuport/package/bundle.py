"""`build_package`: the variants that passed validation for a device, with everything needed to check them there.

A package is an artifacts directory the runtime loads as is (manifest, variant files, tokenizer, golden inputs and
reference outputs, reports) plus SHA256SUMS, a README for the receiving engineer, ATC scripts, an optional Triton
repository and optional deployment files (Dockerfile, KServe InferenceService) — as a directory and as a `.tar.gz`.
Built in a staging directory and swapped into place, so a crash never leaves a half-written package under the final
name. One run per target: `.<name>.lock` beside it is held from the first write to the tarball's, so a second run
refuses at once and the tarball always comes from the run that built the directory beside it.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from npuport.core.archive import write_archive
from npuport.core.clock import utc_now
from npuport.core.devices import CPU, DEPLOY_TARGETS, DeployTarget, Device
from npuport.core.errors import InputError, ParityError
from npuport.core.files import directory_lock, staged_directory
from npuport.core.manifest import FileRecord, Manifest, PackageInfo, Validation, Variant
from npuport.core.progress import Progress, reporter, step, total
from npuport.core.reports.paths import REPORTS_DIR, reports_dir
from npuport.core.sums import SUMS_FILE, hash_tree, write_sums
from npuport.package.atc import atc_variants, keep_list, write_atc
from npuport.package.deploy import Deployment, plan_deployment, write_deployment
from npuport.package.readme import render_readme
from npuport.package.targets import TargetChoice, choose_for_target
from npuport.package.triton import seal_repository, write_repository
from npuport.validate.parity_report import report_failures

LABELS_FILE = "labels.json"  # for the receiving engineer; the manifest stays the source of truth


@dataclass
class PackageResult:
    directory: Path
    archive: Path | None
    variants: list[str]
    files: int
    bytes: int
    validated_on: dict[str, str]  # variant id → where its verdict was reached (CPU class, engine, versions)
    archive_bytes: int = 0  # measured under the lock: once it is released, another run may replace the archive
    choices: list[TargetChoice] = field(default_factory=list)  # with a target: each variant, chosen or why left out


def select_variants(manifest: Manifest, device: str, wanted: list[str] | tuple[str, ...] | None) -> list[tuple[Variant, Validation]]:
    """The named variants (each must have passed on `device`), or every variant that did."""
    chosen = [manifest.variant(v) for v in wanted] if wanted else list(manifest.variants)
    selected, refused = [], []
    for variant in chosen:
        record = manifest.passing(variant, device)
        if record is not None:
            selected.append((variant, record))
        else:
            refused.append(f"{variant.id} ({manifest.why_not(variant, device)})")
    if wanted and refused:
        raise ParityError(f"refusing to package for {device}: {'; '.join(refused)}. "
                          f"Run `npuport validate ARTIFACTS --device {device}` first")
    if not selected:
        raise ParityError(f"no variant has a passing validation on {device}: {'; '.join(refused)}. "
                          f"Run `npuport validate ARTIFACTS --device {device}` first")
    return selected


def build_package(
    artifacts: str | Path,
    output: str | Path,
    device: Device = CPU,
    variants: list[str] | tuple[str, ...] | None = None,
    triton: bool = False,
    archive: bool = True,
    target: DeployTarget | None = None,
    deploy: bool = False,
    image: str | None = None,
    progress: Progress | None = None,
) -> PackageResult:
    """`target` (cpu, ascend, cuda): only the variant, of those that passed on `device`, that the target runs best.
    `deploy`: also deploy/Dockerfile and deploy/inferenceservice.yaml, naming `image` (default NAME:latest).
    `progress`: a step per file copied, then one for the checksums and one for the archive."""
    root, final = Path(artifacts), Path(output)
    if image is not None and not deploy:
        raise InputError("--image names the image of the deployment files: give it with --deploy")
    manifest = Manifest.load(root)
    where = str(device)
    if target is not None and target not in DEPLOY_TARGETS:
        raise InputError(f"unknown target {target!r}; choose from {', '.join(DEPLOY_TARGETS)}")
    if target is not None and variants:
        raise InputError("--target chooses the variants itself: give --target or --variants, not both")
    selected = select_variants(manifest, where, variants)
    choices: list[TargetChoice] = []
    if target is not None:
        choices = choose_for_target(root, manifest, target, [variant for variant, _ in selected], where)
        chosen = {d.variant for d in choices if d.chosen}
        selected = [(variant, record) for variant, record in selected if variant.id in chosen]
    deployment = plan_deployment(manifest, [v for v, _ in selected], device, final.name, image) if deploy else None
    if final.resolve() == root.resolve():
        raise InputError(f"{final} is the artifacts directory itself: refusing to replace it")
    with directory_lock(final, f"package {final}"):
        if final.exists() and not (final / SUMS_FILE).is_file():
            raise InputError(f"{final} exists and is not a package: refusing to replace it")
        result = _build(root, final, manifest, device, selected, triton, archive, deployment, reporter(progress))
    result.choices = choices
    return result


def _build(root: Path, final: Path, manifest: Manifest, target: Device, selected: list[tuple[Variant, Validation]],
           triton: bool, archive: bool, deployment: Deployment | None, progress: Progress) -> PackageResult:
    kept = [variant for variant, _ in selected]
    profiles = _profiles(root, selected)
    reports = {record.report: _inside(record.report) for _, record in selected}  # source path → path in the package
    tarball_path = final.with_name(final.name + ".tar.gz")
    for leftover in final.parent.glob(f".{tarball_path.name}.*.tmp"):  # a killed run's half-written tarball
        shutil.rmtree(leftover, ignore_errors=True)
    with staged_directory(final) as staging:
        packaged = manifest.model_copy(update={
            "variants": kept,
            "validations": [record.model_copy(update={"report": reports[record.report]}) for _, record in selected],
            "package": PackageInfo(device=str(target), created=utc_now(),
                                   source_artifacts=str(root.resolve()), profiles=profiles),
        })
        files = packaged.all_files()  # each file once, whichever variants share it
        progress(total(len(files) + 1 + archive))
        for record in files:
            with step(progress, record.path):
                _copy_verified(root, staging, record)
        _copy_reports(root, staging, reports)
        labels = {"id2label": {str(i): name for i, name in enumerate(packaged.source.labels)},
                  "problem_type": packaged.source.problem_type, "activation": packaged.source.activation,
                  "threshold": packaged.source.threshold}
        (staging / LABELS_FILE).write_text(json.dumps(labels, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        model = final.name
        if triton:
            write_repository(staging, packaged, model, target)
        keep = keep_list(manifest) if any(v.precision == "fp32" for v in atc_variants(packaged)) else None
        if keep is not None and not (staging / keep.path).is_file():  # its tuned variant did not ship: the list does
            _copy_verified(root, staging, keep)
        atc = [p.relative_to(staging) for p in write_atc(staging, packaged, keep.path if keep else None) if p.suffix == ".sh"]
        if deployment is not None:
            write_deployment(staging, deployment)
        (staging / "README.md").write_text(render_readme(packaged, model, triton, atc,
                                                         deployment), encoding="utf-8")
        packaged, known = _record_own_files(staging, packaged)
        packaged.save(staging)
        if triton:
            seal_repository(staging, model, known)
        with step(progress, SUMS_FILE):
            files, size = write_sums(staging, known)
        tarball_path.unlink(missing_ok=True)  # never beside a package it does not match
    tarball = None
    if archive:
        with step(progress, tarball_path.name):
            tarball = write_archive(final, tarball_path)
    return PackageResult(final, tarball, [v.id for v in kept], files, size, {r.variant: r.where for _, r in selected},
                         tarball.stat().st_size if tarball else 0)


def _record_own_files(staging: Path, packaged: Manifest) -> tuple[Manifest, dict[str, str]]:
    """The manifest with every file written so far that it does not record yet (README, labels, reports, ATC,
    Triton and deployment files) in `package.files`, so SHA256SUMS lists nothing the manifest does not vouch for
    (core.contents); and every file's digest, by path, for SHA256SUMS."""
    hashed = hash_tree(staging)
    recorded = {record.path for record in packaged.all_files()}
    own = [FileRecord(path=rel, sha256=digest, bytes=size) for rel, (digest, size) in hashed.items() if rel not in recorded]
    assert packaged.package is not None
    package = packaged.package.model_copy(update={"files": own})
    return packaged.model_copy(update={"package": package}), {rel: digest for rel, (digest, _) in hashed.items()}


def _copy_verified(root: Path, staging: Path, record: FileRecord) -> None:
    source = record.verify(root)
    (staging / record.path).parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, staging / record.path)


def _profiles(root: Path, selected: list[tuple[Variant, Validation]]) -> dict[str, dict]:
    """Per precision, the limits the packaged variants passed (read from their reports), so verify applies the same.
    Each verdict is re-judged from its report's figures: a `passed` edited into the manifest (or into the report's
    flags) by hand does not ship."""
    profiles: dict[str, dict] = {}
    for variant, record in selected:
        path = root / record.report
        if not path.is_file():
            raise ParityError(f"the validation report {record.report} of {variant.id} is missing from {root}")
        try:
            entries = json.loads(path.read_text(encoding="utf-8"))["variants"]
            entry = next(e for e in entries if e["variant"] == variant.id and e["sha256"] == variant.digest
                         and e["device"] == record.device)
            failures = report_failures(entry)
        except (KeyError, StopIteration, json.JSONDecodeError, UnicodeDecodeError, TypeError, AttributeError):
            raise ParityError(f"the validation report {record.report} has no entry for {variant.id} with its current "
                              f"files on {record.device}") from None
        if failures:
            raise ParityError(f"{variant.id}: its verdict says passed, but the figures in {record.report} fail its "
                              f"{record.profile} profile: {'; '.join(failures)}. Validate it again")
        limits = entry["profile"]
        if profiles.setdefault(variant.precision, limits) != limits:
            raise ParityError(f"{variant.precision} variants were validated under different profiles; "
                              "validate them together before packaging")
    return profiles


def _inside(report: str) -> str:
    """A report written outside the artifacts directory goes into the package's reports/ folder."""
    return f"{REPORTS_DIR}/{Path(report).name}" if Path(report).is_absolute() else report


def _copy_reports(root: Path, staging: Path, reports: dict[str, str]) -> None:
    """Every report under ARTIFACTS/reports (parity, benchmarks, evaluation, trade-off page) and each
    validation report the packaged variants point at."""
    folder = reports_dir(root)
    everything = {p.relative_to(root).as_posix(): p.relative_to(root).as_posix()
                  for p in sorted(folder.glob("*")) if p.is_file()} if folder.is_dir() else {}
    for source, target in (everything | reports).items():
        (staging / target).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(root / source, staging / target)
