"""A Triton Inference Server model repository for packaged variants (config.pbtxt + versioned model file).

Dynamic variants get dynamic batching up to the largest bucket batch; a static variant gets one model per
bucket with its fixed dims (max_batch_size 0: Triton cannot batch a fixed-batch graph). The configs are
checked against tritonclient's ModelConfig schema in the tests; no Triton server runs them here.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from npuport.core.manifest import Bucket, Manifest, TensorSpec, Variant

TRITON_DIR = "triton"
_DTYPES = {"int64": "TYPE_INT64", "int32": "TYPE_INT32", "float32": "TYPE_FP32", "float16": "TYPE_FP16",
           "bfloat16": "TYPE_BF16"}
_KIND = {"cpu": "KIND_CPU", "cuda": "KIND_GPU"}  # Triton has no Ascend backend: no instance_group for npu


def model_name(model: str, variant: Variant, bucket: Bucket | None) -> str:
    name = f"{model}__{variant.id}" + (f"__{bucket.label}" if bucket is not None else "")
    return name.replace("-", "_")


def config_pbtxt(name: str, manifest: Manifest, variant: Variant, bucket: Bucket | None, device: str, max_batch: int) -> str:
    inputs, outputs = variant.specs_at(bucket)
    libtorch = variant.format == "torchscript"
    lines = [f'name: "{name}"', f'platform: "{"pytorch_libtorch" if libtorch else "onnxruntime_onnx"}"',
             f"max_batch_size: {0 if bucket is not None else max_batch}"]
    # libtorch binds tensors by position: the documented NAME__INDEX convention keeps that explicit.
    lines += _tensors("input", inputs, libtorch, batched=bucket is None)
    lines += _tensors("output", outputs, libtorch, batched=bucket is None, labels=True)
    if bucket is None:
        preferred = sorted({b.batch for b in variant.buckets or _buckets(manifest)} | {max_batch})
        lines += ["dynamic_batching {", f"  preferred_batch_size: [ {', '.join(map(str, preferred))} ]",
                  "  max_queue_delay_microseconds: 2000", "}"]
    kind = _KIND.get(device.split(":")[0])
    if kind:
        lines += ["instance_group [", "  {", "    count: 1", f"    kind: {kind}", "  }", "]"]
    return "\n".join(lines) + "\n"


def _tensors(section: str, specs: list[TensorSpec], libtorch: bool, batched: bool, labels: bool = False) -> list[str]:
    lines = [f"{section} ["]
    for index, spec in enumerate(specs):
        name = f"{spec.name}__{index}" if libtorch else spec.name
        dims = spec.shape[1:] if batched else spec.shape
        shown = ", ".join(str(d) if isinstance(d, int) else "-1" for d in dims)
        lines += ["  {", f'    name: "{name}"', f"    data_type: {_DTYPES[spec.dtype]}", f"    dims: [ {shown} ]"]
        if labels:
            lines.append('    label_filename: "labels.txt"')
        lines.append("  }," if index < len(specs) - 1 else "  }")
    return lines + ["]"]


def _buckets(manifest: Manifest) -> list[Bucket]:
    return [b for v in manifest.variants for b in v.buckets]


def write_repository(package: Path, manifest: Manifest, model: str, device: str) -> list[Path]:
    """Write `triton/` under `package`; returns the model directories. Model files are copies (no links)."""
    max_batch = max((b.batch for b in _buckets(manifest)), default=16)
    written = []
    for variant in manifest.variants:
        for record in variant.files if variant.shape == "static" else [variant.files[0]]:
            bucket = record.bucket if variant.shape == "static" else None
            name = model_name(model, variant, bucket)
            directory = package / TRITON_DIR / name
            (directory / "1").mkdir(parents=True)
            suffix = "model.pt" if variant.format == "torchscript" else "model.onnx"
            shutil.copyfile(package / record.path, directory / "1" / suffix)
            (directory / "config.pbtxt").write_text(config_pbtxt(name, manifest, variant, bucket, device, max_batch), encoding="utf-8")
            (directory / "labels.txt").write_text("\n".join(manifest.source.labels) + "\n", encoding="utf-8")
            written.append(directory)
    return written
