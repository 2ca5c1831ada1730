"""A Triton Inference Server model repository (`triton/`) for a package, that works wherever it is mounted.

Every model folder holds the files it loads: Triton reads a model folder and nothing outside it (from an object
store it downloads each model folder on its own; a `-v triton:/models` mount shows nothing beside it).
- `<model>`: the package's name, as `npuport serve` names it. A Python-backend model with serve's v2 tensors (TEXT in,
  SCORES and LABELS out) that runs npuport's runtime, tokenizer included, on `<model>/1/<model>/`: a package of its
  own (manifest, variant files, tokenizer, golden data, its SHA256SUMS), which `npuport verify` checks there too.
- `<model>__<variant>[__<bucket>]`: onnxruntime / libtorch models on token ids, `1/model.onnx` (with the external-data
  file its graph names beside it) or `1/model.pt`: one per dynamic variant, one per bucket of a static variant.
Each of those files is a hard link to the package's own copy, so the repository costs directory entries, not bytes, on
disk and in the .tar.gz (`core/archive.py`); a copy of `triton/` alone (cp -r, docker COPY, an object-store upload)
holds real files and is complete.

Configs are ModelConfig messages of tritonclient's own schema (`tritonclient.grpc.model_config_pb2`), written in
protobuf's text format. Batched models leave `preferred_batch_size` unset: Triton then forms batches up to
max_batch_size within the queue delay (a preferred size of 1 would send every batch of 2-15 waiting requests as 1).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from npuport.core.devices import Device
from npuport.core.errors import BackendUnavailableError
from npuport.core.manifest import MANIFEST_NAME, Bucket, Manifest, TensorSpec, Variant, VariantFile
from npuport.core.sums import write_sums
from npuport.runtime.loader import choose_variant

TRITON_DIR = "triton"
PYTHON_MODEL = Path(__file__).with_name("triton_model.py")
LABELS_TXT = "labels.txt"
VERSION = "1"
MAX_BATCH = 16  # without buckets: serve's default batch
QUEUE_DELAY_US = 2000  # how long the batcher waits for requests to join a batch (serve's wait for static buckets)
# https://github.com/triton-inference-server/common/blob/main/protobuf/model_config.proto (DataType)
_DTYPES = {"int64": "TYPE_INT64", "int32": "TYPE_INT32", "float32": "TYPE_FP32", "float16": "TYPE_FP16",
           "bfloat16": "TYPE_BF16"}
_KIND = {"cpu": "KIND_CPU", "cuda": "KIND_GPU"}  # Triton has no Ascend kind: no instance_group for npu
# The backends' default file names: https://github.com/triton-inference-server/onnxruntime_backend (model.onnx),
# https://github.com/triton-inference-server/pytorch_backend (model.pt)
_MODEL_FILE = {"onnx": "model.onnx", "torchscript": "model.pt"}


def model_name(model: str, variant: Variant | None = None, bucket: Bucket | None = None) -> str:
    """The text model's name (`variant` None): the package's, as `npuport serve` names it; or a token-id model's."""
    return model + (f"__{variant.id}" if variant is not None else "") + (f"__{bucket.label}" if bucket is not None else "")


def batch_limit(manifest: Manifest) -> int:
    """Texts per batch Triton may form: the largest bucket batch, as `npuport serve` batches."""
    return max((b.batch for v in manifest.variants for b in v.buckets), default=MAX_BATCH)


def _schema() -> tuple[Any, Any]:
    """tritonclient's ModelConfig schema and protobuf's text format, or what to install."""
    try:
        from google.protobuf import text_format
        from tritonclient.grpc import model_config_pb2
    except (ImportError, RuntimeError):  # tritonclient.grpc raises RuntimeError when grpcio is missing
        raise BackendUnavailableError("package --triton needs tritonclient (its model config schema), not installed here: "
                                      "pip install 'npuport[triton]'") from None
    return model_config_pb2, text_format


def text_config(name: str, manifest: Manifest, device: Device, max_batch: int) -> Any:
    """The Python model (https://github.com/triton-inference-server/python_backend): TEXT in, SCORES and LABELS out,
    batched (Triton's batcher hands model.py every request it grouped: one predict for all of them). npuport runs on
    `device` the variant `npuport serve` would pick there (the `variant` parameter; edit it to run another); the stub
    is a CPU process (Triton has no Ascend kind, and npuport, not Triton, places the model)."""
    schema, _ = _schema()
    config = schema.ModelConfig(name=name, backend="python", max_batch_size=max_batch)
    config.input.add(name="TEXT", data_type=schema.TYPE_STRING, dims=[1])
    config.output.add(name="SCORES", data_type=schema.TYPE_FP32, dims=[manifest.source.num_labels], label_filename=LABELS_TXT)
    config.output.add(name="LABELS", data_type=schema.TYPE_STRING, dims=[1])
    config.dynamic_batching.max_queue_delay_microseconds = QUEUE_DELAY_US
    config.instance_group.add(count=1, kind=schema.ModelInstanceGroup.KIND_CPU)
    variant, _ = choose_variant(manifest, None, device)
    for key, value in (("variant", variant.id), ("device", str(device))):
        config.parameters[key].string_value = value
    return config


def token_config(name: str, manifest: Manifest, variant: Variant, bucket: Bucket | None, device: Device, max_batch: int) -> Any:
    """An onnxruntime / libtorch model of one variant (of one bucket, for a static variant: fixed dims, max_batch_size 0
    as Triton cannot batch a fixed-batch graph)."""
    schema, _ = _schema()
    libtorch = variant.format == "torchscript"
    config = schema.ModelConfig(name=name, platform="pytorch_libtorch" if libtorch else "onnxruntime_onnx",
                                max_batch_size=0 if bucket is not None else max_batch)
    inputs, outputs = variant.specs_at(bucket)
    _tensors(config.input, inputs, schema, libtorch, batched=bucket is None)
    _tensors(config.output, outputs, schema, libtorch, batched=bucket is None, labels=True)
    if bucket is None:
        config.dynamic_batching.max_queue_delay_microseconds = QUEUE_DELAY_US
    kind = _KIND.get(device.type)
    if kind:
        config.instance_group.add(count=1, kind=schema.ModelInstanceGroup.Kind.Value(kind))
    return config


def _tensors(section: Any, specs: list[TensorSpec], schema: Any, libtorch: bool, batched: bool, labels: bool = False) -> None:
    for index, spec in enumerate(specs):
        # libtorch binds tensors by position: the documented NAME__INDEX convention keeps that explicit
        tensor = section.add(name=f"{spec.name}__{index}" if libtorch else spec.name,
                             data_type=schema.DataType.Value(_DTYPES[spec.dtype]),
                             dims=[d if isinstance(d, int) else -1 for d in (spec.shape[1:] if batched else spec.shape)])
        if labels:
            tensor.label_filename = LABELS_TXT


def write_repository(package: Path, manifest: Manifest, model: str, device: Device) -> list[Path]:
    """Write `triton/` under `package`, whose own files are in place (the text model first); returns the model folders."""
    _, text_format = _schema()
    batch = batch_limit(manifest)
    name = model_name(model)
    text = _model_folder(package / TRITON_DIR / name, text_config(name, manifest, device, batch), text_format)
    (text / LABELS_TXT).write_text("\n".join(manifest.source.labels) + "\n", encoding="utf-8")
    shutil.copyfile(PYTHON_MODEL, text / VERSION / "model.py")
    for rel in (record.path for record in manifest.all_files()):
        _place(package / rel, text / VERSION / name / rel)
    written = [text]
    # .pt2 and OpenVINO variants: only the text model serves them (an onnxruntime_onnx model of an OpenVINO variant's
    # file would compute what ONNX Runtime computes, not what its verdict is about)
    for variant in (v for v in manifest.variants if v.format != "torchexport" and v.engine is None):
        for record in variant.files if variant.shape == "static" else [variant.files[0]]:
            bucket = record.bucket if variant.shape == "static" else None
            name = model_name(model, variant, bucket)
            folder = _model_folder(package / TRITON_DIR / name, token_config(name, manifest, variant, bucket, device, batch),
                                   text_format)
            _place(text / LABELS_TXT, folder / LABELS_TXT)
            _place_model(package, variant, record, folder / VERSION)
            written.append(folder)
    return written


def seal_repository(package: Path, model: str, known: Mapping[str, str]) -> None:
    """Complete the text model's copy of the package once the package's manifest is final: that manifest and a
    SHA256SUMS of the copy (`known`: the package's digests, by path, of the files already placed)."""
    own = package / TRITON_DIR / model_name(model) / VERSION / model_name(model)
    _place(package / MANIFEST_NAME, own / MANIFEST_NAME)
    prefix = own.relative_to(package).as_posix() + "/"
    write_sums(own, {rel.removeprefix(prefix): digest for rel, digest in known.items() if rel.startswith(prefix)})


def _model_folder(folder: Path, config: Any, text_format: Any) -> Path:
    (folder / VERSION).mkdir(parents=True)  # Triton finds a model's versions by their folders
    (folder / "config.pbtxt").write_text(text_format.MessageToString(config, use_short_repeated_primitives=True),
                                         encoding="utf-8")
    return folder


def _place_model(package: Path, variant: Variant, record: VariantFile, version: Path) -> None:
    """The graph or program under the backend's default name and, for ONNX with external data, the weights file under
    the name the graph reads it by (beside the graph: `convert.weights` writes that location)."""
    _place(package / record.path, version / _MODEL_FILE[variant.format])
    if variant.weights is not None:
        _place(package / variant.weights.path, version / Path(variant.weights.path).name)


def _place(source: Path, target: Path) -> None:
    """`target` as a second name of `source` (a hard link: the bytes are stored once); a copy where the file system
    has no hard links."""
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)


def readme_lines(manifest: Manifest, model: str, device: str) -> list[str]:
    """The package README's Triton section: which model needs which backend, and how to start it."""
    text = model_name(model)
    native = sorted({"onnxruntime" if v.format == "onnx" else "pytorch (libtorch)" for v in manifest.variants
                     if v.format != "torchexport" and v.engine is None})
    lines = ["", "## Triton Inference Server", "",
             "`triton/` is a model repository that works wherever it is mounted or copied: every model folder holds its",
             "own files (hard links to this package's: no extra bytes here, real files in a copy).",
             f"`{text}` takes texts (TEXT, BYTES [n, 1]) and returns SCORES (FP32 [n, labels]) and LABELS (BYTES [n, 1],",
             "the decided labels as a JSON array), as `npuport serve` does: the **Python backend** runs npuport's runtime,",
             f"tokenizer included, on the package in `triton/{text}/1/{text}/` (`npuport verify` checks it there); Triton",
             f"batches waiting requests up to {batch_limit(manifest)} texts."]
    if native:
        lines += [f"The other models take token ids and need the **{' and '.join(native)}** backend(s): one per dynamic",
                  "variant (dynamic batching), one per bucket of a static variant."]
    lines += ["", "The Python backend's stub takes its interpreter from the first `python3` on PATH (or a packed",
              "environment named by `EXECUTION_ENV_PATH` in the config); that environment needs `pip install npuport`",
              "(with the engine of the variant) and the numpy major version the stub was built with (numpy<2 for",
              "nvidia-pytriton 0.7's stub):", "", "```bash",
              f"PATH=/path/to/env/bin:$PATH tritonserver --model-repository=$PWD/triton --model-control-mode=explicit "
              f"--load-model={text}",
              "```"]
    if device.startswith("npu"):
        lines += ["", "Triton has no Ascend backend: on an NPU machine the Python model runs npuport on the NPU, or serve",
                  "with `npuport serve`."]
    return lines
