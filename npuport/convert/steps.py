"""The convert steps, one per process (see `worker`): TorchScript per precision, the ONNX export, ORT fusion, and the
fp16 / int8 files derived from the fp32 ONNX. Each writes and checks its variants' files into the staging directory
and returns their manifest fields."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from npuport.convert.job import Job, StepContext, Writer, example_feed, symbolic_specs
from npuport.convert.plan import VariantPlan
from npuport.core.errors import ConversionError
from npuport.core.manifest import Bucket, specs_at


def _torchscript(group: StepContext) -> list[dict[str, Any]]:
    import torch

    from npuport.convert import torchscript
    from npuport.model.adapter import LogitsOnly

    group.reference()
    precision = group.job.step.removeprefix("torchscript-")
    model, transforms, logits_dtype = group.model, ["torch.jit.trace", "devices-follow-inputs"], "float32"
    if precision == "fp16":
        model, logits_dtype = model.half(), "float16"
        transforms.append("half")
    elif precision == "bf16":  # weights and compute in bfloat16; logits cast to float32 inside the program
        model = model.to(torch.bfloat16)
        transforms += ["bfloat16", "logits-to-float32"] + _sdpa(model)
    wrapper = LogitsOnly(model, group.job.input_names, float32_logits=precision == "bf16")
    written: dict[str, Path] = {}  # program fingerprint → file that holds it

    def write(bucket: Bucket | None, path: Path) -> tuple[Path, list[str]]:
        traced = torchscript.trace(wrapper, example_feed(group.golden, bucket, group.job.pad_token_id))
        same = written.setdefault(torchscript.program_fingerprint(traced), path)
        if same != path:
            return same, transforms + [f"shares {same.name} (same traced program)"]
        torchscript.save(traced, path)
        return path, transforms

    plans = sorted(group.job.variant_plans(), key=lambda p: p.shape)  # dynamic first: statics may share its file
    return [group.build(plan, write, logits_dtype) for plan in plans]


def _sdpa(model: Any) -> list[str]:
    """bf16 programs trace transformers' SDPA attention, not the eager attention the ONNX export needs (ORT fuses only
    that): torch's fused CPU attention kernel is what eager bf16 users run, and traced eager attention fell behind it
    on long batches (issue 23: p90 1,509 against 993 ms on RoBERTa-base, AMX). The traced SDPA program matched eager
    SDPA exactly on other shapes and padding (max |Δlogit| 0, benchmarks/bf16.py); convert's check proves it per model.
    Architectures without SDPA in transformers keep eager attention."""
    try:
        model.set_attn_implementation("sdpa")
    except (ValueError, ImportError, AttributeError):
        return []
    return ["sdpa-attention"]


def _torch_export(group: StepContext) -> list[dict[str, Any]]:
    """torch.export of the logits-only wrapper (fp32 or half), one dynamic-shape program per precision."""
    from npuport.convert import torch_export
    from npuport.model.adapter import LogitsOnly

    group.reference()
    half = group.job.step == "torchexport-fp16"
    wrapper = LogitsOnly(group.model.half() if half else group.model, group.job.input_names)

    def write(bucket: Bucket | None, path: Path) -> tuple[Path, list[str]]:
        example = example_feed(group.golden, bucket, group.job.pad_token_id)
        torch_export.save(torch_export.export_program(wrapper, example, group.job.max_length), path)
        return path, ["torch.export(batch, sequence dynamic)", "devices-moved-at-load"] + (["half"] if half else [])

    return [group.build(plan, write, "float16" if half else "float32") for plan in group.job.variant_plans()]


def fp32_onnx_path(shape: str, bucket: Bucket | None) -> str:
    return VariantPlan("onnx", "fp32", shape).file_path(bucket)  # type: ignore[arg-type]


def shared_weights(group: StepContext, precision: str, bucket: Bucket | None) -> Path | None:
    """Where a static bucket graph of `precision` puts its weights (shared by the variant's buckets); None: dynamic."""
    if bucket is None:
        return None
    return group.root / str(VariantPlan("onnx", precision, "static").weights_path)  # type: ignore[arg-type]


def raw_onnx_path(shape: str, bucket: Bucket | None) -> str:
    """The unfused export a later fusion step reads (staging only, never published)."""
    return fp32_onnx_path(shape, bucket).replace(".onnx", ".raw.onnx")


EXPORTED = ["torch.onnx.export(dynamo=False)"]


def _onnx_export(group: StepContext) -> list[dict[str, Any]]:
    """torch → ONNX, once, with dynamic axes; static buckets are that graph with fixed dims. Fused shapes
    leave raw files for the fusion step, which runs in its own process (export and fusion together
    peak above 6 GB on RoBERTa-base)."""
    from npuport.convert.onnx import export_onnx, fix_dims
    from npuport.model.adapter import LogitsOnly

    group.reference()
    raw_dynamic = group.root / raw_onnx_path("dynamic", None)
    group.emit({"event": "start", "label": "onnx export"})
    wrapper = LogitsOnly(group.model, group.job.input_names)
    export_onnx(wrapper, example_feed(group.golden, None, group.job.pad_token_id), raw_dynamic, group.job.opset, dynamic=True)
    group.release_model()
    group.emit({"event": "done", "label": "onnx export"})
    if "static" in group.job.raw_shapes:
        for bucket in _targets(group.job, "static"):
            fix_dims(raw_dynamic, group.root / raw_onnx_path("static", bucket), bucket.batch, bucket.seq)

    def write(bucket: Bucket | None, path: Path) -> tuple[Path, list[str]]:
        if bucket is None:
            shutil.copyfile(raw_dynamic, path)
            return path, EXPORTED
        return path, EXPORTED + fix_dims(raw_dynamic, path, bucket.batch, bucket.seq, shared_weights(group, "fp32", bucket))

    return _build_all(group, write)


def _onnx_fuse(group: StepContext) -> list[dict[str, Any]]:
    from npuport.convert.onnx import fuse_transformer

    def write(bucket: Bucket | None, path: Path) -> tuple[Path, list[str]]:
        raw = group.root / raw_onnx_path("static" if bucket else "dynamic", bucket)
        fixed = ["fixed-dims-per-bucket"] if bucket else []
        return path, EXPORTED + fixed + fuse_transformer(raw, path, group.job.num_heads, group.job.hidden_size,
                                                         shared_weights(group, "fp32", bucket),
                                                         model_type=group.job.fusion_type)

    return _build_all(group, write)


def _targets(job: Job, shape: str) -> list[Bucket | None]:
    return [Bucket(**b) for b in job.buckets] if shape == "static" else [None]


def _build_all(group: StepContext, write: Writer) -> list[dict[str, Any]]:
    """Build every plan of the job; plans marked derivation-only are built and checked but not recorded."""
    results = []
    for payload, plan in zip(group.job.plans, group.job.variant_plans()):
        built = group.build(plan, write, "float32")
        if payload.get("record", True):
            results.append(built)
    return results


def _onnx_derived(group: StepContext) -> list[dict[str, Any]]:
    from npuport.convert.fp16 import convert_onnx_fp16
    from npuport.convert.quantize import quantize_onnx_int8

    def write(bucket: Bucket | None, path: Path) -> tuple[Path, list[str]]:
        source = group.root / fp32_onnx_path("static" if bucket else "dynamic", bucket)
        if not source.exists():
            raise ConversionError(f"{path.name} needs {source.name}, which was not built")
        if group.job.step == "onnx-fp16":
            return path, convert_onnx_fp16(source, path, shared_weights(group, "fp16", bucket), group.job.fp16_keep_fp32)
        transforms, scheme = quantize_onnx_int8(source, path, lambda candidate: _int8_failures(group, candidate, bucket),
                                                group.job.int8_weights, group.job.int8_chosen_for, group.job.int8_why)
        variant_id = f"onnx-int8-{'static' if bucket else 'dynamic'}"
        earlier = group.quantization.get(variant_id)
        if earlier is None or len(scheme.fp32_nodes) > len(earlier["fp32_nodes"]):
            group.quantization[variant_id] = scheme.model_dump()
        return path, transforms

    return _build_all(group, write)


def _int8_failures(group: StepContext, path: Path, bucket: Bucket | None) -> list[str]:
    """The int8 profile's failing checks for a candidate file on the golden texts (as validate runs them)."""
    from npuport.runtime.loader import runner_for
    from npuport.validate.profiles import DEFAULT_PROFILES
    from npuport.validate.validator import judge_file

    job = group.job
    inputs, outputs = symbolic_specs(job, "float32")
    runner = runner_for(path, "onnx", specs_at(inputs, bucket), specs_at(outputs, bucket))
    return judge_file(runner, group.golden, group.reference(), DEFAULT_PROFILES["int8"], job.activation, job.threshold,
                      job.pad_token_id, bucket)[1]


STEPS: dict[str, Callable[[StepContext], list[dict[str, Any]]]] = {
    "torchscript-fp32": _torchscript,
    "torchscript-fp16": _torchscript,
    "torchscript-bf16": _torchscript,
    "torchexport-fp32": _torch_export,
    "torchexport-fp16": _torch_export,
    "onnx-export": _onnx_export,
    "onnx-fuse": _onnx_fuse,
    "onnx-fp16": _onnx_derived,
    "onnx-int8": _onnx_derived,
}
