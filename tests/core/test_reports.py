"""Record keeping (npuport.core.reports): where reports live, which earlier records still describe the current files, and reading reports
back as caches that are never trusted when damaged."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta

import pytest

from npuport.core.clock import utc_now
from npuport.core.manifest import ExportCheck, TensorSpec, Validation, Variant, VariantFile
from npuport.core.reports.bench import read_bench
from npuport.core.reports.evaluation import EvalReport, read_eval
from npuport.core.reports.keep import read_json_list, still_current
from npuport.core.reports.paths import (
    EVAL_FILE,
    bench_devices,
    bench_path,
    device_slug,
    doctor_stem,
    report_page,
    tradeoff_plot,
    validation_paths,
)
from npuport.core.sizes import megabytes


def variant(variant_id: str, content: bytes) -> Variant:
    fmt, precision, shape = variant_id.split("-")
    file = VariantFile(path=f"{fmt}/{precision}-{shape}", sha256=hashlib.sha256(content).hexdigest(), bytes=len(content))
    return Variant(id=variant_id, format=fmt, precision=precision, shape=shape, files=[file],  # type: ignore[arg-type]
                   inputs=[TensorSpec(name="input_ids", dtype="int64", shape=["batch", "sequence"])],
                   outputs=[TensorSpec(name="logits", dtype="float32", shape=["batch", 2])],
                   export_check=ExportCheck(texts=1, max_abs_prob_error=0.0, tolerance=1e-5, top1_agreement=1.0))


FP32, INT8 = variant("onnx-fp32-dynamic", b"fp32"), variant("onnx-int8-dynamic", b"int8")


# --- still_current: the one rule for keeping earlier records --------------------------------------------------------

def test_still_current_keeps_dicts_for_unchanged_files_in_order():
    records = [
        {"variant": INT8.id, "sha256": INT8.digest, "batch_size": 1},
        {"variant": FP32.id, "sha256": "0" * 64, "batch_size": 1},  # measured on other bytes
        {"variant": "onnx-fp16-dynamic", "sha256": FP32.digest, "batch_size": 1},  # a variant no longer built
        {"variant": FP32.id, "sha256": FP32.digest, "batch_size": 4},
        {"batch_size": 8},  # names no variant at all
    ]
    assert still_current(records, [FP32, INT8]) == [records[0], records[3]]
    assert still_current(records, []) == [] and still_current([], [FP32]) == []


def test_still_current_reads_models_the_same_way():
    def record(v: Variant, digest: str) -> Validation:
        return Validation(report="reports/validation-cpu.json", variant=v.id, sha256=digest, device="cpu",
                          profile=v.precision, passed=True, created="2026-01-01T00:00:00+00:00")

    current, stale = record(INT8, INT8.digest), record(FP32, "f" * 64)
    assert still_current([stale, current], [FP32, INT8]) == [current]
    changed = variant("onnx-int8-dynamic", b"int8, requantized")
    assert still_current([current], [changed]) == []


# --- read_json_list: a report is a cache ----------------------------------------------------------------------------

@pytest.mark.parametrize("content", [None, b"{truncated", b"\xff\xfe not utf-8", b"[1, 2]", b'"text"', b'{"other": []}',
                                     b'{"records": {"a": 1}}', b'{"records": null}'],
                         ids=["absent", "corrupt", "not-utf8", "a-list", "a-string", "no-key", "not-a-list", "null"])
def test_read_json_list_is_empty_for_anything_unreadable(tmp_path, content):
    path = tmp_path / "bench-cpu.json"
    if content is not None:
        path.write_bytes(content)
    assert read_json_list(path, "records") == []


def test_read_json_list_keeps_only_the_objects(tmp_path):
    path = tmp_path / "bench-cpu.json"
    path.write_text(json.dumps({"records": [{"variant": "a"}, 3, "x", None, {"variant": "b"}]}), encoding="utf-8")
    assert read_json_list(path, "records") == [{"variant": "a"}, {"variant": "b"}]


def test_read_bench_counts_what_is_not_a_bench_record(tmp_path):
    assert read_bench(tmp_path, "cpu") is None  # never benchmarked
    path = bench_path(tmp_path, "cpu")
    path.parent.mkdir()
    path.write_bytes(b"{truncated")
    damaged = read_bench(tmp_path, "cpu")
    assert damaged is not None and damaged.error and damaged.records == []
    path.write_text(json.dumps({"records": [{"variant": FP32.id, "sha256": FP32.digest}, 3]}), encoding="utf-8")
    partial = read_bench(tmp_path, "cpu")
    assert partial is not None and partial.error is None and partial.records == [] and partial.unusable == 2


# --- the reports/ layout ------------------------------------------------------------------------------------------

def test_device_slug_and_report_paths(tmp_path):
    assert device_slug("cuda:0") == "cuda-0" and device_slug("cpu") == "cpu" and device_slug("npu:1") == "npu-1"
    assert validation_paths(tmp_path / "reports", "cuda:1") == (tmp_path / "reports" / "validation-cuda-1.json",
                                                                 tmp_path / "reports" / "validation-cuda-1.md")
    assert validation_paths(tmp_path, "cpu") == (tmp_path / "validation-cpu.json", tmp_path / "validation-cpu.md")
    assert bench_path(tmp_path, "npu:0") == tmp_path / "reports" / "bench-npu-0.json"
    assert bench_path(str(tmp_path), "cpu") == tmp_path / "reports" / "bench-cpu.json"  # type: ignore[arg-type]
    assert doctor_stem(tmp_path, "onnx-fp16-dynamic", "npu:0") == tmp_path / "reports" / "doctor-onnx-fp16-dynamic-npu-0"
    assert report_page(tmp_path, "html") == tmp_path / "reports" / "report.html"
    assert tradeoff_plot(tmp_path) == tmp_path / "reports" / "tradeoff.png"


def test_bench_devices_lists_the_cpu_first_then_by_name(tmp_path):
    assert bench_devices(tmp_path) == []  # no reports/ at all
    for device in ("npu:1", "cuda:0", "cpu", "cuda:1"):
        path = bench_path(tmp_path, device)
        path.parent.mkdir(exist_ok=True)
        path.write_text("{}", encoding="utf-8")
    (tmp_path / "reports" / "validation-cpu.json").write_text("{}", encoding="utf-8")  # not a bench file
    assert bench_devices(tmp_path) == ["cpu", "cuda:0", "cuda:1", "npu:1"]


# --- eval.json read back --------------------------------------------------------------------------------------------

def _eval_report(**changes: object) -> EvalReport:
    report = EvalReport(created="2026-01-01T00:00:00+00:00", artifacts="/art", data={"source": "bundled", "sha256": "d"},
                        threshold="0.5", device="cpu", reference={"variant": "eager-fp32", "kind": "eager", "why": ""},
                        records=[])
    return report.model_copy(update=changes)


def test_load_eval_reads_a_report_back_and_ignores_an_unusable_one(tmp_path):
    assert read_eval(tmp_path) is None  # absent
    path = tmp_path / EVAL_FILE
    path.parent.mkdir()
    path.write_text(_eval_report().model_dump_json(), encoding="utf-8")
    assert read_eval(tmp_path) == _eval_report()
    assert _eval_report().context() == ("d", "0.5", "cpu", "eager-fp32")
    path.write_text(_eval_report(schema_version=2).model_dump_json(), encoding="utf-8")
    assert read_eval(tmp_path) is None  # another schema
    path.write_text('{"schema_version": 1}', encoding="utf-8")
    assert read_eval(tmp_path) is None  # fields missing
    path.write_bytes(b"{truncated")
    assert read_eval(tmp_path) is None


# --- timestamps and sizes -------------------------------------------------------------------------------------------

def test_timestamps_are_utc_to_the_second_and_sizes_in_megabytes():
    stamp = datetime.fromisoformat(utc_now())
    assert stamp.utcoffset() == timedelta(0) and stamp.microsecond == 0 and utc_now().endswith("+00:00")
    assert megabytes(1_234_567) == "1.2 MB" and megabytes(2_500_000_000) == "2,500.0 MB"
