"""`verify_package`: on the target machine, without the source model — hashes, then the golden inputs replayed
on the device and compared with the stored reference outputs under the profiles the package was validated with.

Every file is checked whatever this machine can run; a variant whose engine or device is missing here (TorchScript
without torch in the base install, an accelerator that is absent) is not replayed, and says why: a verification that
left variants out is not a pass (NotReplayedError, exit 9); one that replayed nothing is BackendUnavailableError."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from npuport.core.archive import unpacked
from npuport.core.contents import check_package
from npuport.core.devices import CPU, Device
from npuport.core.errors import BackendUnavailableError, ManifestError, NotReplayedError
from npuport.core.manifest import MANIFEST_NAME, Manifest, Validation
from npuport.core.progress import Progress, reporter, step, total
from npuport.core.sums import check_listed, check_sums, read_sums
from npuport.validate.profiles import DEFAULT_PROFILES, Profile
from npuport.validate.validator import VariantValidation, Verdicts, golden_reference, validate_variant


@dataclass(frozen=True)
class NotReplayed:
    """A variant this machine could not run, and the one line saying what is missing."""

    variant: str
    reason: str


@dataclass
class VerifyResult(Verdicts):
    package: Path
    device: str
    files_checked: int
    results: list[VariantValidation]
    differences: list[str]  # how this machine differs from where the packaged verdicts were reached
    not_replayed: list[NotReplayed]

    action = "verification"

    @property
    def passed(self) -> bool:
        """Every variant asked for was replayed here and passed: what exit code 0 means."""
        return super().passed and not self.not_replayed

    def raise_if_failed(self) -> None:
        """A failure first (exit 8); else variants left out (NotReplayedError)."""
        super().raise_if_failed()
        if self.not_replayed:
            names = ", ".join(n.variant for n in self.not_replayed)
            replayed = ", ".join(r.variant for r in self.results)
            raise NotReplayedError(f"{len(self.not_replayed)} variant(s) not replayed on {self.device}: {names}; every "
                                   f"file matched and the replayed ones passed; --variants {replayed} verifies only those")

    @property
    def machine_line(self) -> str:
        """Where this replay ran, set against where the package was validated: the first thing a user must know."""
        here = "; ".join(sorted({r.platform.describe() for r in self.results}))
        if not self.differences:
            return f"this machine ({here}) is the kind the package was validated on"
        return (f"this machine ({here}) is NOT the kind the package was validated on: {'; '.join(self.differences)}. "
                "The verdict below is this machine's own replay of the golden inputs, not the packaged one")


def platform_differences(packaged: list[Validation], results: list[VariantValidation]) -> list[str]:
    """Per difference (CPU class, engine, library version), one phrase naming the variants it concerns."""
    found: dict[str, list[str]] = {}
    records = {record.variant: record.platform for record in packaged}
    for result in results:
        there, here = records.get(result.variant), result.platform
        if there is None:
            found.setdefault("the package does not record where it was validated", []).append(result.variant)
            continue
        if there.cpu_class != here.cpu_class:
            found.setdefault(f"CPU class {here.cpu_class} here, {there.cpu_class} at validation", []).append(result.variant)
        if there.engine != here.engine:
            found.setdefault(f"{here.engine} here, {there.engine} at validation", []).append(result.variant)
        for library, version in here.versions.items():
            if there.versions.get(library, version) != version:
                found.setdefault(f"{library} {version} here, {there.versions[library]} at validation", []).append(result.variant)
        if there.precision_mode != here.precision_mode:
            found.setdefault(f"{here.precision_mode or 'no compiler precision setting'} here, "
                             f"{there.precision_mode or 'none'} at validation", []).append(result.variant)
        placed_here, placed_there = ({p.describe() for p in platform.placement} for platform in (here, there))
        if placed_here != placed_there:
            found.setdefault(f"nodes placed as {' | '.join(sorted(placed_here)) or 'unrecorded'} here, "
                             f"{' | '.join(sorted(placed_there)) or 'unrecorded'} at validation", []).append(result.variant)
    return [f"{what} ({', '.join(variants)})" for what, variants in found.items()]


def package_profiles(manifest: Manifest) -> dict[str, Profile]:
    profiles = dict(DEFAULT_PROFILES)
    if manifest.package:
        for precision, limits in manifest.package.profiles.items():
            profiles[precision] = Profile(**limits)  # type: ignore[arg-type]
    return profiles


def verify_package(
    path: str | Path, device: Device = CPU, threads: int | None = None, progress: Progress | None = None,
    variants: list[str] | tuple[str, ...] | None = None,
    om: str | Path | None = None,
) -> VerifyResult:
    """Verify a package directory or .tar.gz on `device`: every file, then `variants` (default: all) replayed;
    with `om` (npu), the `.om` files the package's ATC scripts wrote to that folder instead of the ONNX files (what
    `--target ascend` ships is what runs)."""
    source = Path(path)
    package = unpacked(source)
    if not (package / MANIFEST_NAME).is_file():
        raise ManifestError(f"{source} is not a package: no {MANIFEST_NAME}")
    listed = read_sums(package)
    check_listed(package, listed, MANIFEST_NAME)  # first: nothing but SHA256SUMS vouches for the manifest
    manifest = Manifest.load(package)
    check_package(package, manifest, listed)
    records = manifest.all_files()
    files = check_sums(package, listed, skip={record.path for record in records} | {MANIFEST_NAME})
    manifest.verify_files(package, listed=listed)  # each record hashed once, against the manifest and SHA256SUMS
    chosen = [manifest.variant(v) for v in variants] if variants else list(manifest.variants)
    profiles = package_profiles(manifest)
    reference = golden_reference(package, manifest)
    notify = reporter(progress)
    notify(total(len(chosen)))
    results, left_out = [], []
    for variant in chosen:
        with step(notify, variant.id):
            try:
                results.append(validate_variant(package, manifest, variant, device, profiles[variant.precision],
                                                reference, threads, Path(om) if om is not None else None))
            except BackendUnavailableError as exc:  # its engine or device is missing here: said, never skipped silently
                left_out.append(NotReplayed(variant.id, str(exc)))
    if not results:
        raise BackendUnavailableError(f"no variant of {source} could be replayed on {device}: "
                                      + "; ".join(f"{n.variant}: {n.reason}" for n in left_out))
    built_for = manifest.package.device if manifest.package else str(device)
    packaged = [record for v in manifest.variants if (record := manifest.verdict(v, built_for)) is not None]
    return VerifyResult(source, str(device), files, results, platform_differences(packaged, results), left_out)
