"""`npuport bench` as a user runs it: JSON records, the table rendered from them, a bad option as one error line."""

from __future__ import annotations

import json
from pathlib import Path

from cli_runner import npuport  # type: ignore[import-not-found]
from rich.console import Console

from npuport.cli.render import bench_table
from npuport.core.reports.bench import BenchDocument


def test_cli_json_and_table(bert_copy: Path):
    args = ["bench", str(bert_copy), "--variants", "onnx-fp32-dynamic",
            "--batch-sizes", "2", "--max-batches", "2", "--threads", "1", "--warmup", "1", "--json"]
    result = npuport(*args, timeout=300)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert [(r["variant"], r["batch_size"]) for r in data["records"]] == [("onnx-fp32-dynamic", 2)]
    console = Console(width=240, record=True)
    console.print(bench_table(BenchDocument.model_validate(data)))  # the JSON reads back as the typed document
    text = console.export_text()
    assert "onnx-fp32-dynamic" in text and "transformers eager fp32 (sdpa)" in text and "not validated" in text
    bad = npuport(*args[:2], "--batch-sizes", "1,x", timeout=300)
    assert bad.returncode == 7 and bad.stderr.startswith("error: bad --batch-sizes '1,x'")
