"""What `load` trusts (issue 15, items 5 and 6): in a package, the manifest only as far as SHA256SUMS vouches for it;
in any artifacts directory, no tokenizer file the manifest does not list. Each file is hashed once."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path

import pytest
from cli_runner import npuport  # type: ignore[import-not-found]

from npuport.core import files as core_files
from npuport.core.errors import IntegrityError
from npuport.package.bundle import build_package
from npuport.runtime import load
from npuport.validate.gate import validate_artifacts

VARIANT = "onnx-fp32-dynamic"
TEXTS = ["I am so happy today!", "This is the worst day of my life."]


@pytest.fixture(scope="module")
def package(converted, tmp_path_factory) -> Path:  # type: ignore[no-untyped-def]
    """A package of the tiny bert's onnx-fp32-dynamic (validated on the CPU), as a directory; read-only."""
    root = shutil.copytree(converted("bert").root, tmp_path_factory.mktemp("trust") / "bert",
                           ignore=shutil.ignore_patterns("reports"))
    assert validate_artifacts(root, variants=[VARIANT]).passed
    return build_package(root, tmp_path_factory.mktemp("trust-dist") / "tiny-bert", archive=False).directory


def _edit_manifest(directory: Path, edit) -> None:  # type: ignore[no-untyped-def]
    manifest = json.loads((directory / "manifest.json").read_text(encoding="utf-8"))
    edit(manifest)
    (directory / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")


def test_load_refuses_a_package_whose_manifest_was_edited(package, tmp_path):  # type: ignore[no-untyped-def]
    """Item 5: `"threshold": 0.5` → 0.9 in a package's manifest changed predictions silently while verify refused."""
    copy = shutil.copytree(package, tmp_path / "pkg")
    with load(copy) as classifier:
        assert classifier.predict(TEXTS)  # the untouched package loads
    _edit_manifest(copy, lambda m: m["source"].update(threshold=0.9))
    with pytest.raises(IntegrityError, match="^manifest.json does not match SHA256SUMS: the package was modified"):
        load(copy)
    cli = npuport("predict", copy, "--text", TEXTS[0])
    assert cli.returncode == 4 and "error: manifest.json does not match SHA256SUMS: the package was modified" in cli.stderr


def test_load_checks_the_files_it_reads_against_sha256sums_too(package, tmp_path):  # type: ignore[no-untyped-def]
    copy = shutil.copytree(package, tmp_path / "pkg")
    sums = copy / "SHA256SUMS"
    lines = sums.read_text().splitlines()
    sums.write_text("\n".join(line for line in lines if not line.endswith("  golden/inputs.npz")) + "\n")
    with pytest.raises(IntegrityError, match="^golden/inputs.npz is in .* but not listed in SHA256SUMS"):
        load(copy)
    model = "onnx/fp32-dynamic.onnx"
    sums.write_text("\n".join("0" * 64 + "  " + model if line.endswith("  " + model) else line for line in lines) + "\n")
    with pytest.raises(IntegrityError, match=f"^SHA256SUMS and the manifest disagree on {model}"):
        load(copy)
    sums.write_text("not a sums line\n")
    with pytest.raises(IntegrityError, match=r"SHA256SUMS:1 is malformed"):
        load(copy)
    sums.unlink()  # a manifest that says "package" without its sums is not trusted either
    with pytest.raises(IntegrityError, match="is a package .* without its SHA256SUMS"):
        load(copy)


def test_load_of_a_package_hashes_each_file_it_reads_once(package, monkeypatch):  # type: ignore[no-untyped-def]
    """SHA256SUMS and the manifest's records are compared on one hash: a 500 MB model is read once, not twice."""
    calls: Counter[str] = Counter()
    real = core_files.sha256_file

    def counting(path: Path) -> str:
        calls[Path(path).relative_to(package).as_posix()] += 1
        return real(path)

    for module in ("npuport.core.manifest", "npuport.core.sums"):
        monkeypatch.setattr(f"{module}.sha256_file", counting)
    with load(package, VARIANT):
        pass
    assert calls and max(calls.values()) == 1, calls
    assert {"manifest.json", "onnx/fp32-dynamic.onnx", "tokenizer/tokenizer.json", "golden/inputs.npz"} <= set(calls)
    assert not any(rel.startswith(("reports/", "README")) for rel in calls)  # what load never reads is verify's


@pytest.mark.parametrize("name", ["added_tokens.json", "special_tokens_map.json", "vocab.txt"])
def test_an_unlisted_tokenizer_file_is_refused(converted, tmp_path, name):  # type: ignore[no-untyped-def]
    """Item 6: adding tokenizer/added_tokens.json changed answers while `npuport manifest` said all hashes OK."""
    root = shutil.copytree(converted("bert").root, tmp_path / "art", ignore=shutil.ignore_patterns("reports"))
    extra = {"added_tokens.json": {"happy": 5}, "special_tokens_map.json": {"pad_token": "[UNK]"}}.get(name)
    (root / "tokenizer" / name).write_text(json.dumps(extra) if extra else "[PAD]\nhappy\n", encoding="utf-8")
    message = f"tokenizer/{name} is in the tokenizer folder but not in the manifest"
    with pytest.raises(IntegrityError, match=f"^{message}") as info:
        load(root)
    assert "\n" not in str(info.value)
    cli = npuport("manifest", root)
    assert cli.returncode == 4 and f"error: {message}" in cli.stderr
    (root / "tokenizer" / name).unlink()
    with load(root) as classifier:
        assert classifier.predict(TEXTS[:1])
