"""The bench library on a tiny model's artifacts: record structure, the JSON report, merging, the baseline
(the `npuport bench` command: tests/cli/test_bench_cli.py).

Very few calls; no timing is asserted (speed is measured by benchmarks/bench.py, not tested).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from npuport.bench import BenchOptions, bench_artifacts
from npuport.bench import benchmark as bench_run
from npuport.bench.baseline import HandWrittenBaseline
from npuport.bench.benchmark import batches_of, corpus_texts
from npuport.core.corpus import load_corpus
from npuport.core.devices import Device, cpu_class
from npuport.core.errors import InputError, ManifestError
from npuport.core.manifest import Manifest, Validation
from npuport.core.reports.paths import bench_path
from npuport.model.source import load_source

QUICK = {"batch_sizes": (1, 4), "max_batches": 2, "warmup": 1, "threads": 1}
VARIANTS = ("onnx-fp32-dynamic", "onnx-int8-dynamic", "torchscript-fp32-static")


@pytest.fixture(autouse=True)
def no_pause(monkeypatch: pytest.MonkeyPatch) -> None:
    """The pause that lets thread pools settle between timed passes only matters for real measurements."""
    monkeypatch.setattr(bench_run, "PAUSE_S", 0.0)


def test_records_and_json_report(bert_copy: Path):
    manifest = Manifest.load(bert_copy)
    passed = Validation(report="reports/validation-cpu.json", variant="onnx-int8-dynamic",
                        sha256=manifest.variant("onnx-int8-dynamic").digest, device="cpu", profile="int8", passed=True,
                        created="2026-01-01T00:00:00+00:00")
    stale = passed.model_copy(update={"variant": "onnx-fp32-dynamic", "sha256": "0" * 64})
    manifest.model_copy(update={"validations": [passed, stale]}).save(bert_copy)

    run = bench_artifacts(bert_copy, BenchOptions(variants=VARIANTS, **QUICK))

    assert run.path == bert_copy / "reports" / "bench-cpu.json"
    document = json.loads(run.path.read_text(encoding="utf-8"))
    assert document["schema"] == "npuport.bench/1" and document["device"] == "cpu"
    assert document["host"]["threads"] == 1 and len(document["host"]["loadavg_start"]) == 3
    assert document["texts"] == {"source": "bundled corpus (en)", "count": len(load_corpus("en")),
                                 "order": "file order, consecutive batches"}
    baseline = document["baseline"]
    assert baseline["loaded_by"].startswith("AutoModelForSequenceClassification")
    assert baseline["first_call"]["load_s"] > 0 and baseline["memory"]["method"] in ("peak-rss-delta", "rss-delta")
    records = document["records"]
    assert [(r["variant"], r["batch_size"]) for r in records] == [(v, b) for v in VARIANTS for b in (1, 4)]
    for record in records:
        variant = manifest.variant(record["variant"])
        assert record["sha256"] == variant.digest and record["precision"] == variant.precision
        assert record["calls"] == 2 and record["texts"] == 2 * record["batch_size"]
        assert record["latency"]["calls"] == record["baseline"]["latency"]["calls"] == 2
        latency = record["latency"]
        assert 0 < latency["min_ms"] <= latency["p50_ms"] <= latency["p90_ms"] <= latency["p99_ms"] <= latency["max_ms"]
        assert record["throughput"] == pytest.approx(record["texts"] / latency["total_s"])
        assert record["speedup"]["throughput"] == pytest.approx(
            record["baseline"]["latency"]["total_s"] / latency["total_s"])
        assert record["speedup"]["p50"] == pytest.approx(record["baseline"]["latency"]["p50_ms"] / latency["p50_ms"])
        first = record["first_call"]
        assert first["verify_s"] > 0 and first["load_s"] > 0 and first["first_predict_s"] > 0
        assert record["memory"]["mib"] >= 0 and record["threads"] == 1
        assert record["spinning"]["onnxruntime"] is False and record["cpu_class"] == cpu_class().name  # what it ran under
        assert record["text_source"] == "bundled corpus (en)" and len(record["loadavg_1min"]) == 2
        assert record["engine"].startswith("onnxruntime" if variant.format == "onnx" else "torch")
    verdicts = {r["variant"]: r["parity"] for r in records}
    assert verdicts["onnx-int8-dynamic"]["verdict"] == "passed" and verdicts["onnx-int8-dynamic"]["profile"] == "int8"
    assert verdicts["onnx-fp32-dynamic"]["verdict"] == "not validated"  # its only validation names other files
    assert verdicts["torchscript-fp32-static"]["verdict"] == "not validated"
    assert [r.model_dump() for r in run.records] == records


def test_later_runs_keep_unchanged_records_and_drop_stale_ones(bert_copy: Path):
    bench_artifacts(bert_copy, BenchOptions(variants=("onnx-fp32-dynamic", "onnx-int8-dynamic"), **QUICK))
    path = bench_path(bert_copy, "cpu")
    document = json.loads(path.read_text(encoding="utf-8"))
    document["records"][0]["sha256"] = "f" * 64  # onnx-fp32-dynamic bs 1 now describes other files
    path.write_text(json.dumps(document), encoding="utf-8")
    bench_artifacts(bert_copy, BenchOptions(variants=("onnx-int8-dynamic",), **QUICK | {"batch_sizes": (4,)}))
    records = json.loads(path.read_text(encoding="utf-8"))["records"]
    assert [(r["variant"], r["batch_size"]) for r in records] == [
        ("onnx-fp32-dynamic", 4), ("onnx-int8-dynamic", 1), ("onnx-int8-dynamic", 4)]


def test_bad_options_and_names_are_one_line_errors(bert_copy: Path):
    with pytest.raises(InputError, match="batch sizes must be positive"):
        BenchOptions(batch_sizes=(0,))
    with pytest.raises(InputError, match="threads must be at least 1"):
        BenchOptions(threads=0)
    with pytest.raises(ManifestError, match="unknown variant 'onnx-fp64'"):
        bench_artifacts(bert_copy, BenchOptions(variants=("onnx-fp64",), **QUICK))


def test_baseline_is_the_source_model(tiny_model):
    """The hand-written baseline (here the ModelScope StructBERT fallback) computes what the source model computes."""
    directory = tiny_model("structbert")
    source = load_source(directory)
    baseline = HandWrittenBaseline(directory, Device("cpu"), 128, "sigmoid", 0.5, source.info.labels)
    baseline.load()
    assert "ModelScope" in baseline.loaded_by and baseline.attn_implementation == "sdpa"
    texts = [e.text for e in load_corpus("zh")[:5]]
    encoded = source.tokenizer(texts, return_tensors="pt", padding=True)
    with torch.inference_mode():
        want = torch.sigmoid(source.model(**encoded).logits).numpy()
    got = baseline.probabilities(texts)
    assert np.abs(got - want).max() < 1e-5
    decisions = baseline.predict(texts)
    assert decisions == [{label: float(p) for label, p in zip(source.info.labels, row) if p > 0.5} for row in got]


def test_batches_and_texts():
    assert batches_of(["a", "b", "c", "d", "e"], 2, None) == [["a", "b"], ["c", "d"], ["e"]]
    assert batches_of(["a", "b", "c", "d", "e"], 2, 2) == [["a", "b"], ["c", "d"]]
    texts, where = corpus_texts(["x", "y"])
    assert where == "bundled corpus (zh+en)" and len(texts) == len(load_corpus("zh")) + len(load_corpus("en"))
