"""Convert's failure modes: one-line errors, nothing half-written, re-runs safe."""

from __future__ import annotations

import errno
import os
import re
import shlex
import shutil
import subprocess

import pytest

from npuport.convert.pipeline import convert_model
from npuport.convert.plan import ConvertOptions
from npuport.core.buckets import parse_buckets
from npuport.core.errors import BucketError, ConversionError, InputError, NpuportError
from npuport.core.manifest import Manifest

SMALL = ConvertOptions(formats=("onnx",), precisions=("fp32",), shapes=("dynamic",))


def test_impossible_bucket_is_refused_before_any_work(tiny_model, tmp_path):
    options = ConvertOptions(buckets=tuple(parse_buckets("1x64,1x1024")))
    with pytest.raises(BucketError, match="impossible bucket 1x1024: the model accepts at most 256 tokens"):
        convert_model(tiny_model("bert"), tmp_path / "out", options, isolate=False)
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


@pytest.mark.parametrize("spec", ["1x", "0x64", "ax64", "16*128", ""])
def test_malformed_buckets(spec):
    with pytest.raises(BucketError):
        parse_buckets(spec)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"formats": ("tflite",)}, "unknown format"),
        ({"precisions": ("fp8",)}, "unknown precision"),
        ({"formats": ("torchscript",), "precisions": ("int8",)}, "int8 is ONNX-only"),
        ({"formats": ("torchscript",), "precisions": ("fp32", "int8")}, "int8 is ONNX-only"),
        ({"formats": ("onnx",), "precisions": ("bf16",)}, "bf16 is TorchScript-only: ONNX Runtime's CPU provider has no bfloat16 kernels"),
        ({"formats": ("onnx",), "precisions": ("fp32", "bf16")}, "add torchscript to --formats or drop bf16"),
        ({"opset": 9}, "opset 9 unsupported"),
        ({"fuse": "maybe"}, "--fuse must be one of"),
    ],
)
def test_bad_options(kwargs, message):
    from npuport.convert.plan import plan_variants

    with pytest.raises(InputError, match=message):  # an option error, exit 7 (issue 25), not a failed export
        plan_variants(ConvertOptions(**kwargs))


def test_crash_mid_export_keeps_the_previous_artifacts_intact(tiny_model, tmp_path, monkeypatch):
    out = tmp_path / "out"
    first = convert_model(tiny_model("bert"), out, SMALL, isolate=False).manifest

    import npuport.convert.onnx as onnx_writer

    def explode(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("simulated crash in the middle of an export")

    monkeypatch.setattr(onnx_writer, "fuse_transformer", explode)
    with pytest.raises(RuntimeError, match="simulated crash"):
        convert_model(tiny_model("bert"), out, SMALL, isolate=False)
    assert Manifest.load(out) == first
    for record in first.all_files():
        record.verify(out)
    assert not (out / ".staging").exists()
    assert not list(out.rglob("*.tmp"))


def test_full_disk_leaves_no_partial_file_and_no_manifest(tiny_model, tmp_path, monkeypatch):
    """ENOSPC injected at the rename into place (the only boundary mocked: a real full disk is not made here)."""
    import npuport.core.files as fsutil

    real_replace = os.replace

    def full_disk(src, dst):  # type: ignore[no-untyped-def]
        if str(dst).endswith(".onnx"):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_replace(src, dst)

    monkeypatch.setattr(fsutil.os, "replace", full_disk)
    out = tmp_path / "out"
    with pytest.raises(NpuportError, match="disk full while writing .*fp32-dynamic"):
        convert_model(tiny_model("bert"), out, SMALL, isolate=False)
    assert not (out / "manifest.json").exists()
    assert not [p for p in out.rglob("*") if p.is_file()]


def test_rerun_is_safe_and_prunes_variants_no_longer_built(tiny_model, tmp_path):
    out = tmp_path / "out"
    convert_model(tiny_model("distilbert"), out, ConvertOptions(formats=("onnx",), precisions=("fp32", "int8"), shapes=("dynamic",)), isolate=False)
    assert (out / "onnx/int8-dynamic.onnx").exists()
    again = convert_model(tiny_model("distilbert"), out, SMALL, isolate=False).manifest
    assert [v.id for v in again.variants] == ["onnx-fp32-dynamic"]
    assert not (out / "onnx/int8-dynamic.onnx").exists()
    for record in again.all_files():
        record.verify(out)


def test_refuses_to_write_into_a_foreign_non_empty_directory(tiny_model, tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("precious")
    with pytest.raises(ConversionError, match="non-empty directory without an npuport manifest"):
        convert_model(tiny_model("bert"), out, SMALL, isolate=False)
    assert (out / "notes.txt").read_text() == "precious"


def test_isolated_workers_convert_and_report_errors_in_one_line(tiny_model, tmp_path):
    """The child-process path (used by the CLI): results, peak memory, and a worker's error surfacing cleanly."""
    result = convert_model(tiny_model("roberta"), tmp_path / "ok", ConvertOptions(formats=("onnx",), precisions=("fp16",), shapes=("dynamic",)))
    assert [v.id for v in result.manifest.variants] == ["onnx-fp16-dynamic"]
    assert [s.step for s in result.steps] == ["onnx-export", "onnx-fuse", "onnx-fp16"]
    assert all(s.peak_rss_mb > 0 for s in result.steps)
    assert not (tmp_path / "ok/onnx/fp32-dynamic.onnx").exists()  # built only to derive fp16 from

    broken = shutil.copytree(tiny_model("roberta"), tmp_path / "broken")
    (broken / "model.safetensors").write_bytes(b"\x00" * 64)  # only the worker reads the weights
    with pytest.raises(ConversionError, match="cannot read weights model.safetensors") as info:
        convert_model(broken, tmp_path / "bad", SMALL)
    assert "\n" not in str(info.value)
    assert not (tmp_path / "bad/manifest.json").exists()


def test_a_real_full_disk_during_int8_is_named(tiny_model, tmp_path):
    """Issue 22: with 1,600 KiB free, ONNX Runtime's quantizer wrote its shape-inferred copy of fp32-dynamic.onnx
    cut short (onnx checks no write) and convert died with 'google.protobuf.message.DecodeError'. A real tmpfs of
    1400 KiB (fp32 fits, the copy does not: 1300-1500 KiB here) in a private mount namespace (unshare -rm), nothing
    mocked; skipped where it cannot mount."""
    from cli_runner import NPUPORT, cli_env  # type: ignore[import-not-found]

    disk = tmp_path / "disk"
    disk.mkdir()
    probe = subprocess.run(["unshare", "-rm", "mount", "-t", "tmpfs", "-o", "size=1400k", "tmpfs", str(disk)],
                           capture_output=True, text=True) if shutil.which("unshare") else None
    if probe is None or probe.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs in a private namespace here: {probe.stderr.strip() if probe else 'no unshare'}")
    convert = " ".join(shlex.quote(str(a)) for a in (*NPUPORT, "convert", tiny_model("bert"), "-o", disk / "out",
                                                     "--formats", "onnx", "--precisions", "int8", "--shapes", "dynamic"))
    script = f"mount -t tmpfs -o size=1400k tmpfs {shlex.quote(str(disk))} && {convert}; code=$?; find {shlex.quote(str(disk))} -type f; exit $code"
    cli = subprocess.run(["unshare", "-rm", "sh", "-c", script], capture_output=True, text=True, timeout=300, env=cli_env())
    error = [line for line in cli.stderr.splitlines() if line.startswith("error:")]
    assert cli.returncode == 3 and len(error) == 1, cli.stderr
    assert re.search(r"disk full while writing .*int8-dynamic.onnx: ONNX Runtime's quantizer wrote a copy of "
                     r"fp32-dynamic.onnx that was cut short \([\d,]+ KiB free in .*\); nothing was left behind", error[0]), error
    assert cli.stdout.strip() == "", f"files left on the full disk: {cli.stdout}"
