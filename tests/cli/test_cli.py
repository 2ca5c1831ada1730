"""The CLI as a user runs it: a real subprocess, exit codes, one-line errors, JSON output."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from cli_runner import npuport  # type: ignore[import-not-found]


def test_help_does_not_import_heavy_libraries():
    # an import check, not a command: what `import npuport.cli` alone loads, seen from inside that process
    code = "import sys, npuport.cli; print(sorted(m for m in ('torch', 'onnxruntime', 'transformers', 'onnx') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
    assert npuport("--help").returncode == 0


def test_version_prints_the_installed_version():
    from importlib.metadata import version

    cli = npuport("--version")
    assert cli.returncode == 0 and cli.stdout.strip() == f"npuport {version('npuport')}"


def test_inspect_json(tiny_model):
    result = npuport("inspect", str(tiny_model("structbert")), "--json")
    assert result.returncode == 0, result.stderr
    info = json.loads(result.stdout)
    assert info["model_type"] == "structbert" and info["activation"] == "sigmoid"
    assert info["id2label"]["0"] == "恐惧" and len(info["id2label"]) == 7


def test_inspect_table(tiny_model):
    result = npuport("inspect", str(tiny_model("roberta")))
    assert result.returncode == 0 and "RobertaForSequenceClassification" in result.stdout and "admiration" in result.stdout


def test_convert_then_manifest(tiny_model, tmp_path):
    out = tmp_path / "art"
    result = npuport("convert", str(tiny_model("bert")), "-o", str(out), "--formats", "onnx", "--precisions", "fp32",
                     "--buckets", "1x16,2x32", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert {v["id"] for v in data["manifest"]["variants"]} == {"onnx-fp32-dynamic", "onnx-fp32-static"}
    assert data["peak_rss_mb"] > 0
    listed = npuport("manifest", str(out))
    assert listed.returncode == 0 and "all hashes OK" in listed.stdout and "onnx-fp32-static" in listed.stdout
    (out / "onnx/fp32-dynamic.onnx").write_bytes(b"tampered")
    tampered = npuport("manifest", str(out))
    assert tampered.returncode == 4
    assert tampered.stderr.startswith("error: onnx/fp32-dynamic.onnx does not match the manifest")


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["inspect", "/nonexistent/model"], 2, "error: model directory /nonexistent/model does not exist"),
        (["convert", "/nonexistent/model", "-o", "x"], 2, "error: model directory /nonexistent/model does not exist"),
        (["manifest", "/nonexistent/art"], 4, "error: /nonexistent/art is not a directory of converted artifacts"),
        (["zoo", "build", "no-such-model"], 2, "error: unknown zoo model 'no-such-model'"),
    ],
)
def test_errors_are_one_line_with_exit_codes(args, code, message):
    result = npuport(*args)
    assert result.returncode == code
    assert result.stderr.startswith(message)
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr


def test_config_without_labels_and_impossible_bucket(tiny_model, tmp_path):
    import shutil

    model_dir = shutil.copytree(tiny_model("bert"), tmp_path / "m")
    bucket = npuport("convert", str(model_dir), "-o", str(tmp_path / "o"), "--buckets", "1x9999")
    assert bucket.returncode == 5 and bucket.stderr.startswith("error: impossible bucket 1x9999")
    config = json.loads((model_dir / "config.json").read_text())
    del config["id2label"], config["label2id"]
    (model_dir / "config.json").write_text(json.dumps(config))
    labels = npuport("convert", str(model_dir), "-o", str(tmp_path / "o"))
    assert labels.returncode == 2 and "has no id2label" in labels.stderr
    assert not (tmp_path / "o" / "manifest.json").exists()
