"""A convert job: what one step builds (sent to the worker process as JSON), and the context its variants share —
golden inputs, the eager reference logits, the source model (loaded once, lazily), the post-export check."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from npuport.convert.peers import PEER_CONFIG, write_peer_config
from npuport.convert.plan import VariantPlan
from npuport.core.buckets import by_length, pad_to_bucket
from npuport.core.golden import INPUTS_FILE, REFERENCE_FILE, GoldenInputs, load_reference, save_reference
from npuport.core.manifest import Bucket, TensorSpec, specs_at
from npuport.core.memory import release_memory
from npuport.core.progress import Progress

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
    max_length: int  # the model's token limit: the sequence range of a torch.export program
    fusion_type: str  # onnxruntime.transformers.optimizer model_type (model.architectures); "" when unfused
    fp16_keep_fp32: str  # pattern of node names ONNX fp16 leaves in fp32 (model.architectures); "" for none
    threshold: float = 0.5
    int8_weights: str = "uint8"  # core.int8.SCHEMES key, chosen for the CPU class int8_chosen_for (int8_why says why)
    int8_chosen_for: str = "portable"
    int8_why: str = ""
    buckets: list[dict[str, int]] = field(default_factory=list)
    raw_shapes: list[str] = field(default_factory=list)  # onnx-export: unfused exports the fusion step reads

    def variant_plans(self) -> list[VariantPlan]:
        return [VariantPlan(p["format"], p["precision"], p["shape"], tuple(Bucket(**b) for b in p["buckets"])) for p in self.plans]


def example_feed(golden: GoldenInputs, bucket: Bucket | None, pad_token_id: int) -> dict[str, np.ndarray]:
    """Real golden tokens at the bucket's shape (dynamic: two texts of different lengths)."""
    if bucket is None:
        order = by_length(golden.lengths)
        return golden.rows([order[len(order) // 2], order[-1]])
    fits = np.flatnonzero(golden.lengths <= bucket.seq)[: bucket.batch]
    return pad_to_bucket(golden.rows(fits, seq=bucket.seq), bucket, pad_token_id)


def symbolic_specs(job: Job, logits_dtype: str) -> tuple[list[TensorSpec], list[TensorSpec]]:
    inputs = [TensorSpec(name=n, dtype="int64", shape=["batch", "sequence"]) for n in job.input_names]
    return inputs, [TensorSpec(name="logits", dtype=logits_dtype, shape=["batch", job.num_labels])]


class StepContext:
    """What one step shares between its variants: golden data, reference logits, the source model (lazy)."""

    def __init__(self, job: Job, emit: Progress) -> None:
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
            if not (self.root / PEER_CONFIG).exists():  # the first step that loads the model writes it
                write_peer_config(self._model, self.root)
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
        from npuport.convert.check import check_export, check_portable
        from npuport.runtime.loader import runner_for

        check_portable(path, plan.format)
        runner = runner_for(path, plan.format, specs_at(inputs, bucket), specs_at(outputs, bucket))
        result = check_export(runner, self.golden, self.reference(), bucket, plan.precision, self.job.activation, self.job.pad_token_id)
        return result.model_dump()

    def _weights(self, plan: VariantPlan) -> str | None:
        """The shared weights file of the variant's graphs, if its writer put them there (int8 keeps them inside)."""
        return plan.weights_path if plan.weights_path and (self.root / plan.weights_path).is_file() else None

    def build(self, plan: VariantPlan, write: Writer, logits_dtype: str) -> dict[str, Any]:
        """Write and check every file of one variant; return its manifest fields (hashes are added later).

        A writer gets (bucket, proposed path) and returns (path it used, transforms): the path differs when
        the file would repeat one already written, which is then shared."""
        started = time.perf_counter()
        inputs, outputs = symbolic_specs(self.job, logits_dtype)
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
            "buckets": [b.model_dump() for b in plan.buckets], "files": files, "weights": self._weights(plan),
            "opset": self.job.opset if plan.format == "onnx" else None,
            "inputs": [s.model_dump() for s in inputs], "outputs": [s.model_dump() for s in outputs],
            "transforms": transforms, "export_check": worst, "seconds": time.perf_counter() - started,
            "quantization": self.quantization.pop(plan.id, None),
        }
