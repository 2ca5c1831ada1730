"""Evaluate variants on labelled texts beside the fp32 reference; write `<artifacts>/reports/eval.json`.

The reference is the source model, eager fp32 on the CPU, when `manifest.source.path` still holds the weights
convert read (same sha256); otherwise the artifacts' own fp32 variant (onnx-fp32-dynamic first), and the report
says which and why. Variants run through `npuport.runtime.load(...).predict`, the path users call, on `device`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, ValidationError

from npuport.errors import InputError, ManifestError
from npuport.evaluate.data import LabelledData, bundled_for, read_jsonl
from npuport.evaluate.metrics import ACCURACY_DEFINITION, Scores, score
from npuport.fsutil import sha256_file, write_text_atomic
from npuport.manifest import Manifest, TensorSpec, Variant
from npuport.runtime.classifier import Threshold, resolve_thresholds

EVAL_FILE = "reports/eval.json"
EVAL_SCHEMA = 1
EAGER_ID = "eager-fp32"
Progress = Callable[[str], None]


class _Record(BaseModel):
    model_config = ConfigDict(extra="ignore")


class SystemRecord(_Record):
    """One evaluated system: a variant, or the eager reference (variant = "eager-fp32", sha256 = weights')."""

    variant: str
    sha256: str
    reference: bool
    precision: str
    format: str
    shape: str
    device: str
    engine: str
    seconds: float
    accuracy: float
    micro_precision: float
    micro_recall: float
    micro_f1: float
    macro_f1: float | None
    per_label: list[dict[str, Any]]
    delta: dict[str, float | None] | None = None  # metric minus the reference's; None for the reference itself
    changed: int | None = None  # texts whose predicted label set differs from the reference's


class EvalReport(_Record):
    schema_version: int = EVAL_SCHEMA
    created: str
    artifacts: str
    data: dict[str, Any]  # source, sha256, texts
    threshold: str
    device: str
    accuracy_definition: str = ACCURACY_DEFINITION
    reference: dict[str, str]  # variant, kind (eager | variant), why
    records: list[SystemRecord]

    def context(self) -> tuple[str, str, str, str]:
        """Records are comparable only when measured on the same data, threshold, device and reference."""
        return self.data["sha256"], self.threshold, self.device, self.reference["variant"]


def load_eval(root: Path) -> EvalReport | None:
    """The eval report of an artifacts directory, or None when absent or unreadable (it is only a cache)."""
    path = root / EVAL_FILE
    if not path.is_file():
        return None
    try:
        report = EvalReport.model_validate_json(path.read_text(encoding="utf-8"))
    except (ValidationError, UnicodeDecodeError, ValueError):
        return None
    return report if report.schema_version == EVAL_SCHEMA else None


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def decide(probabilities: np.ndarray, thresholds: np.ndarray, activation: str) -> np.ndarray:
    """Predicted label sets as a bool matrix, the rule `Classifier.predict` applies: sigmoid models take every
    label at or over its threshold, softmax models their argmax."""
    if activation == "sigmoid":
        return probabilities >= thresholds[None, :]
    decided = np.zeros(probabilities.shape, dtype=bool)
    decided[np.arange(len(probabilities)), probabilities.argmax(axis=1)] = True
    return decided


def _eager_source(manifest: Manifest) -> tuple[Path | None, str]:
    """The source model directory when it still holds the weights convert exported, else None and why not."""
    from npuport.source import find_weights

    path = Path(manifest.source.path)
    if not path.is_dir():
        return None, f"source model {path} is not available"
    try:
        weights = find_weights(path)
    except Exception as exc:  # ModelLoadError and friends: the directory no longer is a model
        return None, f"source model {path} is not loadable ({exc})"
    if sha256_file(weights) != manifest.source.weights_sha256:
        return None, f"the weights in {path} changed since convert"
    return path, f"the source model {path}, eager fp32 on cpu (transformers)"


def _fp32_variant(manifest: Manifest) -> Variant | None:
    ranked = sorted((v for v in manifest.variants if v.precision == "fp32"),
                    key=lambda v: (v.format != "onnx", v.shape != "dynamic"))
    return ranked[0] if ranked else None


def _eager_probabilities(root: Path, manifest: Manifest, model_dir: Path, texts: list[str], batch_size: int) -> np.ndarray:
    """The source model on the CPU with the artifacts' tokenizer, batched by length like `Classifier.predict`."""
    from npuport.runtime.buckets import BucketPolicy
    from npuport.runtime.encode import TextEncoder
    from npuport.runtime.execute import run_chunks, to_probabilities
    from npuport.runtime.loader import _tokenizer
    from npuport.runtime.torch_runner import EagerRunner
    from npuport.source import load_source

    info = manifest.source
    specs = [TensorSpec(name=n, dtype="int64", shape=["batch", "sequence"]) for n in info.input_names]
    output = [TensorSpec(name="logits", dtype="float32", shape=["batch", info.num_labels])]
    encoder = TextEncoder(_tokenizer(root, manifest), info.input_names, info.max_length)
    encoded = encoder.encode(texts)
    order = np.argsort(encoded.lengths, kind="stable")
    probabilities = np.zeros((len(texts), info.num_labels), dtype=np.float32)
    with EagerRunner(load_source(model_dir).model, specs, output) as runner:
        for start in range(0, len(texts), batch_size):
            index = order[start : start + batch_size]
            logits = run_chunks(lambda _bucket: runner, encoder.feed(encoded, index), BucketPolicy(None), encoder.pad_token_id)
            probabilities[index] = to_probabilities(logits, info.activation)
    return probabilities


def _record(scores: Scores, **fields: Any) -> SystemRecord:
    per_label = [vars(label) for label in scores.per_label]
    return SystemRecord(accuracy=scores.accuracy, micro_precision=scores.micro_precision, micro_recall=scores.micro_recall,
                        micro_f1=scores.micro_f1, macro_f1=scores.macro_f1, per_label=per_label, **fields)


def _delta(record: SystemRecord, reference: SystemRecord) -> dict[str, float | None]:
    out: dict[str, float | None] = {}
    for key in ("accuracy", "micro_f1", "macro_f1"):
        mine, theirs = getattr(record, key), getattr(reference, key)
        out[key] = None if mine is None or theirs is None else mine - theirs
    return out


def evaluate(
    root: Path,
    data: Path | None = None,
    variants: Sequence[str] | None = None,
    device: str = "cpu",
    threshold: Threshold | None = None,
    batch_size: int = 16,
    progress: Progress | None = None,
) -> EvalReport:
    """Score every variant (or those named) and the reference on labelled texts; write and return eval.json."""
    from npuport.runtime import load

    root = Path(root)
    progress = progress or (lambda _label: None)
    manifest = Manifest.load(root)
    labels = manifest.source.labels
    labelled: LabelledData = read_jsonl(data, labels) if data is not None else bundled_for(labels)
    chosen = [manifest.variant(v) for v in variants] if variants else list(manifest.variants)
    if not chosen:
        raise InputError("no variant to evaluate")
    thresholds = resolve_thresholds(threshold, manifest.source.labels, manifest.source.threshold)
    _check_device(device, chosen)

    source_dir, why = _eager_source(manifest)
    index = {label: j for j, label in enumerate(labels)}

    def run_variant(variant: Variant, on: str, is_reference: bool) -> tuple[SystemRecord, np.ndarray]:
        progress(variant.id)
        started = time.perf_counter()
        with load(root, variant.id, on) as classifier:
            predictions = classifier.predict(labelled.texts, threshold, batch_size=batch_size)
            engine = classifier.engine
        decided = np.zeros(labelled.gold.shape, dtype=bool)
        for i, prediction in enumerate(predictions):
            decided[i, [index[name] for name in prediction.labels]] = True
        record = _record(score(labelled.gold, decided, labels), variant=variant.id, sha256=variant.digest,
                         reference=is_reference, precision=variant.precision, format=variant.format,
                         shape=variant.shape, device=on, engine=engine, seconds=time.perf_counter() - started)
        return record, decided

    # The reference is a CPU measurement: the eager source model, else the artifacts' fp32 variant.
    if source_dir is not None:
        progress(EAGER_ID)
        started = time.perf_counter()
        probabilities = _eager_probabilities(root, manifest, source_dir, labelled.texts, batch_size)
        reference_decided = decide(probabilities, thresholds, manifest.source.activation)
        reference = _record(score(labelled.gold, reference_decided, labels), variant=EAGER_ID,
                            sha256=manifest.source.weights_sha256, reference=True, precision="fp32", format="eager",
                            shape="dynamic", device="cpu", engine="torch (cpu), transformers eager",
                            seconds=time.perf_counter() - started)
        reference_info = {"variant": EAGER_ID, "kind": "eager", "why": why}
    else:
        fallback = _fp32_variant(manifest)
        if fallback is None:
            raise ManifestError(f"{why}, and the artifacts hold no fp32 variant to serve as the reference")
        reference, reference_decided = run_variant(fallback, "cpu", is_reference=True)
        reference_info = {"variant": fallback.id, "kind": "variant", "why": f"{why}; the reference is {fallback.id} on cpu"}
        if device == "cpu":
            chosen = [v for v in chosen if v.id != fallback.id]

    records = [reference]
    for variant in chosen:
        record, decided = run_variant(variant, device, is_reference=False)
        records.append(record.model_copy(update={
            "delta": _delta(record, reference), "changed": int((decided != reference_decided).any(axis=1).sum())}))
    report = EvalReport(
        created=_now(), artifacts=str(root), threshold=_threshold_text(threshold, manifest), device=device,
        data={"source": labelled.source, "sha256": labelled.sha256, "texts": len(labelled)},
        reference=reference_info, records=records,
    )
    return _merge_and_save(root, manifest, report)


def _check_device(device: str, variants: list[Variant]) -> None:
    """Fail before the (slow) reference runs when the device cannot run the chosen variants."""
    from npuport.runtime.device import Device, ort_providers, torch_device

    target = Device.parse(device)
    if any(v.format == "torchscript" for v in variants):
        torch_device(target)
    if any(v.format == "onnx" for v in variants):
        ort_providers(target)


def _threshold_text(threshold: Threshold | None, manifest: Manifest) -> str:
    if threshold is None:
        return f"{manifest.source.threshold:g} (the model's)"
    if isinstance(threshold, (int, float)):
        return f"{float(threshold):g}"
    return ",".join(f"{label}={value:g}" for label, value in threshold.items())


def _merge_and_save(root: Path, manifest: Manifest, report: EvalReport) -> EvalReport:
    """Keep earlier records of variants not evaluated now when they were measured in the same context (data,
    threshold, device, reference) and their files are unchanged; anything else in the old file is dropped."""
    previous = load_eval(root)
    if previous is not None and previous.context() == report.context():
        current = {v.id: v.digest for v in manifest.variants}
        fresh = {r.variant for r in report.records}
        kept = [r for r in previous.records
                if not r.reference and r.variant not in fresh and current.get(r.variant) == r.sha256]
        order = {v.id: i for i, v in enumerate(manifest.variants)}
        merged = [report.records[0], *sorted(report.records[1:] + kept, key=lambda r: order.get(r.variant, len(order)))]
        report = report.model_copy(update={"records": merged})
    write_text_atomic(root / EVAL_FILE, json.dumps(report.model_dump(), ensure_ascii=False, indent=2) + "\n")
    return report
