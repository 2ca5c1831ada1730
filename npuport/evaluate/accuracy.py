"""Evaluate variants on labelled texts beside the fp32 reference; write `<artifacts>/reports/eval.json`.

The reference is the source model, eager fp32 on the CPU, when `manifest.source.path` still holds the weights
convert read (same sha256); otherwise the artifacts' own fp32 variant (onnx-fp32-dynamic first), and the report
says which and why. Variants run through `npuport.runtime.load(...).predict`, the path users call, on `device`.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from npuport.core.clock import utc_now
from npuport.core.decisions import Threshold, decide, resolve_thresholds, to_probabilities
from npuport.core.devices import CPU, Device
from npuport.core.errors import InputError, ManifestError
from npuport.core.files import sha256_file
from npuport.core.manifest import Manifest, Variant
from npuport.core.progress import Progress, reporter, step, total
from npuport.core.reports.evaluation import EvalReport, SystemRecord, write_eval
from npuport.evaluate.data import LabelledData, bundled_for, read_jsonl
from npuport.evaluate.metrics import Scores, score
from npuport.runtime.backends import check_available

EAGER_ID = "eager-fp32"


def _eager_source(manifest: Manifest) -> tuple[Path | None, str]:
    """The source model directory when it still holds the weights convert exported, else None and why not."""
    from npuport.model.source import find_weights

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


def _eager_probabilities(root: Path, manifest: Manifest, model_dir: Path, texts: list[str]) -> np.ndarray:
    """The eager reference on the texts, tokenized by the artifacts' tokenizer exactly as `Classifier.predict` does."""
    from npuport.model.reference import EagerReference
    from npuport.model.source import load_source
    from npuport.model.tokenizer import TextEncoder, saved_tokenizer

    info = manifest.source
    encoder = TextEncoder(saved_tokenizer(root, manifest), info.input_names, info.max_length)
    encoded = encoder.encode(texts)
    reference = EagerReference(load_source(model_dir).model, info.input_names)
    logits = reference.logits_by_length(encoded.lengths, lambda index: encoder.feed(encoded, index))
    return to_probabilities(logits, info.activation)


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
    device: Device = CPU,
    threshold: Threshold | None = None,
    batch_size: int = 16,
    progress: Progress | None = None,
) -> EvalReport:
    """Score every variant (or those named) and the reference on labelled texts; write and return eval.json."""
    from npuport.runtime import load

    root = Path(root)
    notify = reporter(progress)
    manifest = Manifest.load(root)
    labels = manifest.source.labels
    single_label = manifest.source.activation == "softmax"
    labelled: LabelledData = read_jsonl(data, labels, single_label) if data is not None else bundled_for(labels)
    chosen = [manifest.variant(v) for v in variants] if variants else list(manifest.variants)
    if not chosen:
        raise InputError("no variant to evaluate")
    thresholds = resolve_thresholds(threshold, manifest.source.labels, manifest.source.threshold)
    check_available(device, {v.format for v in chosen})  # before the (slow) reference runs

    source_dir, why = _eager_source(manifest)
    index = {label: j for j, label in enumerate(labels)}

    def score_variant(variant: Variant, on: Device, is_reference: bool) -> tuple[SystemRecord, np.ndarray]:
        started = time.perf_counter()
        with step(notify, variant.id), load(root, variant.id, on) as classifier:
            predictions = classifier.predict(labelled.texts, thresholds, batch_size=batch_size)
            engine = classifier.engine
        decided = np.zeros(labelled.gold.shape, dtype=bool)
        for i, prediction in enumerate(predictions):
            decided[i, [index[name] for name in prediction.labels]] = True
        record = _record(score(labelled.gold, decided, labels), variant=variant.id, sha256=variant.digest,
                         reference=is_reference, precision=variant.precision, format=variant.format,
                         shape=variant.shape, device=str(on), engine=engine, seconds=time.perf_counter() - started)
        return record, decided

    # The reference is a CPU measurement: the eager source model, else the artifacts' fp32 variant.
    fallback = _fp32_variant(manifest)
    if source_dir is None:
        if fallback is None:
            raise ManifestError(f"{why}, and the artifacts hold no fp32 variant to serve as the reference")
        if device == CPU:
            chosen = [v for v in chosen if v.id != fallback.id]
    notify(total(1 + len(chosen)))
    if source_dir is not None:
        started = time.perf_counter()
        with step(notify, EAGER_ID):
            probabilities = _eager_probabilities(root, manifest, source_dir, labelled.texts)
        reference_decided = decide(probabilities, thresholds, manifest.source.activation)
        reference = _record(score(labelled.gold, reference_decided, labels), variant=EAGER_ID,
                            sha256=manifest.source.weights_sha256, reference=True, precision="fp32", format="eager",
                            shape="dynamic", device="cpu", engine="torch (cpu), transformers eager",
                            seconds=time.perf_counter() - started)
        reference_info = {"variant": EAGER_ID, "kind": "eager", "why": why}
    else:
        reference, reference_decided = score_variant(fallback, CPU, is_reference=True)
        reference_info = {"variant": fallback.id, "kind": "variant", "why": f"{why}; the reference is {fallback.id} on cpu"}

    records = [reference]
    for variant in chosen:
        record, decided = score_variant(variant, device, is_reference=False)
        records.append(record.model_copy(update={
            "delta": _delta(record, reference), "changed": int((decided != reference_decided).any(axis=1).sum())}))
    report = EvalReport(
        created=utc_now(), artifacts=str(root), threshold=_threshold_text(threshold, manifest), device=str(device),
        data={"source": labelled.source, "sha256": labelled.sha256, "texts": len(labelled)},
        reference=reference_info, records=records,
    )
    return write_eval(root, list(manifest.variants), report)


def _threshold_text(threshold: Threshold | None, manifest: Manifest) -> str:
    if threshold is None:
        return f"{manifest.source.threshold:g} (the model's)"
    if isinstance(threshold, (int, float)):
        return f"{float(threshold):g}"
    return ",".join(f"{label}={value:g}" for label, value in threshold.items())
