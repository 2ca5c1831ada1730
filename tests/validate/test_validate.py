"""npuport validate: profiles, reports, manifest records — and variants that must fail do fail, naming the check
(the command line: tests/cli/test_validate_cli.py)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import onnx
import pytest
from cli_runner import npuport  # type: ignore[import-not-found]
from onnx import numpy_helper

from npuport.core.buckets import BucketPolicy, Chunk, parse_buckets
from npuport.core.devices import cpu_class
from npuport.core.errors import InputError
from npuport.core.files import sha256_file
from npuport.core.manifest import Bucket, Manifest, VariantFile
from npuport.validate.gate import validate_artifacts
from npuport.validate.profiles import DEFAULT_PROFILES, resolve_profiles
from npuport.validate.validator import MIN_TEXTS_PER_BUCKET, assign_to_buckets


def copy_artifacts(converted, tmp: Path, arch: str = "bert") -> Path:  # type: ignore[no-untyped-def]
    root = tmp / arch
    shutil.copytree(converted(arch).root, root)
    return root


def perturb_classifier(root: Path, variant_id: str, change) -> None:  # type: ignore[no-untyped-def]
    """Rewrite the classifier weight of an ONNX variant (as a faulty exporter would) and re-record its hash,
    so the file is consistent with the manifest and only its numbers are wrong."""
    manifest = Manifest.load(root)
    variant = manifest.variant(variant_id)
    record = variant.files[0]
    path = root / record.path
    model = onnx.load(str(path))
    labels = manifest.source.num_labels
    target = next(t for t in model.graph.initializer if labels in t.dims and len(t.dims) == 2)
    weight = numpy_helper.to_array(target).copy()
    target.CopyFrom(numpy_helper.from_array(change(weight).astype(weight.dtype), target.name))
    onnx.save(model, str(path))
    fixed = VariantFile(path=record.path, sha256=sha256_file(path), bytes=path.stat().st_size, bucket=record.bucket)
    variants = [v.model_copy(update={"files": [fixed]}) if v.id == variant_id else v for v in manifest.variants]
    manifest.model_copy(update={"variants": variants}).save(root)


@pytest.fixture(scope="module")
def validated(converted, tmp_path_factory):  # type: ignore[no-untyped-def]
    """A copy of the tiny bert artifacts, every variant validated on the CPU."""
    root = copy_artifacts(converted, tmp_path_factory.mktemp("validated"))
    run = validate_artifacts(root)
    return root, run


def test_every_variant_of_a_faithful_export_passes(validated):  # type: ignore[no-untyped-def]
    root, run = validated
    assert run.passed, [(r.variant, r.failures) for r in run.results]
    manifest = Manifest.load(root)
    assert {r.variant for r in run.results} == {v.id for v in manifest.variants}
    for result in run.results:
        variant = manifest.variant(result.variant)
        assert result.profile.name == variant.precision
        assert result.end_to_end.nan_count == 0 and result.end_to_end.texts >= manifest.golden.texts
        if variant.precision == "fp32":
            assert result.end_to_end.max_abs_error <= 1e-5
    records = {(v.variant, v.device): v for v in manifest.validations}
    assert all(records[(v.id, "cpu")].passed and records[(v.id, "cpu")].sha256 == v.digest for v in manifest.variants)


def test_static_variants_are_checked_in_every_bucket(validated):  # type: ignore[no-untyped-def]
    _, run = validated
    static = next(r for r in run.results if r.variant == "onnx-fp32-static")
    assert [b["bucket"] for b in static.buckets] == ["1x32", "4x64", "16x64"]
    assert all(b["texts"] > 0 for b in static.buckets)
    assert static.end_to_end.texts == sum(b["texts"] for b in static.buckets)


def test_static_buckets_are_checked_as_the_runtime_pads_them():
    lengths = np.array([10 + 4 * i for i in range(12)] + [70 + 7 * i for i in range(8)])  # 12 fit 64 tokens, 8 do not
    buckets = parse_buckets("1x64,1x128,16x128")
    calls = assign_to_buckets(lengths, buckets)
    assigned = {str(b): np.concatenate(batches).tolist() for b, batches in calls}
    assert assigned["1x64"] == list(range(12)) and assigned["1x128"] == list(range(12, 20))  # each served alone
    assert len(assigned["16x128"]) == MIN_TEXTS_PER_BUCKET  # reached only by a batch: topped up with one
    policy = BucketPolicy(buckets)
    for bucket, batches in calls:
        for batch in batches:  # each call padded to the bucket the runtime plans for that batch
            assert policy.plan(len(batch), int(lengths[batch].max())) == [Chunk(0, len(batch), bucket)]


def test_a_bucket_the_runtime_never_uses_for_these_texts_is_left_thin():
    lengths = np.array([10, 20, 30, 40])  # all fit 1x64: the runtime pads none of them alone to 1x128
    calls = dict(assign_to_buckets(lengths, parse_buckets("1x64,1x128")))
    assert [len(b) for b in calls[Bucket(batch=1, seq=64)]] == [1, 1, 1, 1] and calls[Bucket(batch=1, seq=128)] == []


def test_reports_are_written_and_honest_about_what_they_test(validated):  # type: ignore[no-untyped-def]
    root, run = validated
    document = json.loads(run.json_report.read_text())
    assert document["device"] == "cpu" and document["passed"] is True
    entry = next(e for e in document["variants"] if e["variant"] == "onnx-fp16-dynamic")
    assert {"probabilities", "logits"} <= set(entry["end_to_end"])
    assert any("computes them in fp32" in note for note in entry["caveats"])
    assert entry["sha256"] == Manifest.load(root).variant("onnx-fp16-dynamic").digest
    markdown = run.markdown_report.read_text()
    assert "| onnx-int8-dynamic | PASS |" in markdown and "cosine mean" in markdown and "top-1" in markdown
    assert run.markdown_report.parent == root / "reports"
    here = cpu_class().name
    assert entry["platform"]["cpu_class"] == here and f"Computed on: {here}" in markdown


def test_every_verdict_records_the_cpu_class_engine_and_versions(validated):  # type: ignore[no-untyped-def]
    root, _ = validated
    for record in Manifest.load(root).validations:
        platform = record.platform
        assert platform is not None and platform.cpu_class == cpu_class().name
        library = "onnxruntime" if record.variant.startswith("onnx") else "torch"
        assert set(platform.versions) == {library} and platform.engine.startswith(library)
        if library == "onnxruntime":
            assert platform.engine == "onnxruntime (CPUExecutionProvider)"


def test_a_perturbed_variant_fails_naming_the_check(converted, tmp_path):  # type: ignore[no-untyped-def]
    root = copy_artifacts(converted, tmp_path)
    perturb_classifier(root, "onnx-fp32-dynamic", lambda w: w * 1.05)
    run = validate_artifacts(root, variants=["onnx-fp32-dynamic", "onnx-fp32-static"])
    failed, untouched = run.results
    assert not run.passed and not failed.passed and untouched.passed
    assert any(f.startswith("max abs error") and "limit <= 1e-05" in f for f in failed.failures), failed.failures
    record = next(v for v in Manifest.load(root).validations if v.variant == "onnx-fp32-dynamic")
    assert record.passed is False
    assert "## Failures" in run.markdown_report.read_text()


def test_nan_output_fails_whatever_the_profile(converted, tmp_path):  # type: ignore[no-untyped-def]
    root = copy_artifacts(converted, tmp_path)
    perturb_classifier(root, "onnx-fp16-dynamic", lambda w: np.full_like(w, np.nan))
    loose = resolve_profiles(overrides=[f"fp16.{name}=none" for name in
                                        ("min_top1", "min_topk", "max_abs_error", "max_error_rate", "min_cosine", "max_real_flip_rate")])
    (result,) = validate_artifacts(root, variants=["onnx-fp16-dynamic"], profiles=loose).results
    assert result.end_to_end.nan_count > 0
    assert not result.passed and [c.name for c in result.checks] == ["finite outputs"]
    assert result.failures[0].startswith("finite outputs")


def test_profiles_resolve_overrides_and_refuse_nonsense(tmp_path):
    file = tmp_path / "profiles.json"
    file.write_text(json.dumps({"fp16": {"max_abs_error": 0.005}}))
    profiles = resolve_profiles(file, ["int8.min_top1=0.99", "bf16.max_error_rate=off"])
    assert profiles["fp16"].max_abs_error == 0.005 and profiles["int8"].min_top1 == 0.99
    assert profiles["bf16"].max_error_rate is None and profiles["fp32"] == DEFAULT_PROFILES["fp32"]
    for bad, message in [("fp16.nope=1", "unknown profile field"), ("fp8.atol=1", "unknown precision"),
                         ("fp16.atol=x", "not a number"), ("fp16", "expected PRECISION.FIELD=VALUE"),
                         ("fp16.atol=none", "cannot be switched off"),
                         # limits no variant can meet: refused before anything runs (issue 22)
                         ("fp32.max_abs_error=nan", "must be a number from 0 to inf"), ("fp32.max_abs_error=-1", "from 0"),
                         ("fp32.min_cosine=2", "from -1 to 1"), ("fp32.min_cosine=inf", "from -1 to 1"),
                         ("int8.min_top1=1.01", "from 0 to 1"), ("int8.top_k=2.5", "a whole number")]:
        with pytest.raises(InputError, match=message):
            resolve_profiles(overrides=[bad])
    file.write_text('{"fp32": {"max_abs_error": NaN}}')
    with pytest.raises(InputError, match="must be a number from 0"):
        resolve_profiles(file)
    file.write_text("{not json")
    with pytest.raises(InputError, match="not valid JSON"):
        resolve_profiles(file)


@pytest.mark.parametrize(("device", "missing"), [("npu", "torch_npu"), ("cuda", "--device cuda is unavailable")])
def test_an_absent_accelerator_is_an_error_not_a_cpu_run(validated, device, missing):  # type: ignore[no-untyped-def]
    root, _ = validated
    result = npuport("validate", str(root), "--device", device, "--variants", "torchscript-fp32-dynamic")
    assert result.returncode == 6 and "error:" in result.stderr and missing in result.stderr
    assert not any(v.device.startswith(device) for v in Manifest.load(root).validations)
