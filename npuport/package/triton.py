"""A Triton Inference Server model repository (`triton/`) for a package, holding no copy of a model file.

- `<model>`: a Python-backend model that takes texts and returns scores and labels, with npuport's runtime and
  tokenizer inside (`triton_model.py`, copied as its model.py): it loads the package's own variant, so a Triton
  user sends text, not token ids. Runs on any Triton with the Python backend (tested on pytriton's tritonserver).
- `<model>__<variant>[__<bucket>]`: onnxruntime / libtorch models on token ids. Dynamic variants get dynamic
  batching up to the largest bucket batch; a static variant gets one model per bucket with its fixed dims
  (max_batch_size 0: Triton cannot batch a fixed-batch graph). Each config's `default_model_filename` points at
  the package's own file (`../../../onnx/…`, relative to the empty version folder), so the repository costs a few
  kilobytes, not a second copy of the weights (packages hold no links: `core/archive.py`). The configs are checked
  against tritonclient's ModelConfig schema in the tests; no native backend runs them here.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from npuport.core.manifest import Bucket, Manifest, TensorSpec, Variant, VariantFile

TRITON_DIR = "triton"
PYTHON_MODEL = Path(__file__).with_name("triton_model.py")
_DTYPES = {"int64": "TYPE_INT64", "int32": "TYPE_INT32", "float32": "TYPE_FP32", "float16": "TYPE_FP16",
           "bfloat16": "TYPE_BF16"}
_KIND = {"cpu": "KIND_CPU", "cuda": "KIND_GPU"}  # Triton has no Ascend backend: no instance_group for npu
_QUEUE_DELAY = "  max_queue_delay_microseconds: 2000"


def model_name(model: str, variant: Variant | None = None, bucket: Bucket | None = None) -> str:
    """The text model's name (`variant` None), or a native model's."""
    name = model + (f"__{variant.id}" if variant is not None else "") + (f"__{bucket.label}" if bucket is not None else "")
    return name.replace("-", "_")


def config_pbtxt(name: str, manifest: Manifest, variant: Variant, bucket: Bucket | None, device: str, max_batch: int,
                 record: VariantFile) -> str:
    inputs, outputs = variant.specs_at(bucket)
    libtorch = variant.format == "torchscript"
    lines = [f'name: "{name}"', f'platform: "{"pytorch_libtorch" if libtorch else "onnxruntime_onnx"}"',
             f"max_batch_size: {0 if bucket is not None else max_batch}",
             f'default_model_filename: "../../../{record.path}"']
    # libtorch binds tensors by position: the documented NAME__INDEX convention keeps that explicit.
    lines += _tensors("input", inputs, libtorch, batched=bucket is None)
    lines += _tensors("output", outputs, libtorch, batched=bucket is None, labels=True)
    if bucket is None:
        preferred = sorted({b.batch for b in variant.buckets or _buckets(manifest)} | {max_batch})
        lines += ["dynamic_batching {", f"  preferred_batch_size: [ {', '.join(map(str, preferred))} ]", _QUEUE_DELAY, "}"]
    kind = _KIND.get(device.split(":")[0])
    if kind:
        lines += _instances(kind)
    return "\n".join(lines) + "\n"


def text_config_pbtxt(name: str, manifest: Manifest, device: str, max_batch: int) -> str:
    """The Python model: TEXT in, SCORES and LABELS out; npuport runs it on `device` (the stub is a CPU process:
    Triton has no Ascend kind, and npuport, not Triton, places the model on a GPU or NPU)."""
    lines = [f'name: "{name}"', 'backend: "python"', f"max_batch_size: {max_batch}",
             "input [", "  {", '    name: "TEXT"', "    data_type: TYPE_STRING", "    dims: [ 1 ]", "  }", "]",
             "output [", "  {", '    name: "SCORES"', "    data_type: TYPE_FP32", f"    dims: [ {manifest.source.num_labels} ]",
             '    label_filename: "labels.txt"', "  },", "  {", '    name: "LABELS"', "    data_type: TYPE_STRING",
             "    dims: [ 1 ]", "  }", "]", "dynamic_batching {", _QUEUE_DELAY, "}"]
    lines += _instances("KIND_CPU")
    for key, value in (("variant", ""), ("device", device)):
        lines += ["parameters {", f'  key: "{key}"', f'  value: {{ string_value: "{value}" }}', "}"]
    return "\n".join(lines) + "\n"


def _instances(kind: str) -> list[str]:
    return ["instance_group [", "  {", "    count: 1", f"    kind: {kind}", "  }", "]"]


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
    """Write `triton/` under `package` (the text model first); returns the model directories."""
    max_batch = max((b.batch for b in _buckets(manifest)), default=16)
    labels = "\n".join(manifest.source.labels) + "\n"
    name = model_name(model)
    text_model = _model_directory(package, name, labels, text_config_pbtxt(name, manifest, device, max_batch))
    shutil.copyfile(PYTHON_MODEL, text_model / "1" / "model.py")
    written = [text_model]
    for variant in (v for v in manifest.variants if v.format != "torchexport"):  # .pt2: only the text model serves it
        for record in variant.files if variant.shape == "static" else [variant.files[0]]:
            bucket = record.bucket if variant.shape == "static" else None
            name = model_name(model, variant, bucket)
            config = config_pbtxt(name, manifest, variant, bucket, device, max_batch, record)
            written.append(_model_directory(package, name, labels, config))
    return written


def _model_directory(package: Path, name: str, labels: str, config: str) -> Path:
    directory = package / TRITON_DIR / name
    (directory / "1").mkdir(parents=True)  # Triton finds versions by their folders, even with the file elsewhere
    (directory / "config.pbtxt").write_text(config, encoding="utf-8")
    (directory / "labels.txt").write_text(labels, encoding="utf-8")
    return directory


def readme_lines(manifest: Manifest, model: str, device: str) -> list[str]:
    """The package README's Triton section: which model needs which backend, and how to start it."""
    text = model_name(model)
    native = sorted({"onnxruntime" if v.format == "onnx" else "pytorch (libtorch)" for v in manifest.variants})
    lines = ["", "## Triton Inference Server", "",
             f"`triton/` is a model repository. `{text}` takes texts (TEXT, BYTES) and returns SCORES (FP32, every",
             "label) and LABELS (BYTES, the decided labels as a JSON array): the **Python backend** runs npuport's runtime,",
             "tokenizer included, on this package's files. The other models take token ids and need the",
             f"**{' and '.join(native)}** backend(s): one per dynamic variant (dynamic batching), one per bucket of a",
             "static variant; their configs point at the files in this package (`default_model_filename`), nothing is copied.",
             "", "The Python backend's stub takes its interpreter from the first `python3` on PATH (or a packed",
             "environment named by `EXECUTION_ENV_PATH` in the config); that environment needs `pip install npuport`",
             "(with the engine of the variant) and the numpy major version the stub was built with (numpy<2 for",
             "nvidia-pytriton 0.7's stub):", "", "```bash",
             f"PATH=/path/to/env/bin:$PATH tritonserver --model-repository=$PWD/triton --model-control-mode=explicit --load-model={text}",
             "```"]
    if device.startswith("npu"):
        lines += ["", "Triton has no Ascend backend: on an NPU machine the Python model runs npuport on the NPU, or serve",
                  "with `npuport serve`."]
    return lines
