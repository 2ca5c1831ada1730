"""The manifest, the contract every stage reads: loading refuses anything it cannot trust with one line naming the
problem; files are checked against their sha256; a variant's digest names its bytes; a verdict holds only for those
bytes on that exact device; sizes count shared files once; save → load is lossless.

Most manifests here are small pydantic objects built in memory (no conversion); the last two tests use real ones."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from npuport.convert.pipeline import convert_model
from npuport.convert.plan import ConvertOptions
from npuport.core.errors import IntegrityError, ManifestError
from npuport.core.manifest import (
    MANIFEST_NAME,
    SCHEMA_VERSION,
    Bucket,
    ExportCheck,
    FileRecord,
    GoldenInfo,
    Manifest,
    Placement,
    Platform,
    SourceInfo,
    TensorSpec,
    TokenizerInfo,
    Validation,
    Variant,
    VariantFile,
)

SMALL = ConvertOptions(formats=("onnx",), precisions=("fp32",), shapes=("dynamic",))
INPUTS = [TensorSpec(name=name, dtype="int64", shape=["batch", "sequence"]) for name in ("input_ids", "attention_mask")]
OUTPUTS = [TensorSpec(name="logits", dtype="float32", shape=["batch", 2])]
CHECK = ExportCheck(texts=4, max_abs_prob_error=0.0, tolerance=1e-5, top1_agreement=1.0)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def written(root: Path, path: str, data: bytes, bucket: Bucket | None = None) -> VariantFile:
    """A file under `root` and its record, as convert writes them."""
    (root / path).parent.mkdir(parents=True, exist_ok=True)
    (root / path).write_bytes(data)
    return VariantFile(path=path, sha256=sha(data), bytes=len(data), bucket=bucket)


def file_of(path: str, data: bytes, bucket: Bucket | None = None) -> VariantFile:
    """A variant's record of a file holding `data`, without writing it (for what only looks at records)."""
    return VariantFile(path=path, sha256=sha(data), bytes=len(data), bucket=bucket)


def plain(path: str, data: bytes) -> FileRecord:
    """The record of a tokenizer or golden file holding `data`."""
    return FileRecord(path=path, sha256=sha(data), bytes=len(data))


def variant(variant_id: str, files: list[VariantFile]) -> Variant:
    fmt, precision, shape = variant_id.split("-")
    buckets = [f.bucket for f in files if f.bucket is not None]
    return Variant(id=variant_id, format=fmt, precision=precision, shape=shape, buckets=buckets, files=files,  # type: ignore[arg-type]
                   inputs=INPUTS, outputs=OUTPUTS, export_check=CHECK)


def small_manifest(variants: list[Variant], validations: list[Validation] | None = None) -> Manifest:
    source = SourceInfo(path="/models/tiny", architecture="BertForSequenceClassification", model_type="bert", num_labels=2,
                        id2label={0: "neg", 1: "pos"}, problem_type="multi_label_classification", threshold=0.5,
                        max_length=64, parameters=1000, weights_sha256=sha(b"weights"),
                        input_names=["input_ids", "attention_mask"])
    tokenizer = TokenizerInfo(class_name="BertTokenizerFast", files=[plain("tokenizer/tokenizer.json", b"{}")])
    golden = GoldenInfo(inputs=plain("golden/inputs.npz", b"ids"), reference=plain("golden/reference.npz", b"logits"),
                        texts=4, seq_len=16)
    return Manifest(source=source, tokenizer=tokenizer, toolchain={"torch": "2.x"}, variants=variants, golden=golden,
                    validations=validations or [])


def validation(v: Variant, device: str, passed: bool, created: str, digest: str | None = None) -> Validation:
    return Validation(report="reports/validation.json", variant=v.id, sha256=digest or v.digest, device=device,
                      profile=v.precision, passed=passed, created=created)


ONNX = variant("onnx-fp32-dynamic", [file_of("onnx/fp32-dynamic.onnx", b"onnx bytes")])


# --- Manifest.load: one clear line for everything it cannot trust ---------------------------------------------------

def _saved(root: Path) -> dict:  # type: ignore[type-arg]
    small_manifest([ONNX]).save(root)
    return json.loads((root / MANIFEST_NAME).read_text(encoding="utf-8"))


def _write(root: Path, content: str | bytes) -> None:
    data = content.encode() if isinstance(content, str) else content
    (root / MANIFEST_NAME).write_bytes(data)


def _edit(change):  # type: ignore[no-untyped-def]
    """Save a valid manifest, then change its JSON object with `change` and write it back."""
    def apply(root: Path) -> None:
        raw = _saved(root)
        change(raw)
        _write(root, json.dumps(raw))

    return apply


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        (lambda root: None, r"no manifest.json in .*: run `npuport convert` first"),
        (lambda root: _write(root, "{broken"), r"manifest.json is not valid JSON"),
        (lambda root: _write(root, b"\xff\xfe{}"), r"manifest.json is not valid JSON"),
        (lambda root: _write(root, "[1, 2]"), r"manifest.json does not hold a manifest object"),
        (lambda root: _write(root, '"1.1"'), r"manifest.json does not hold a manifest object"),
        (_edit(lambda raw: raw.update(schema_version="2.0")), r"has schema_version '2.0'; this npuport reads " + re.escape(SCHEMA_VERSION)),
        (_edit(lambda raw: raw.update(schema_version="0.9")), r"has schema_version '0.9'; this npuport reads " + re.escape(SCHEMA_VERSION)),
        (_edit(lambda raw: raw.pop("schema_version")), r"has schema_version None; this npuport reads " + re.escape(SCHEMA_VERSION)),
        (_edit(lambda raw: raw["variants"][0].update(precision="fp8")), r"is malformed at variants\.0\.precision: "),
        (_edit(lambda raw: raw.pop("source")), r"is malformed at source: Field required"),
        (_edit(lambda raw: raw["variants"][0]["files"][0].update(bytes="many")), r"is malformed at variants\.0\.files\.0\.bytes"),
        (_edit(lambda raw: raw.update(surprise=1)), r"is malformed at surprise: Extra inputs are not permitted"),
    ],
    ids=["missing-file", "invalid-json", "not-utf8", "a-list", "a-string", "major-2", "major-0", "no-version",
         "bad-precision", "missing-section", "bad-type", "unknown-field"],
)
def test_load_refuses_with_one_line_naming_the_problem(tmp_path, setup, message):
    setup(tmp_path)
    with pytest.raises(ManifestError, match=message) as info:
        Manifest.load(tmp_path)
    assert "\n" not in str(info.value)


def test_load_refuses_a_missing_directory_and_a_file(tmp_path):
    with pytest.raises(ManifestError, match=r"nope is not a directory of converted artifacts"):
        Manifest.load(tmp_path / "nope")
    (tmp_path / "file").write_text("x")
    with pytest.raises(ManifestError, match=r"file is not a directory of converted artifacts"):
        Manifest.load(tmp_path / "file")


def test_an_earlier_minor_version_still_loads(tmp_path):
    raw = _saved(tmp_path)
    raw["schema_version"] = "1.0"
    _write(tmp_path, json.dumps(raw))
    assert Manifest.load(tmp_path).schema_version == "1.0"


def test_save_then_load_is_lossless(tmp_path):
    static = variant("onnx-fp32-static", [file_of("onnx/a.onnx", b"a", Bucket(batch=1, seq=32)),
                                          file_of("onnx/b.onnx", b"b", Bucket(batch=4, seq=64))])
    platform = Platform(cpu_class="x86-64-avx2", cpu_features=["avx2"], engine="onnxruntime (CPUExecutionProvider)",
                        versions={"onnxruntime": "1.x"})
    original = small_manifest([ONNX, static], [validation(static, "cpu", True, "2026-01-01T00:00:00+00:00").model_copy(
        update={"platform": platform})])
    path = original.save(tmp_path)
    assert path == tmp_path / MANIFEST_NAME and path.read_text(encoding="utf-8").endswith("}\n")
    loaded = Manifest.load(tmp_path)
    assert loaded == original and loaded.schema_version == SCHEMA_VERSION
    assert loaded.variant("onnx-fp32-static").buckets == [Bucket(batch=1, seq=32), Bucket(batch=4, seq=64)]
    assert loaded.validations[0].where == "x86-64-avx2, onnxruntime (CPUExecutionProvider), onnxruntime 1.x"
    assert list(tmp_path.iterdir()) == [path]  # written atomically: no temporary file left beside it


def test_a_platform_recorded_before_placement_loads_and_one_with_it_says_where_the_nodes_ran():
    before = {"cpu_class": "x86-64-avx2", "cpu_features": ["avx2"], "engine": "onnxruntime (CPUExecutionProvider)",
              "versions": {"onnxruntime": "1.x"}}
    old = Platform.model_validate(before)
    assert (old.precision_mode, old.placement) == (None, []) and old.describe() == "x86-64-avx2, onnxruntime (CPUExecutionProvider), onnxruntime 1.x"
    placed = Placement(file="b1s32.onnx", provider="CANNExecutionProvider", nodes=180, partitions=6, cpu_ops={"LayerNormalization": 5})
    npu = Platform.model_validate(before | {
        "engine": "onnxruntime (CANNExecutionProvider, CPUExecutionProvider)", "precision_mode": "precision_mode=must_keep_origin_dtype",
        "placement": [placed.model_dump(), placed.model_copy(update={"file": "b4s64.onnx"}).model_dump()]})
    assert npu.describe() == ("x86-64-avx2, onnxruntime (CANNExecutionProvider, CPUExecutionProvider), onnxruntime 1.x, "
                              "precision_mode=must_keep_origin_dtype; CANNExecutionProvider ran 180 nodes in 6 partitions; "
                              "on the CPU: LayerNormalization×5 (2 sessions)")
    assert Placement(file="f", provider="CANNExecutionProvider", nodes=9, partitions=1).describe() == (
        "CANNExecutionProvider ran 9 nodes in 1 partition, none on the CPU")


def test_unknown_variants_and_buckets_name_what_exists():
    with pytest.raises(ManifestError, match=r"unknown variant 'onnx-fp16-dynamic'; available: onnx-fp32-dynamic$"):
        small_manifest([ONNX]).variant("onnx-fp16-dynamic")
    with pytest.raises(ManifestError, match=r"unknown variant 'x'; available: none"):
        small_manifest([]).variant("x")
    with pytest.raises(ManifestError, match=r"variant onnx-fp32-dynamic has no file for bucket 1x32"):
        ONNX.file_for(Bucket(batch=1, seq=32))
    assert ONNX.file_for(None) == ONNX.files[0]


# --- FileRecord.verify ----------------------------------------------------------------------------------------------

def test_verify_returns_the_path_of_an_intact_file(tmp_path):
    file = written(tmp_path, "onnx/model.onnx", b"model bytes")
    assert file.verify(tmp_path) == tmp_path / "onnx/model.onnx"
    assert FileRecord.of(tmp_path, tmp_path / "onnx/model.onnx") == FileRecord(path="onnx/model.onnx",
                                                                                sha256=sha(b"model bytes"), bytes=11)


@pytest.mark.parametrize(("change", "message"), [
    (lambda path: path.write_bytes(b"model bytez"), r"onnx/model.onnx does not match the manifest \(sha256 "),
    (lambda path: path.write_bytes(b"model"), r"onnx/model.onnx does not match the manifest .*modified or truncated"),
    (lambda path: path.unlink(), r"onnx/model.onnx is missing from "),
], ids=["tampered", "truncated", "missing"])
def test_verify_refuses_a_changed_or_missing_file(tmp_path, change, message):
    file = written(tmp_path, "onnx/model.onnx", b"model bytes")
    change(tmp_path / file.path)
    with pytest.raises(IntegrityError, match=message) as info:
        file.verify(tmp_path)
    assert "\n" not in str(info.value)


# --- Variant.digest: the identity every record carries --------------------------------------------------------------

def test_digest_of_one_file_is_its_sha256():
    assert ONNX.digest == sha(b"onnx bytes")


def test_digest_of_several_files_ignores_their_order_and_changes_with_any_of_them():
    a, b = file_of("onnx/a.onnx", b"a", Bucket(batch=1, seq=32)), file_of("onnx/b.onnx", b"b", Bucket(batch=4, seq=64))
    digest = variant("onnx-fp32-static", [a, b]).digest
    assert len(digest) == 64 and digest not in (a.sha256, b.sha256)
    assert variant("onnx-fp32-static", [b, a]).digest == digest
    changed = file_of("onnx/b.onnx", b"B", Bucket(batch=4, seq=64))
    assert variant("onnx-fp32-static", [a, changed]).digest != digest
    renamed = file_of("onnx/c.onnx", b"b", Bucket(batch=4, seq=64))  # same bytes under another name: other files
    assert variant("onnx-fp32-static", [a, renamed]).digest != digest


# --- verdicts: these bytes, this exact device, the latest record ----------------------------------------------------

def test_a_verdict_counts_only_for_the_exact_device():
    cuda1 = small_manifest([ONNX], [validation(ONNX, "cuda:1", True, "2026-01-01T00:00:00+00:00")])
    assert cuda1.verdict(ONNX, "cuda:0") is None and cuda1.validations_of(ONNX, "cuda:0") == []
    assert cuda1.verdict(ONNX, "cuda:1") is not None
    assert cuda1.verdict(ONNX, "cuda") is None  # the kind alone is not the device


def test_a_verdict_counts_only_for_the_same_bytes_and_variant():
    other_bytes = validation(ONNX, "cpu", True, "2026-01-01T00:00:00+00:00", digest=sha(b"other bytes"))
    twin = ONNX.model_copy(update={"id": "onnx-fp32-copy"})  # same digest, format and precision, another variant id
    other_variant = validation(twin, "cpu", True, "2026-01-01T00:00:00+00:00")
    assert twin.digest == ONNX.digest
    assert small_manifest([ONNX, twin], [other_bytes, other_variant]).verdict(ONNX, "cpu") is None
    # a variant of another precision pointed at that file (re-hashed) is refused before any verdict is looked up
    with pytest.raises(ValidationError, match="is read by both onnx-fp32-dynamic and onnx-fp16-dynamic"):
        small_manifest([ONNX, variant("onnx-fp16-dynamic", list(ONNX.files))])


def test_the_latest_record_wins():
    first = validation(ONNX, "cpu", True, "2026-01-01T00:00:00+00:00")
    then = validation(ONNX, "cpu", False, "2026-01-02T00:00:00+00:00")
    m = small_manifest([ONNX], [first, then])
    assert m.validations_of(ONNX, "cpu") == [first, then]  # oldest first
    assert m.verdict(ONNX, "cpu") == then and not then.passed
    assert small_manifest([ONNX], [then, first]).verdict(ONNX, "cpu") == first


# --- sizes: a shared file counts once ------------------------------------------------------------------------------

def test_owned_and_load_bytes_count_a_shared_file_once():
    script = file_of("torchscript/fp32-dynamic.pt", b"x" * 100)
    dynamic = variant("torchscript-fp32-dynamic", [script])
    # a static TorchScript variant lists the dynamic file once per bucket
    static = variant("torchscript-fp32-static", [script.model_copy(update={"bucket": Bucket(batch=1, seq=32)}),
                                                 script.model_copy(update={"bucket": Bucket(batch=4, seq=64)})])
    onnx_static = variant("onnx-fp32-static", [file_of("onnx/a.onnx", b"y" * 30, Bucket(batch=1, seq=32)),
                                               file_of("onnx/b.onnx", b"z" * 40, Bucket(batch=4, seq=64))])
    m = small_manifest([dynamic, static, onnx_static])
    assert (m.owned_bytes(dynamic), dynamic.load_bytes) == (100, 100)
    assert (m.owned_bytes(static), static.load_bytes) == (0, 100)  # it ships the file but another variant owns it
    assert (m.owned_bytes(onnx_static), onnx_static.load_bytes) == (70, 70)
    assert [r.path for r in m.all_files()] == ["tokenizer/tokenizer.json", "golden/inputs.npz", "golden/reference.npz",
                                               "torchscript/fp32-dynamic.pt", "onnx/a.onnx", "onnx/b.onnx"]
    # the first variant to list a file owns it
    assert small_manifest([static, dynamic]).owned_bytes(static) == 100


def test_specs_at_a_bucket_fix_the_symbolic_dims():
    inputs, outputs = ONNX.specs_at(Bucket(batch=4, seq=64))
    assert [s.shape for s in inputs] == [[4, 64], [4, 64]] and outputs[0].shape == [4, 2]
    assert ONNX.specs_at(None) == (INPUTS, OUTPUTS)


# --- on real artifacts ----------------------------------------------------------------------------------------------

def test_manifest_round_trip(converted):
    result = converted("distilbert")
    loaded = Manifest.load(result.root)
    assert loaded == result.manifest
    for record in loaded.all_files():
        record.verify(result.root)


def test_tampered_artifact_and_corrupt_manifest_are_detected(tiny_model, tmp_path):
    out = tmp_path / "out"
    manifest = convert_model(tiny_model("bert"), out, SMALL, isolate=False).manifest
    record = manifest.variant("onnx-fp32-dynamic").files[0]
    with open(out / record.path, "r+b") as handle:
        handle.seek(100)
        handle.write(b"\x13\x37")
    with pytest.raises(IntegrityError, match="does not match the manifest"):
        record.verify(out)
    with pytest.raises(ManifestError, match="unknown variant 'onnx-fp64-dynamic'; available: onnx-fp32-dynamic"):
        manifest.variant("onnx-fp64-dynamic")
    (out / "manifest.json").write_text("{broken")
    with pytest.raises(ManifestError, match="not valid JSON"):
        Manifest.load(out)
    (out / "manifest.json").write_text(json.dumps({"schema_version": "9.0"}))
    with pytest.raises(ManifestError, match="schema_version '9.0'"):
        Manifest.load(out)
