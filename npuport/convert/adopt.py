"""`npuport import`: adopt an ONNX export made elsewhere — Optimum's folder (model.onnx + config.json + tokenizer) or a
user's .onnx — into a manifest, so validate, package and verify treat it like npuport's own.

What convert records, import records the same way (the tokenizer and golden inputs, the eager fp32 reference on them
from the source model, config.json for peers, every file's sha256, published under the output lock). What convert
knows because it built the file, import reads from the graph: input and output specs (dynamic or static dims), the
precision (quantized ops → int8, else the float type holding most initializer elements), the producer. The file is
then checked on the golden texts like a fresh export before it enters a manifest: a graph of another model stops here.
"""

from __future__ import annotations

import math
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from npuport.convert.check import check_export
from npuport.convert.peers import PEER_CONFIG, write_peer_config
from npuport.convert.pipeline import ConvertResult, build_and_publish, stage_inputs, toolchain
from npuport.convert.plan import VariantPlan
from npuport.core.buckets import check_buckets, golden_seq_len
from npuport.core.errors import ConversionError
from npuport.core.files import sha256_file
from npuport.core.golden import INPUTS_FILE, REFERENCE_FILE, GoldenInputs, save_reference
from npuport.core.manifest import (
    Bucket,
    FileRecord,
    GoldenInfo,
    Manifest,
    Precision,
    TensorSpec,
    TokenizerInfo,
    Variant,
    VariantFile,
    specs_at,
)
from npuport.core.progress import Progress, done, reporter, start, total

if TYPE_CHECKING:
    import onnx

OPTIMUM_FILE = "model.onnx"  # what Optimum's exporter names the graph in its output folder
FEEDABLE = ("input_ids", "attention_mask", "token_type_ids")  # the inputs the runtime can feed from a tokenizer
# Ops that only a quantized graph holds (ONNX Runtime's dynamic and static quantization, QDQ).
QUANTIZED_OPS = frozenset({"MatMulInteger", "DynamicQuantizeLinear", "DynamicQuantizeMatMul", "MatMulIntegerToFloat",
                           "QAttention", "QEmbedLayerNormalization", "QLinearMatMul", "QGemm", "QuantizeLinear",
                           "DequantizeLinear", "ConvInteger", "QLinearConv"})
MAX_INLINE_BYTES = 2**31 - 1  # protobuf's limit for one file: larger external weights cannot be inlined


@dataclass(frozen=True)
class GraphFacts:
    """What the graph says about itself."""

    inputs: list[TensorSpec]  # symbolic ["batch", "sequence"], in graph order
    output: TensorSpec  # the logits, symbolic ["batch", num_labels]
    precision: Precision
    bucket: Bucket | None  # None: dynamic dims
    opset: int | None
    producer: str
    external_data: bool


def find_onnx(path: Path) -> Path:
    """The .onnx file itself, or Optimum's model.onnx in a folder (the only .onnx there, if named otherwise)."""
    if path.is_file():
        if path.suffix != ".onnx":
            raise ConversionError(f"{path} is not an .onnx file")
        return path
    if not path.is_dir():
        raise ConversionError(f"{path} does not exist")
    if (path / OPTIMUM_FILE).is_file():
        return path / OPTIMUM_FILE
    found = sorted(path.glob("*.onnx"))
    if len(found) != 1:
        names = ", ".join(p.name for p in found[:5]) or "none"
        raise ConversionError(f"{path} holds no {OPTIMUM_FILE} and {len(found)} .onnx files ({names}): name the file to import")
    return found[0]


def read_graph(path: Path, num_labels: int) -> GraphFacts:
    """Specs, precision and shape mode of the graph in `path` (its weights are not read)."""
    import onnx

    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as exc:  # a truncated or foreign file raises protobuf's DecodeError, among others
        raise ConversionError(f"{path.name} is not a readable ONNX model: {' '.join(str(exc).split())[:200]}") from None
    graph = model.graph
    weights = {init.name for init in graph.initializer}
    inputs = [i for i in graph.input if i.name not in weights]  # old exporters list initializers as inputs too
    names = [i.name for i in inputs]
    unknown = [n for n in names if n not in FEEDABLE]
    if unknown or "input_ids" not in names:
        raise ConversionError(f"{path.name} takes inputs {names}; npuport feeds {', '.join(FEEDABLE)} (input_ids required)")
    dims = {i.name: _dims(i, path) for i in inputs}
    if any(_dtype(i) != "int64" for i in inputs):
        raise ConversionError(f"{path.name}: every input must be int64 token ids, got "
                              f"{', '.join(f'{i.name}: {_dtype(i)}' for i in inputs)}")
    output = next((o for o in graph.output if o.name == "logits"), graph.output[0] if graph.output else None)
    if output is None or _dtype(output) not in ("float32", "float16"):
        raise ConversionError(f"{path.name} has no float logits output")
    labels = _dims(output, path)[-1]
    if isinstance(labels, int) and labels != num_labels:
        raise ConversionError(f"{path.name} gives {labels} logits per text but the source model has {num_labels} labels")
    return GraphFacts(
        inputs=[TensorSpec(name=n, dtype="int64", shape=["batch", "sequence"]) for n in names],
        output=TensorSpec(name=output.name, dtype=_dtype(output), shape=["batch", num_labels]),  # type: ignore[arg-type]
        precision=detect_precision(model), bucket=_bucket(dims, path),
        opset=next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), None),
        producer=" ".join(filter(None, (model.producer_name, model.producer_version))) or "unknown producer",
        external_data=any(init.data_location == onnx.TensorProto.EXTERNAL for init in graph.initializer),
    )


def detect_precision(model: onnx.ModelProto) -> Precision:
    """int8 when quantized ops compute; else fp16 or fp32 by which float type holds most initializer elements."""
    from onnx import TensorProto

    if any(node.op_type in QUANTIZED_OPS for node in model.graph.node):
        return "int8"
    elements = {TensorProto.FLOAT: 0, TensorProto.FLOAT16: 0, TensorProto.BFLOAT16: 0}
    for init in model.graph.initializer:
        if init.data_type in elements:
            elements[init.data_type] += math.prod(init.dims)
    heaviest = max(elements, key=lambda kind: elements[kind])
    if heaviest == TensorProto.BFLOAT16 and elements[heaviest]:
        raise ConversionError("the graph holds bfloat16 weights: ONNX Runtime's CPU provider has no bfloat16 kernels to run it")
    return "fp16" if heaviest == TensorProto.FLOAT16 and elements[heaviest] else "fp32"


def _dtype(value: onnx.ValueInfoProto) -> str:
    from onnx import helper

    return str(helper.tensor_dtype_to_np_dtype(value.type.tensor_type.elem_type))


def _dims(value: onnx.ValueInfoProto, path: Path) -> list[int | str]:
    """Each dim: its size, or its symbolic name ("?" where it has none); rank 2 ([batch, sequence] or [batch, labels])."""
    dims = [d.dim_value if d.HasField("dim_value") and d.dim_value > 0 else (d.dim_param or "?")
            for d in value.type.tensor_type.shape.dim]
    if len(dims) != 2:
        raise ConversionError(f"{path.name}: {value.name} has shape {dims}; a text classifier's is rank 2")
    return dims


def _bucket(dims: dict[str, list[int | str]], path: Path) -> Bucket | None:
    """None when every input's dims are symbolic; the one static shape when all are fixed and agree."""
    shapes = {tuple(d) for d in dims.values()}
    if all(isinstance(d, str) for shape in shapes for d in shape):
        return None
    if len(shapes) == 1 and all(isinstance(d, int) for d in next(iter(shapes))):
        batch, seq = next(iter(shapes))
        return Bucket(batch=int(batch), seq=int(seq))
    shown = ", ".join(f"{name} {list(d)}" for name, d in dims.items())
    raise ConversionError(f"{path.name} mixes fixed and symbolic input dims ({shown}): npuport runs either fully dynamic "
                          "[batch, sequence] graphs or fully static buckets")


def adopt_onnx(onnx_path: Path, model_dir: Path, out_dir: Path, progress: Progress | None = None) -> ConvertResult:
    """Adopt the ONNX file (or Optimum folder) `onnx_path`, exported from `model_dir`, into artifacts at `out_dir`."""
    from npuport.model.config import read_config
    from npuport.model.reference import EagerReference
    from npuport.model.source import load_source

    started = time.perf_counter()
    notify = reporter(progress)
    source_file = find_onnx(Path(onnx_path))
    facts = read_graph(source_file, len(read_config(Path(model_dir))["id2label"]))  # a graph npuport cannot run fails fast
    notify(total(3))
    notify(start("source model"))
    source = load_source(Path(model_dir))
    notify(done("source model"))
    if facts.bucket is not None:
        check_buckets([facts.bucket], source.info.max_length)
    names = [spec.name for spec in facts.inputs]
    info = source.info.model_copy(update={"input_names": names})

    def build(staging: Path, _lock_fd: int) -> ConvertResult:
        seq_len = golden_seq_len(info.max_length, [facts.bucket] if facts.bucket else [])
        golden = stage_inputs(staging, source.tokenizer, names, seq_len)
        notify(start("reference"))
        reference = EagerReference(source.model, names).logits_by_length(golden.lengths, golden.rows)
        save_reference(staging / REFERENCE_FILE, reference)
        write_peer_config(source.model, staging)
        notify(done("reference"))
        plan = VariantPlan("onnx", facts.precision, "static" if facts.bucket else "dynamic",
                           (facts.bucket,) if facts.bucket else ())
        notify(start(plan.id))
        variant = _variant(staging, source_file, plan, facts, info.activation, golden, reference,
                           int(source.tokenizer.pad_token_id or 0))
        notify(done(plan.id))
        record = lambda rel: FileRecord.of(staging, staging / rel)  # noqa: E731
        tokenizer_files = sorted(p for p in (staging / "tokenizer").rglob("*") if p.is_file())
        manifest = Manifest(
            source=info,
            tokenizer=TokenizerInfo(class_name=type(source.tokenizer).__name__,
                                    files=[FileRecord.of(staging, p) for p in tokenizer_files]),
            toolchain=toolchain(), variants=[variant],
            golden=GoldenInfo(inputs=record(INPUTS_FILE), reference=record(REFERENCE_FILE), texts=len(golden.ids),
                              seq_len=seq_len),
            peer_config=record(PEER_CONFIG),
        )
        return ConvertResult(manifest=manifest, root=staging, seconds=0.0)

    built = build_and_publish(Path(out_dir), build)
    return ConvertResult(manifest=built.manifest, root=built.root, seconds=time.perf_counter() - started)


def _variant(staging: Path, source_file: Path, plan: VariantPlan, facts: GraphFacts, activation: str, golden: GoldenInputs,
             reference: np.ndarray, pad_token_id: int) -> Variant:
    """The file copied under npuport's name (external weights inlined), checked on the golden texts like an export."""
    from npuport.runtime.loader import runner_for

    target = staging / plan.file_path(facts.bucket)
    target.parent.mkdir(parents=True, exist_ok=True)
    transforms = [f"imported from {source_file.name} ({facts.producer})"]
    if facts.external_data:
        _inline_weights(source_file, target)
        transforms.append("external data inlined")
    else:
        shutil.copyfile(source_file, target)
    specs = [facts.output]
    runner = runner_for(target, "onnx", specs_at(facts.inputs, facts.bucket), specs_at(specs, facts.bucket))
    check = check_export(runner, golden, reference, facts.bucket, plan.precision, activation, pad_token_id)
    rel = target.relative_to(staging).as_posix()
    return Variant(id=plan.id, format="onnx", precision=plan.precision, shape=plan.shape, buckets=list(plan.buckets),
                   files=[VariantFile(path=rel, sha256=sha256_file(target), bytes=target.stat().st_size, bucket=facts.bucket)],
                   opset=facts.opset, inputs=facts.inputs, outputs=specs, transforms=transforms, export_check=check)


def _inline_weights(source_file: Path, target: Path) -> None:
    import onnx

    model = onnx.load(str(source_file), load_external_data=True)
    if model.ByteSize() > MAX_INLINE_BYTES:
        raise ConversionError(f"{source_file.name}'s weights exceed 2 GB: import reads graphs whose weights fit in one file")
    onnx.save(model, str(target))
