"""`verify_package`: on the target machine, without the source model — hashes, then the golden inputs replayed
on the device and compared with the stored reference outputs under the profiles the package was validated with."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from npuport.core.archive import unpacked
from npuport.core.devices import Device
from npuport.core.errors import IntegrityError, ManifestError
from npuport.core.files import sha256_file
from npuport.core.manifest import MANIFEST_NAME, Manifest, Validation
from npuport.core.progress import Progress, reporter, step, total
from npuport.package.bundle import SUMS_FILE
from npuport.validate.profiles import DEFAULT_PROFILES, Profile
from npuport.validate.validator import VariantValidation, Verdicts, golden_reference, validate_variant


@dataclass
class VerifyResult(Verdicts):
    package: Path
    device: str
    files_checked: int
    results: list[VariantValidation]
    differences: list[str]  # how this machine differs from where the packaged verdicts were reached

    action = "verification"

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
    return [f"{what} ({', '.join(variants)})" for what, variants in found.items()]


def check_sums(package: Path) -> int:
    """Every file listed in SHA256SUMS matches, and no file is there that it does not list."""
    sums = package / SUMS_FILE
    if not sums.is_file():
        raise IntegrityError(f"{package} has no {SUMS_FILE}: not an npuport package")
    listed: dict[str, str] = {}
    for number, line in enumerate(sums.read_text(encoding="utf-8").splitlines(), 1):
        digest, sep, rel = line.partition("  ")
        if not sep or len(digest) != 64 or Path(rel).is_absolute() or ".." in Path(rel).parts:
            raise IntegrityError(f"{sums}:{number} is malformed")
        listed[rel] = digest
    for rel, digest in listed.items():
        path = package / rel
        if not path.is_file():
            raise IntegrityError(f"{rel} is listed in {SUMS_FILE} but missing from {package}")
        if sha256_file(path) != digest:
            raise IntegrityError(f"{rel} does not match {SUMS_FILE}: the package was modified or truncated")
    present = {p.relative_to(package).as_posix() for p in package.rglob("*") if p.is_file() or p.is_symlink()}
    extra = sorted(present - set(listed) - {SUMS_FILE})
    if extra:
        raise IntegrityError(f"{package} holds files {SUMS_FILE} does not list: {', '.join(extra[:5])}")
    return len(listed)


def package_profiles(manifest: Manifest) -> dict[str, Profile]:
    profiles = dict(DEFAULT_PROFILES)
    if manifest.package:
        for precision, limits in manifest.package.profiles.items():
            profiles[precision] = Profile(**limits)  # type: ignore[arg-type]
    return profiles


def verify_package(
    path: str | Path, device: str = "cpu", threads: int | None = None, progress: Progress | None = None
) -> VerifyResult:
    """Verify a package directory or .tar.gz on `device`."""
    source = Path(path)
    package = unpacked(source)
    if not (package / MANIFEST_NAME).is_file():
        raise ManifestError(f"{source} is not a package: no {MANIFEST_NAME}")
    files = check_sums(package)
    manifest = Manifest.load(package)
    manifest.verify_files(package)
    target = Device.parse(device)
    profiles = package_profiles(manifest)
    reference = golden_reference(package, manifest)
    notify = reporter(progress)
    notify(total(len(manifest.variants)))
    results = []
    for variant in manifest.variants:
        with step(notify, variant.id):
            results.append(validate_variant(package, manifest, variant, target, profiles[variant.precision], reference, threads))
    return VerifyResult(source, str(target), files, results, platform_differences(manifest.validations, results))
