"""Paths read from a manifest stay inside its directory (issue 15, item 7): `../x/evil.json`, absolute paths, drive
letters and backslashes in any file record — and variant ids, which name files too — are refused when the manifest
is read, with a ManifestError naming the field."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from npuport.core.errors import ManifestError
from npuport.core.manifest import MANIFEST_NAME, Manifest
from npuport.core.paths import relative_path_problem
from npuport.runtime import load

RECORDS = {  # where a file record sits in a manifest → the field named in the error
    "variant": (lambda m: m["variants"][0]["files"][0], r"variants\.0\.files\.0\.path"),
    "tokenizer": (lambda m: m["tokenizer"]["files"][0], r"tokenizer\.files\.0\.path"),
    "golden": (lambda m: m["golden"]["inputs"], r"golden\.inputs\.path"),
}
BAD_PATHS = {
    "../x/evil.json": "'..' points outside the directory",
    "onnx/../../good/model.onnx": "'..' points outside the directory",
    "/etc/passwd": "absolute path",
    "C:/Windows/evil.onnx": "absolute path",
    "c:evil.onnx": "absolute path",
    "onnx\\..\\..\\evil.onnx": "backslash in the path",
    "": "empty path",
    "onnx//model.onnx": "empty or '.' segment",
    "./onnx/model.onnx": "empty or '.' segment",
    "onnx/model\n.onnx": "control character",
}


@pytest.fixture(scope="module")
def manifest_json(converted) -> dict:  # type: ignore[no-untyped-def, type-arg]
    return json.loads((converted("bert").root / MANIFEST_NAME).read_text(encoding="utf-8"))


@pytest.mark.parametrize("where", sorted(RECORDS))
@pytest.mark.parametrize("bad", sorted(BAD_PATHS))
def test_a_path_outside_the_directory_is_refused_when_the_manifest_is_read(manifest_json, tmp_path, where, bad):
    record, field = RECORDS[where]
    raw = json.loads(json.dumps(manifest_json))
    record(raw)["path"] = bad
    (tmp_path / MANIFEST_NAME).write_text(json.dumps(raw), encoding="utf-8")
    with pytest.raises(ManifestError, match=f"is malformed at {field}: .*{BAD_PATHS[bad]}") as info:
        Manifest.load(tmp_path)
    assert "\n" not in str(info.value) and len(str(info.value)) < 400


def test_load_refuses_a_variant_path_into_another_directory(converted, tmp_path):
    """The issue's case: `predict` accepted a variant path `../../good/…onnx` (and verified it there)."""
    good = shutil.copytree(converted("bert").root, tmp_path / "good", ignore=shutil.ignore_patterns("reports"))
    evil = tmp_path / "x" / "evil"
    shutil.copytree(good, evil)
    raw = json.loads((evil / MANIFEST_NAME).read_text(encoding="utf-8"))
    variant = next(v for v in raw["variants"] if v["id"] == "onnx-fp32-dynamic")
    variant["files"][0]["path"] = "../../good/onnx/fp32-dynamic.onnx"
    (evil / MANIFEST_NAME).write_text(json.dumps(raw), encoding="utf-8")
    with pytest.raises(ManifestError, match=r"malformed at variants\.\d+\.files\.0\.path: '\.\./\.\./good/.*' points outside"):
        load(evil, "onnx-fp32-dynamic")


@pytest.mark.parametrize("bad", ["../../evil", "a/b", "", "-rf", "x" * 101])
def test_variant_ids_are_names_not_paths(manifest_json, tmp_path, bad):
    """A variant id names files a package writes (atc/ID.sh, Triton model folders)."""
    raw = json.loads(json.dumps(manifest_json))
    raw["variants"][0]["id"] = bad
    (tmp_path / MANIFEST_NAME).write_text(json.dumps(raw), encoding="utf-8")
    with pytest.raises(ManifestError, match=r"is malformed at variants\.0\.id: String should match pattern"):
        Manifest.load(tmp_path)


@pytest.mark.parametrize(("report", "refused"), [
    ("reports/validation-cpu.json", False), ("/elsewhere/validation-cpu.json", False),
    ("../validation-cpu.json", True), ("/elsewhere/../etc/x.json", True), ("reports\\v.json", True),
])
def test_validation_reports_are_inside_or_absolute(manifest_json, tmp_path, report, refused):
    raw = json.loads(json.dumps(manifest_json))
    raw["validations"] = [{"report": report, "variant": "onnx-fp32-dynamic", "sha256": "0" * 64, "device": "cpu",
                           "profile": "fp32", "passed": True, "created": "2024-01-01T00:00:00Z"}]
    (tmp_path / MANIFEST_NAME).write_text(json.dumps(raw), encoding="utf-8")
    if refused:
        with pytest.raises(ManifestError, match=r"is malformed at validations\.0\.report"):
            Manifest.load(tmp_path)
    else:
        assert Manifest.load(tmp_path).validations[0].report == report


def test_what_convert_writes_is_accepted(converted):
    manifest = Manifest.load(converted("bert").root)
    assert all(relative_path_problem(record.path) is None for record in manifest.all_files())
    assert relative_path_problem("onnx/fp32-static-b1s32.onnx") is None


def test_a_tokenizer_outside_the_directory_is_refused_even_when_its_hash_matches(converted, tmp_path: Path):
    """The hash check alone does not help: the manifest names the file and its sha256, so a path outside whose bytes
    match (a copy of the tokenizer) was accepted and loaded from there."""
    art = shutil.copytree(converted("bert").root, tmp_path / "art", ignore=shutil.ignore_patterns("reports"))
    shutil.move(art / "tokenizer", tmp_path / "outside")
    raw = json.loads((art / MANIFEST_NAME).read_text(encoding="utf-8"))
    for record in raw["tokenizer"]["files"]:
        record["path"] = "../outside/" + record["path"].split("/")[-1]
    (art / MANIFEST_NAME).write_text(json.dumps(raw), encoding="utf-8")
    with pytest.raises(ManifestError, match=r"malformed at tokenizer\.files\.0\.path: '\.\./outside/.*' points outside"):
        load(art)
