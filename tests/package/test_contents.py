"""What a package may hold (issue 22, "what verify and load trust"): each tamper case the hostile run got through,
now refused by `load` (so predict and serve) and by `verify` with one line; and a packed package's members checked
against its listing and sizes before a byte is written."""

from __future__ import annotations

import io
import json
import os
import shutil
import tarfile
from pathlib import Path

import pytest
from cli_runner import npuport  # type: ignore[import-not-found]

from npuport.core.archive import safe_extract
from npuport.core.errors import IntegrityError, ManifestError
from npuport.core.manifest import Manifest
from npuport.core.sums import write_sums
from npuport.package.bundle import build_package
from npuport.package.verify import verify_package
from npuport.runtime import load
from npuport.validate.gate import validate_artifacts

SHIPPED = ["onnx-fp32-dynamic", "onnx-int8-dynamic"]
MODEL = "onnx/fp32-dynamic.onnx"


@pytest.fixture(scope="module")
def package(converted, tmp_path_factory):  # type: ignore[no-untyped-def]
    """A package (directory and .tar.gz, with a Triton repository) of two ONNX variants of the tiny bert; read-only."""
    root = shutil.copytree(converted("bert").root, tmp_path_factory.mktemp("contents") / "bert",
                           ignore=shutil.ignore_patterns("reports"))
    assert validate_artifacts(root, variants=SHIPPED).passed
    return build_package(root, tmp_path_factory.mktemp("contents-dist") / "tiny-bert", triton=True)


@pytest.fixture
def copy(package, tmp_path) -> Path:  # type: ignore[no-untyped-def]
    return Path(shutil.copytree(package.directory, tmp_path / "pkg"))


def _refused(path: Path, message: str) -> None:
    """Refused by load and by verify (library and CLI), with the same one line."""
    for check in (load, verify_package):
        with pytest.raises(IntegrityError, match=message) as info:
            check(path)
        assert "\n" not in str(info.value)
    cli = npuport("verify", path)
    assert cli.returncode == 4 and cli.stderr.count("error: ") == 1 and "Traceback" not in cli.stderr, cli.stderr


def _rewrite_manifest(root: Path, edit) -> None:  # type: ignore[no-untyped-def]
    """Edit the manifest and re-hash SHA256SUMS to match, as a careful tamperer would."""
    manifest = json.loads((root / "manifest.json").read_text(encoding="utf-8"))
    edit(manifest)
    (root / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    write_sums(root)


def test_the_untouched_package_loads_and_verifies(package):  # type: ignore[no-untyped-def]
    assert verify_package(package.directory).passed and verify_package(package.archive).passed
    manifest = Manifest.load(package.directory)
    assert manifest.package is not None and {"README.md", "labels.json"} <= {r.path for r in manifest.package.files}


def test_one_byte_flipped_in_sha256sums_is_refused_though_load_reads_no_file_of_that_line(copy):  # type: ignore[no-untyped-def]
    sums = copy / "SHA256SUMS"
    lines = sums.read_text().splitlines()
    line = next(i for i, text in enumerate(lines) if text.endswith("  README.md"))
    lines[line] = ("1" if lines[line][0] != "1" else "2") + lines[line][1:]
    sums.write_text("\n".join(lines) + "\n")
    _refused(copy, "^SHA256SUMS and the manifest disagree on README.md")


def test_a_file_listed_in_sha256sums_but_not_in_the_manifest_is_refused(copy):  # type: ignore[no-untyped-def]
    (copy / "notes.txt").write_text("hello")
    write_sums(copy)
    _refused(copy, "^notes.txt is listed in SHA256SUMS but not recorded in the manifest")


@pytest.mark.parametrize(("edit", "message"), [
    (lambda m: m.update(variants=[], validations=[]), "lists no variants"),
    (lambda m: m.pop("package"), "has no package section"),
], ids=["no-variants", "no-package-section"])
def test_a_manifest_without_variants_or_its_package_section_is_refused(copy, edit, message):  # type: ignore[no-untyped-def]
    _rewrite_manifest(copy, edit)
    _refused(copy, message)


@pytest.mark.parametrize("rel", ["manifest.json", "SHA256SUMS", MODEL, "tokenizer/tokenizer.json", "tokenizer"])
def test_a_symbolic_link_to_an_identical_copy_outside_is_refused(copy, tmp_path, rel):  # type: ignore[no-untyped-def]
    outside = tmp_path / "outside" / Path(rel).name
    outside.parent.mkdir()
    shutil.move(copy / rel, outside)
    os.symlink(outside, copy / rel)
    _refused(copy, "symbolic link")


def test_a_fifo_inside_the_package_is_refused(copy):  # type: ignore[no-untyped-def]
    os.mkfifo(copy / "reports" / "pipe")
    _refused(copy, "^reports/pipe in .* is not a regular file")


def test_a_variant_pointed_at_another_variants_file_is_refused(copy):  # type: ignore[no-untyped-def]
    """fp32 pointed at the int8 file, manifest and SHA256SUMS re-hashed: no hash can tell; the one-reader rule does."""
    def point(manifest: dict) -> None:
        fp32, int8 = (next(v for v in manifest["variants"] if v["id"] == i) for i in SHIPPED)
        fp32["files"] = int8["files"]

    _rewrite_manifest(copy, point)
    with pytest.raises(ManifestError, match="is read by both onnx-fp32-dynamic and onnx-int8-dynamic"):
        load(copy)


def test_the_triton_copy_must_agree_with_the_package(copy):  # type: ignore[no-untyped-def]
    inner = copy / "triton" / "tiny-bert" / "1" / "tiny-bert" / "SHA256SUMS"
    lines = inner.read_text().splitlines()
    inner.unlink()  # a hard link: the outer one stays as it was
    inner.write_text("\n".join(lines[1:]) + "\n")  # one line dropped; the outer SHA256SUMS re-hashed to match
    write_sums(copy)
    _refused(copy, "triton/tiny-bert/1/tiny-bert/SHA256SUMS disagrees with the package's SHA256SUMS")


def _repacked(package, tmp_path: Path, extra: tuple[str, int] | None = None, grow: str | None = None) -> Path:  # type: ignore[no-untyped-def]
    """The package's .tar.gz with `extra` (name, bytes of zeros) appended, or the member `grow` one byte longer."""
    target = tmp_path / "hostile.tar.gz"
    with tarfile.open(package.archive, "r:gz") as source, tarfile.open(target, "w:gz", compresslevel=1) as tar:
        for member in source.getmembers():
            data = source.extractfile(member).read() if member.isfile() else None  # type: ignore[union-attr]
            if grow and member.name.endswith("/" + grow) and data is not None:
                data, member.size = data + b"\0", member.size + 1
            tar.addfile(member, io.BytesIO(data) if data is not None else None)
        if extra:
            info = tarfile.TarInfo(f"tiny-bert/{extra[0]}")
            info.size = extra[1]
            tar.addfile(info, io.BytesIO(bytes(extra[1])))
    return target


@pytest.mark.parametrize(("extra", "grow", "message"), [
    (("big.bin", 64 << 20), None, "refusing to unpack tiny-bert/big.bin: the package does not list it"),
    (None, MODEL, f"refusing to unpack tiny-bert/{MODEL}: .* bytes, the package records"),
], ids=["unlisted-64MiB", "listed-but-larger"])
def test_a_packed_member_is_checked_against_the_listing_before_it_is_written(package, tmp_path, extra, grow, message):  # type: ignore[no-untyped-def]
    archive = _repacked(package, tmp_path, extra, grow)
    destination = tmp_path / "out"
    destination.mkdir()
    with pytest.raises(IntegrityError, match=message):
        safe_extract(archive, destination)
    assert list(destination.iterdir()) == []
    cli = npuport("predict", archive, "--text", "hello")
    assert cli.returncode == 4 and message.split(":")[0] in cli.stderr


def test_triton_names_unpack_as_second_names_of_the_packages_files(package, tmp_path):  # type: ignore[no-untyped-def]
    unpacked = safe_extract(package.archive, tmp_path)
    graph = next((unpacked / "triton").glob("*onnx-fp32-dynamic*/1/model.onnx"))
    assert graph.samefile(unpacked / MODEL)
