"""`npuport predict` as a user runs it: a real subprocess, JSON lines, tables, one-line errors with exit codes."""

from __future__ import annotations

import json
import shutil
import subprocess

import onnxruntime
import pytest
import torch
from cli_runner import npuport  # type: ignore[import-not-found]

from npuport.core.corpus import ZH_LABELS


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return npuport("predict", *args)


def test_json_lines_one_per_text(structbert_artifacts):
    texts = ["今天天气真好，心情非常愉快！", "我失去了最好的朋友，太难过了。"]
    result = run(structbert_artifacts, "--text", texts[0], "-t", texts[1], "--top-k", "3", "--threshold", "0.1", "--json")
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["text"] for line in lines] == texts
    for line in lines:
        assert list(line["scores"]) == ZH_LABELS and len(line["top"]) == 3
        assert line["labels"] == [label for label, score in line["top"] if score >= 0.1]
        assert line["tokens"] == line["original_tokens"] and line["truncated"] is False


def test_table_names_variant_device_and_labels(structbert_artifacts):
    result = run(structbert_artifacts, "--text", "今天天气真好，心情非常愉快！", "--variant", "torchscript-fp16-static", "--threshold", "0")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("torchscript-fp16-static on cpu via torch (cpu); asked for by name")
    assert all(label in result.stdout for label in ZH_LABELS)
    assert "✓" in result.stdout and "predicted: " in result.stdout


def test_file_input_counts_truncated_texts(structbert_artifacts, tmp_path):
    jsonl = tmp_path / "texts.jsonl"
    jsonl.write_text("\n".join(json.dumps({"text": t}, ensure_ascii=False) for t in ["好", "开心" * 200]) + "\n", encoding="utf-8")
    table = run(structbert_artifacts, "--file", str(jsonl), "--top-k", "2")
    assert table.returncode == 0, table.stderr
    assert "onnx-fp32-dynamic on cpu via onnxruntime (CPUExecutionProvider); default for cpu" in table.stdout
    assert "1 of 2 texts were longer than 256 tokens and truncated" in table.stdout
    txt = tmp_path / "texts.txt"
    txt.write_text("好\n开心\n", encoding="utf-8")
    lines = run(structbert_artifacts, "-f", str(txt), "--json").stdout.splitlines()
    assert [json.loads(line)["text"] for line in lines] == ["好", "开心"]


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--variant", "onnx-fp64-dynamic", "-t", "x"], 4, "error: unknown variant 'onnx-fp64-dynamic'; available: "),
        (["-t", "x", "--threshold", "joyful=0.3"], 7, "error: threshold for unknown label(s) 'joyful'"),
        (["-t", "x", "--threshold", "high"], 7, "error: bad --threshold 'high'"),
        (["-t", " "], 7, "error: text 0 is empty"),
        ([], 7, "error: nothing to classify"),
        (["-f", "{tmp}/missing.txt"], 7, "error: {tmp}/missing.txt: no such file"),
        (["-f", "{tmp}/latin1.txt"], 7, "error: {tmp}/latin1.txt is not UTF-8 text"),
        (["-f", "{tmp}/blank.txt"], 7, "error: {tmp}/blank.txt:2: empty line"),
        pytest.param(["--device", "cuda", "--variant", "torchscript-fp16-dynamic", "-t", "x"], 6,
                     "error: --device cuda is unavailable",
                     marks=pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")),
        pytest.param(["--device", "npu", "-t", "x"], 6,  # the default on npu: static fp16 ONNX (core.targets)
                     "error: --device npu:0 with ONNX Runtime needs CANNExecutionProvider, which this onnxruntime lacks",
                     marks=pytest.mark.skipif("CANNExecutionProvider" in onnxruntime.get_available_providers(),
                                              reason="this onnxruntime has the CANN provider")),
    ],
)
def test_errors_are_one_line_with_exit_codes(structbert_artifacts, tmp_path, args, code, message):
    (tmp_path / "latin1.txt").write_bytes("café\n".encode("latin-1"))
    (tmp_path / "blank.txt").write_bytes(b"one\n\nthree\n")
    result = run(structbert_artifacts, *(a.replace("{tmp}", str(tmp_path)) for a in args))
    assert result.returncode == code, result.stderr
    assert result.stderr.startswith(message.replace("{tmp}", str(tmp_path)))
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert result.stdout == ""


def test_tampered_artifacts_are_refused(converted, tmp_path):
    root = shutil.copytree(converted("structbert").root, tmp_path / "art")
    (root / "onnx/fp32-dynamic.onnx").write_bytes(b"tampered")
    result = run(str(root), "-t", "x")
    assert result.returncode == 4
    assert result.stderr.startswith("error: onnx/fp32-dynamic.onnx does not match the manifest")
