"""`npuport eval` as a user runs it: JSON on stdout, the table, an unknown label in the data as one error line."""

from __future__ import annotations

import json
import subprocess

from cli_runner import npuport  # type: ignore[import-not-found]

from npuport.core.manifest import Manifest
from npuport.evaluate.accuracy import EAGER_ID


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return npuport(*args, timeout=300)


def test_cli_json_and_one_line_error_for_an_unknown_label(bert_copy, tmp_path):
    data = tmp_path / "labelled.jsonl"
    data.write_text('{"text": "I am so happy today!", "labels": ["joy"]}\n'
                    '{"text": "Thank you so much!", "labels": ["gratitude"]}\n', encoding="utf-8")
    result = _cli("eval", str(bert_copy), "--data", str(data), "--variants", "onnx-int8-dynamic", "--json")
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert payload["data"]["source"] == str(data) and payload["data"]["texts"] == 2
    assert [r["variant"] for r in payload["records"]] == [EAGER_ID, "onnx-int8-dynamic"]
    table = _cli("eval", str(bert_copy), "--data", str(data), "--variants", "onnx-int8-dynamic")
    assert table.returncode == 0 and "onnx-int8-dynamic" in table.stdout and "subset accuracy" in table.stdout

    data.write_text('{"text": "fine", "labels": ["joy"]}\n{"text": "odd", "labels": ["hapiness"]}\n', encoding="utf-8")
    bad = _cli("eval", str(bert_copy), "--data", str(data))
    assert bad.returncode == 7
    assert bad.stderr.strip() == f"error: {data} line 2: unknown label 'hapiness'; the model's labels: " + ", ".join(
        Manifest.load(bert_copy).source.labels)
