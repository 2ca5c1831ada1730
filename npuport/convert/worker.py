"""One convert step (see STEPS) in its own process, so peak memory stays that of one step on one model.

Run as `python -m npuport.convert.worker JOB.json`; events go to stdout as JSON lines:
{"event": "start"|"done", "label": …}, then {"event": "result", …} or {"event": "error", "message": …}.
"""

from __future__ import annotations

import json
import resource
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from npuport.convert.plan import VariantPlan
from npuport.core.buckets import pad_to_bucket
from npuport.core.errors import ConversionError, NpuportError
from npuport.core.golden import INPUTS_FILE, REFERENCE_FILE, GoldenInputs, load_reference, save_reference
from npuport.core.manifest import Bucket, TensorSpec, specs_at
from npuport.core.memory import release_memory

Emit = Callable[[dict[str, Any]], None]
Writer = Callable[["Bucket | None", Path], tuple[Path, list[str]]]


@dataclass
class Job:
    model_dir: str
    staging: str
    step: str  # a key of STEPS
    plans: list[dict[str, Any]]  # VariantPlan fields, plus record=False for derivation-only builds
    opset: int
    fuse: str
    activation: str
    pad_token_id: int
    input_names: list[str]
    num_labels: int
    num_heads: int
    hidden_size: int
    threshold: float = 0.5
    int8_weights: str = "uint8"
    buckets: list[dict[str, int]] = field(default_factory=list)
    raw_shapes: list[str] = field(default_factory=list)  # onnx-export: unfused exports the fusion step reads

    def variant_plans(self) -> list[VariantPlan]:
        return [VariantPlan(p["format"], p["precision"], p["shape"], tuple(Bucket(**b) for b in p["buckets"])) for p in self.plans]


def _example(golden: GoldenInputs, bucket: Bucket | None, pad_token_id: int) -> dict[str, np.ndarray]:
    """Real golden tokens at the bucket's shape (dynamic: two texts of different lengths)."""
    if bucket is None:
        order = np.argsort(golden.lengths)
        return golden.rows([order[len(order) // 2], order[-1]])
    fits = np.flatnonzero(golden.lengths <= bucket.seq)[: bucket.batch]
    return pad_to_bucket(golden.rows(fits, seq=bucket.seq), bucket, pad_token_id)


def _symbolic_specs(job: Job, logits_dtype: str) -> tuple[list[TensorSpec], list[TensorSpec]]:
    inputs = [TensorSpec(name=n, dtype="int64", shape=["batch", "sequence"]) for n in job.input_names]
    return inputs, [TensorSpec(name="logits", dtype=logits_dtype, shape=["batch", job.num_labels])]


class StepContext:
    """What one step shares between its variants: golden data, reference logits, the source model (lazy)."""

    def __init__(self, job: Job, emit: Emit) -> None:
        self.job = job
        self.emit = emit
        self.root = Path(job.staging)
        self.golden = GoldenInputs.load(self.root / INPUTS_FILE)
        self._model = None
        self.facts: dict[str, Any] | None = None  # what convert records about the source, once it is loaded
        self.quantization: dict[str, dict[str, Any]] = {}  # variant id → its int8 scheme (the most fp32 of its files)

    def release_model(self) -> None:
        self._model = None
        release_memory()

    @property
    def model(self):  # type: ignore[no-untyped-def]
        if self._model is None:
            from npuport.model.source import load_source

            self._model = load_source(Path(self.job.model_dir)).model
            self.facts = {"architecture": type(self._model).__name__,
                          "parameters": sum(p.numel() for p in self._model.parameters())}
        return self._model

    def reference(self) -> np.ndarray:
        path = self.root / REFERENCE_FILE
        if not path.exists():
            save_reference(path, self._eager_logits())
        return load_reference(path)

    def _eager_logits(self) -> np.ndarray:
        from npuport.model.reference import EagerReference

        return EagerReference(self.model, self.job.input_names).logits_by_length(self.golden.lengths, self.golden.rows)

    def check(self, plan: VariantPlan, bucket: Bucket | None, path: Path, inputs: list[TensorSpec], outputs: list[TensorSpec]) -> dict[str, Any]:
        from npuport.convert.check import check_export
        from npuport.runtime.loader import runner_for

        runner = runner_for(path, plan.format, specs_at(inputs, bucket), specs_at(outputs, bucket))
        result = check_export(runner, self.golden, self.reference(), bucket, plan.precision, self.job.activation, self.job.pad_token_id)
        return result.model_dump()

    def build(self, plan: VariantPlan, write: Writer, logits_dtype: str) -> dict[str, Any]:
        """Write and check every file of one variant; return its manifest fields (hashes are added later).

        A writer gets (bucket, proposed path) and returns (path it used, transforms): the path differs when
        the file would repeat one already written, which is then shared."""
        started = time.perf_counter()
        inputs, outputs = _symbolic_specs(self.job, logits_dtype)
        files, transforms, checks = [], [], []
        for bucket in plan.targets():
            label = f"{plan.id}" + (f" {bucket}" if bucket else "")
            self.emit({"event": "start", "label": label})
            path, transforms = write(bucket, self.root / plan.file_path(bucket))
            checks.append(self.check(plan, bucket, path, inputs, outputs))
            release_memory()
            files.append({"path": path.relative_to(self.root).as_posix(), "bucket": bucket.model_dump() if bucket else None})
            self.emit({"event": "done", "label": label})
        worst = max(checks, key=lambda c: c["max_abs_prob_error"])
        worst["texts"] = sum(c["texts"] for c in checks)
        worst["top1_agreement"] = min(c["top1_agreement"] for c in checks)
        return {
            "id": plan.id, "format": plan.format, "precision": plan.precision, "shape": plan.shape,
            "buckets": [b.model_dump() for b in plan.buckets], "files": files,
            "opset": self.job.opset if plan.format == "onnx" else None,
            "inputs": [s.model_dump() for s in inputs], "outputs": [s.model_dump() for s in outputs],
            "transforms": transforms, "export_check": worst, "seconds": time.perf_counter() - started,
            "quantization": self.quantization.pop(plan.id, None),
        }


def _torchscript(group: StepContext) -> list[dict[str, Any]]:
    import torch

    from npuport.convert import torchscript
    from npuport.model.adapter import LogitsOnly

    group.reference()
    precision = group.job.step.removeprefix("torchscript-")
    model, transforms, logits_dtype = group.model, ["torch.jit.trace"], "float32"
    if precision == "fp16":
        model, logits_dtype = model.half(), "float16"
        transforms.append("half")
    elif precision == "bf16":  # weights and compute in bfloat16; logits cast to float32 inside the program
        model = model.to(torch.bfloat16)
        transforms += ["bfloat16", "logits-to-float32"]
    wrapper = LogitsOnly(model, group.job.input_names, float32_logits=precision == "bf16")
    written: dict[str, Path] = {}  # program fingerprint → file that holds it

    def write(bucket: Bucket | None, path: Path) -> tuple[Path, list[str]]:
        traced = torchscript.trace(wrapper, _example(group.golden, bucket, group.job.pad_token_id))
        same = written.setdefault(torchscript.program_fingerprint(traced), path)
        if same != path:
            return same, transforms + [f"shares {same.name} (same traced program)"]
        torchscript.save(traced, path)
        return path, transforms

    plans = sorted(group.job.variant_plans(), key=lambda p: p.shape)  # dynamic first: statics may share its file
    return [group.build(plan, write, logits_dtype) for plan in plans]


def fp32_onnx_path(shape: str, bucket: Bucket | None) -> str:
    return VariantPlan("onnx", "fp32", shape).file_path(bucket)  # type: ignore[arg-type]


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
    export_onnx(wrapper, _example(group.golden, None, group.job.pad_token_id), raw_dynamic, group.job.opset, dynamic=True)
    group.release_model()
    group.emit({"event": "done", "label": "onnx export"})
    if "static" in group.job.raw_shapes:
        for bucket in _targets(group.job, "static"):
            fix_dims(raw_dynamic, group.root / raw_onnx_path("static", bucket), bucket.batch, bucket.seq)

    def write(bucket: Bucket | None, path: Path) -> tuple[Path, list[str]]:
        if bucket is None:
            shutil.copyfile(raw_dynamic, path)
            return path, EXPORTED
        return path, EXPORTED + fix_dims(raw_dynamic, path, bucket.batch, bucket.seq)

    return _build_all(group, write)


def _onnx_fuse(group: StepContext) -> list[dict[str, Any]]:
    from npuport.convert.onnx import fuse_transformer

    def write(bucket: Bucket | None, path: Path) -> tuple[Path, list[str]]:
        raw = group.root / raw_onnx_path("static" if bucket else "dynamic", bucket)
        fixed = ["fixed-dims-per-bucket"] if bucket else []
        return path, EXPORTED + fixed + fuse_transformer(raw, path, group.job.num_heads, group.job.hidden_size)

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
            return path, convert_onnx_fp16(source, path)
        transforms, scheme = quantize_onnx_int8(source, path, lambda candidate: _int8_failures(group, candidate, bucket),
                                                group.job.int8_weights)
        variant_id = f"onnx-int8-{'static' if bucket else 'dynamic'}"
        earlier = group.quantization.get(variant_id)
        if earlier is None or len(scheme.fp32_nodes) > len(earlier["fp32_nodes"]):
            group.quantization[variant_id] = scheme.model_dump()
        return path, transforms

    return _build_all(group, write)


def _int8_failures(group: StepContext, path: Path, bucket: Bucket | None) -> list[str]:
    """The int8 profile's failing checks for a candidate file on the golden texts (as validate runs them)."""
    from npuport.core.buckets import BucketPolicy
    from npuport.core.decisions import to_probabilities
    from npuport.runtime.execute import run_feed
    from npuport.runtime.ort_runner import OrtRunner
    from npuport.validate.metrics import compare
    from npuport.validate.profiles import DEFAULT_PROFILES
    from npuport.validate.validator import DYNAMIC_BATCH

    profile, golden, job = DEFAULT_PROFILES["int8"], group.golden, group.job
    inputs, outputs = _symbolic_specs(job, "float32")
    fits = np.flatnonzero(golden.lengths <= (bucket.seq if bucket else golden.lengths.max()))
    order = fits[np.argsort(golden.lengths[fits], kind="stable")]
    step = bucket.batch if bucket else DYNAMIC_BATCH
    policy = BucketPolicy([bucket] if bucket else None)
    with OrtRunner(path, specs_at(inputs, bucket), specs_at(outputs, bucket)) as runner:
        logits = np.concatenate([run_feed(runner, golden.rows(order[s : s + step], seq=bucket.seq if bucket else None),
                                          policy, job.pad_token_id) for s in range(0, len(order), step)])
    want, got = (to_probabilities(x, job.activation) for x in (group.reference()[order], logits))
    comparison = compare(want, got, atol=profile.atol, rtol=profile.rtol, threshold=job.threshold, top_k=profile.top_k,
                         bernoulli=job.activation == "sigmoid")
    return [check.describe() for check in profile.checks(comparison) if not check.passed]


STEPS: dict[str, Callable[[StepContext], list[dict[str, Any]]]] = {
    "torchscript-fp32": _torchscript,
    "torchscript-fp16": _torchscript,
    "torchscript-bf16": _torchscript,
    "onnx-export": _onnx_export,
    "onnx-fuse": _onnx_fuse,
    "onnx-fp16": _onnx_derived,
    "onnx-int8": _onnx_derived,
}


def execute_job(job: Job, emit: Emit) -> dict[str, Any]:
    started = time.perf_counter()
    group = StepContext(job, emit)
    variants = STEPS[job.step](group)
    return {
        "event": "result",
        "variants": variants,
        "source": group.facts,
        "seconds": time.perf_counter() - started,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def main(argv: list[str]) -> int:
    job = Job(**json.loads(Path(argv[0]).read_text(encoding="utf-8")))

    def emit(event: dict[str, Any]) -> None:
        print(json.dumps(event), flush=True)

    try:
        emit(execute_job(job, emit))
    except NpuportError as exc:
        emit({"event": "error", "message": str(exc)})
        return 1
    except MemoryError:
        emit({"event": "error", "message": f"out of memory in convert step {job.step}"})
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
