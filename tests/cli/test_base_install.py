"""Without the `convert` extra (torch, transformers hidden in the CLI's own process), asking for TorchScript or a
conversion is one `error: …` line naming `pip install 'npuport[convert]'`, exit 6; `verify` of a package that holds
TorchScript checks every file, replays the ONNX variants and names the rest (exit 9). (That ONNX needs neither:
tests/runtime/test_startup.py; `make test-runtime` runs a package in a real venv without torch: .ci/base_install.py.)"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from cli_runner import cli_env  # type: ignore[import-not-found]

from npuport.package.bundle import build_package
from npuport.validate.gate import validate_artifacts

MIXED = ["onnx-fp32-dynamic", "torchscript-fp32-dynamic"]
WITHOUT_TORCH = """
import sys
sys.modules.update(torch=None, transformers=None)
from npuport.cli import app
app(sys.argv[1:], prog_name="npuport")
"""


def torch_free(*args: str | Path) -> subprocess.CompletedProcess[str]:
    """`npuport ARGS…` in a process where torch and transformers cannot be imported."""
    return subprocess.run([sys.executable, "-c", WITHOUT_TORCH, *map(str, args)], capture_output=True, text=True,
                          timeout=120, env=cli_env())


@pytest.fixture(scope="module")
def mixed_package(converted, tmp_path_factory):  # type: ignore[no-untyped-def]
    """A package of the tiny structbert's ONNX and TorchScript fp32 variants, as `npuport package` ships by default."""
    root = Path(shutil.copytree(converted("structbert").root, tmp_path_factory.mktemp("mixed") / "structbert"))
    assert validate_artifacts(root, variants=MIXED).passed
    return build_package(root, root.parent / "dist" / "structbert", archive=False).directory


def test_torchscript_and_convert_without_the_convert_extra_name_it(structbert_artifacts, tiny_model, tmp_path):
    # one process for both commands: torch and transformers are hidden inside it, so not npuport()
    commands = [["predict", structbert_artifacts, "--text", "你好", "--variant", "torchscript-fp32-dynamic"],
                ["convert", str(tiny_model("structbert")), "-o", str(tmp_path / "out")]]
    code = f"""
import sys
sys.modules.update(torch=None, transformers=None)
from npuport.cli import app
for args in {commands!r}:
    try:
        app(args, prog_name="npuport")
    except SystemExit as exc:
        print("exit", exc.code, flush=True)
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=cli_env())
    assert result.stderr.splitlines() == [
        "error: torchscript:fp32-dynamic.pt@cpu needs torch, not installed here: pip install 'npuport[convert]'",
        "error: this command needs transformers, not installed here: pip install 'npuport[convert]'",
    ]
    assert result.stdout.splitlines() == ["exit 6", "exit 6"]
    assert not (tmp_path / "out").exists()


def test_verify_without_torch_checks_every_file_and_names_what_it_could_not_replay(mixed_package):  # type: ignore[no-untyped-def]
    needs_torch = "needs torch, not installed here: pip install 'npuport[convert]'"
    whole = torch_free("verify", mixed_package)
    assert whole.returncode == 9, whole.stdout + whole.stderr
    assert "hashes OK: " in whole.stdout and "onnx-fp32-dynamic │ PASS" in whole.stdout
    assert any(line.startswith("NOT REPLAYED torchscript-fp32-dynamic: ") and line.endswith(needs_torch)
               for line in whole.stdout.splitlines()), whole.stdout
    assert whole.stderr.splitlines() == [
        "error: 1 variant(s) not replayed on cpu: torchscript-fp32-dynamic; every file matched and the replayed ones "
        "passed; --variants onnx-fp32-dynamic verifies only those"]
    report = torch_free("verify", mixed_package, "--json")
    answer = json.loads(report.stdout)
    assert report.returncode == 9 and answer["passed"] is False
    assert [v["variant"] for v in answer["variants"]] == ["onnx-fp32-dynamic"] and answer["variants"][0]["passed"]
    assert [n["variant"] for n in answer["not_replayed"]] == ["torchscript-fp32-dynamic"]
    assert answer["not_replayed"][0]["reason"].endswith(needs_torch)
    narrowed = torch_free("verify", mixed_package, "--variants", "onnx-fp32-dynamic")
    assert narrowed.returncode == 0 and "NOT REPLAYED" not in narrowed.stdout, narrowed.stdout + narrowed.stderr
    nothing = torch_free("verify", mixed_package, "--variants", "torchscript-fp32-dynamic")
    assert nothing.returncode == 6 and len(nothing.stderr.splitlines()) == 1 and needs_torch in nothing.stderr
    unknown = torch_free("verify", mixed_package, "--variants", "onnx-fp32-dynamic,onnx-fp64")
    assert unknown.returncode == 4 and unknown.stderr.startswith("error: unknown variant 'onnx-fp64'")
    assert len(unknown.stderr.splitlines()) == 1


def test_verify_without_torch_still_hashes_the_files_it_cannot_run(mixed_package, tmp_path):  # type: ignore[no-untyped-def]
    copy = Path(shutil.copytree(mixed_package, tmp_path / "package"))
    torchscript = next(copy.glob("torchscript/*.pt"))
    data = bytearray(torchscript.read_bytes())
    data[len(data) // 2] ^= 0xFF
    torchscript.write_bytes(bytes(data))
    tampered = torch_free("verify", copy)
    assert tampered.returncode == 4 and torchscript.name in tampered.stderr, tampered.stdout + tampered.stderr
