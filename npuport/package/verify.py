"""`verify_package`: on the target machine, without the source model — hashes, then the golden inputs replayed
on the device and compared with the stored reference outputs under the profiles the package was validated with."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from npuport.errors import IntegrityError, ManifestError
from npuport.fsutil import sha256_file
from npuport.manifest import Manifest
from npuport.package.archive import safe_extract
from npuport.package.bundle import SUMS_FILE
from npuport.runtime.device import Device
from npuport.validate.profiles import DEFAULT_PROFILES, Profile
from npuport.validate.validator import VariantValidation, golden_reference, validate_variant


@dataclass
class VerifyResult:
    package: Path
    device: str
    files_checked: int
    results: list[VariantValidation]

    @property
    def passed(self) -> bool:
        return all(self.results)


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
    path: str | Path, device: str = "cpu", threads: int | None = None, progress: Callable[[str], None] | None = None
) -> VerifyResult:
    """Verify a package directory or .tar.gz on `device`."""
    from npuport.runtime import load

    source = Path(path)
    with tempfile.TemporaryDirectory(prefix="npuport-verify-") as scratch:
        package = safe_extract(source, Path(scratch)) if source.is_file() else source
        if not (package / "manifest.json").is_file():
            raise ManifestError(f"{source} is not a package: no manifest.json")
        files = check_sums(package)
        manifest = Manifest.load(package)
        for record in manifest.all_files():
            record.verify(package)
        target = Device.parse(device)
        profiles = package_profiles(manifest)
        reference = golden_reference(package, manifest)
        results = []
        for variant in manifest.variants:
            if progress:
                progress(variant.id)
            results.append(validate_variant(package, manifest, variant, target, profiles[variant.precision], reference, load, threads))
    return VerifyResult(source, str(target), files, results)
