"""Validate variants on a device against the fp32 eager CPU reference, under per-precision profiles.

Two comparisons per variant: end-to-end (reference → variant@device) is the gate; device-only
(variant@cpu → variant@device) tells precision loss from device drift and is skipped when the device is the CPU.
Inputs are real tokenized corpus texts (the golden inputs convert recorded, or a user's texts with the
reference recomputed from the source model); dynamic variants see length-sorted batches, static variants see
every bucket, each filled with the texts that fit it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from npuport.core.buckets import BucketPolicy, bucket_for, by_length, length_batches
from npuport.core.decisions import to_probabilities
from npuport.core.devices import Device, cpu_class
from npuport.core.errors import InputError, ParityError
from npuport.core.golden import GoldenInputs, load_reference
from npuport.core.manifest import Bucket, Manifest, Platform, Variant
from npuport.model.tokenizer import TextEncoder, golden_inputs, saved_tokenizer
from npuport.runtime.classifier import Classifier
from npuport.runtime.execute import run_feed
from npuport.runtime.loader import load
from npuport.runtime.runner import Runner
from npuport.validate.metrics import Comparison, compare
from npuport.validate.profiles import Check, Profile

if TYPE_CHECKING:
    from npuport.model.reference import EagerReference

DYNAMIC_BATCH = 16
MIN_TEXTS_PER_BUCKET = 8


@dataclass
class ReferenceSet:
    """Token rows and the fp32 eager CPU logits for them; `origin` says where the logits came from."""

    golden: GoldenInputs
    logits: np.ndarray
    origin: str


@dataclass
class VariantValidation:
    variant: str
    digest: str
    format: str
    precision: str
    shape: str
    device: str
    engine: str
    platform: Platform
    profile: Profile
    end_to_end: Comparison
    end_to_end_logits: Comparison
    device_only: Comparison | None
    buckets: list[dict[str, Any]]
    checks: list[Check]
    caveats: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(check.passed for check in self.checks)

    @property
    def failures(self) -> list[str]:
        return [check.describe() for check in self.checks if not check.passed]

    def __bool__(self) -> bool:
        return self.passed

    def as_dict(self) -> dict[str, Any]:
        return {
            "variant": self.variant, "sha256": self.digest, "format": self.format, "precision": self.precision,
            "shape": self.shape, "device": self.device, "engine": self.engine,
            "platform": self.platform.model_dump(), "passed": self.passed,
            "profile": self.profile.limits(), "checks": [c.as_dict() for c in self.checks], "failures": self.failures,
            "end_to_end": {"probabilities": self.end_to_end.as_dict(), "logits": self.end_to_end_logits.as_dict()},
            "device_only": self.device_only.as_dict() if self.device_only else None,
            "buckets": self.buckets, "caveats": self.caveats,
        }


class Verdicts:
    """What a run over variants concluded (validate, verify): passed, or the one ParityError naming what failed.
    Subclasses (dataclasses) hold `results` and `device` and name their `action`."""

    action: ClassVar[str]
    results: list[VariantValidation]
    device: str

    @property
    def passed(self) -> bool:
        return all(self.results)

    def raise_if_failed(self) -> None:
        failed = [r.variant for r in self.results if not r.passed]
        if failed:
            raise ParityError(f"{len(failed)} variant(s) failed {self.action} on {self.device}: {', '.join(failed)}")


def golden_reference(root: Path, manifest: Manifest) -> ReferenceSet:
    """The golden inputs and reference logits convert recorded (hashes checked)."""
    inputs = manifest.golden.inputs.verify(root)
    reference = manifest.golden.reference.verify(root)
    return ReferenceSet(GoldenInputs.load(inputs), load_reference(reference),
                        f"{manifest.golden.texts} bundled corpus texts (zh + en), fp32 eager CPU logits recorded by convert")


def custom_reference(root: Path, manifest: Manifest, texts: list[str]) -> ReferenceSet:
    """The user's texts, with reference logits computed now from the source model (fp32, eager, CPU)."""
    source_dir = Path(manifest.source.path)
    if not source_dir.is_dir():
        raise InputError(f"--texts needs the source model to compute the reference, but {source_dir} is not here; "
                         "without it, validate on the golden inputs recorded by convert (omit --texts)")
    reference = _eager_reference(source_dir, manifest.source.input_names)
    encoder = TextEncoder(saved_tokenizer(root, manifest), manifest.source.input_names, manifest.golden.seq_len)
    golden = golden_inputs(encoder, [f"text-{i + 1}" for i in range(len(texts))], texts)
    logits = reference.logits_by_length(golden.lengths, golden.rows)
    return ReferenceSet(golden, logits, f"{len(texts)} texts from the user, fp32 eager CPU logits computed now from {source_dir}")


def _eager_reference(source_dir: Path, input_names: list[str]) -> EagerReference:
    """Custom --texts need the source model, which only torch loads (the `convert` extra): imported here, so the base
    install validates on the golden inputs without torch."""
    from npuport.model.reference import EagerReference
    from npuport.model.source import load_source

    return EagerReference(load_source(source_dir).model, input_names)


def variant_logits(classifier: Classifier, golden: GoldenInputs) -> tuple[np.ndarray, np.ndarray, list[dict[str, Any]]]:
    """Logits of the variant on the golden rows: (row index, logits, per-bucket row ranges)."""
    variant = classifier.variant
    if variant.shape == "dynamic":
        batches = length_batches(golden.lengths, DYNAMIC_BATCH)
        parts = [classifier.logits(golden.rows(batch)) for batch in batches]
        return np.concatenate(batches), np.concatenate(parts), [{"bucket": "any", "rows": [0, len(golden.lengths)]}]
    rows_all: list[np.ndarray] = []
    parts = []
    spans: list[dict[str, Any]] = []
    start = 0
    for bucket, batches in assign_to_buckets(golden.lengths, variant.buckets):
        for chunk in batches:
            parts.append(classifier.logits(golden.rows(chunk, seq=bucket.seq), bucket))
            rows_all.append(chunk)
        texts = sum(len(chunk) for chunk in batches)
        spans.append({"bucket": str(bucket), "rows": [start, start + texts]})
        start += texts
    return np.concatenate(rows_all), np.concatenate(parts), spans


def assign_to_buckets(lengths: np.ndarray, buckets: list[Bucket]) -> list[tuple[Bucket, list[np.ndarray]]]:
    """The calls that check each bucket, padded as the runtime pads them (`bucket_for`): every text in the bucket it
    is served in alone, in batches the bucket holds; a bucket left with fewer than MIN_TEXTS_PER_BUCKET also gets one
    batch of texts the runtime would pad to it in a batch that size, spread over their lengths (none: it stays thin
    and the report says so) — every bucket the runtime uses runs, no text runs needlessly often."""
    order = by_length(lengths)
    alone: dict[Bucket, list[int]] = {b: [] for b in buckets}
    for text in order:
        bucket = bucket_for(buckets, 1, lengths[text])
        if bucket is not None:  # else longer than every bucket: golden rows are cut to the largest, so never
            alone[bucket].append(int(text))
    calls: list[tuple[Bucket, list[np.ndarray]]] = []
    for bucket in buckets:
        texts = np.array(alone[bucket], dtype=np.int64)
        batches = [texts[s : s + bucket.batch] for s in range(0, len(texts), bucket.batch)]
        if len(texts) < MIN_TEXTS_PER_BUCKET:
            rows = min(bucket.batch, MIN_TEXTS_PER_BUCKET)
            own = set(alone[bucket])
            fits = np.array([t for t in order if t not in own and bucket_for(buckets, rows, lengths[t]) == bucket],
                            dtype=np.int64)
            picks = fits[np.unique(np.linspace(0, len(fits) - 1, num=min(rows, len(fits))).round().astype(int))]
            if len(picks) and bucket_for(buckets, len(picks), lengths[picks].max()) == bucket:
                batches.append(picks)
        calls.append((bucket, batches))
    return calls


def validate_variant(
    root: Path,
    manifest: Manifest,
    variant: Variant,
    device: Device,
    profile: Profile,
    reference: ReferenceSet,
    threads: int | None = None,
    om: Path | None = None,
) -> VariantValidation:
    """Run `variant` on `device` (and on the CPU for the device-only comparison) and judge it by `profile`; with `om`,
    on the device as the `.om` files in that folder (runtime.load)."""
    with load(root, variant.id, device, threads, om) as classifier:
        engine, platform = classifier.engine, classifier.platform
        rows, logits, spans = variant_logits(classifier, reference.golden)
    activation = manifest.source.activation
    options = dict(atol=profile.atol, rtol=profile.rtol, threshold=manifest.source.threshold, top_k=profile.top_k,
                   bernoulli=activation == "sigmoid")
    want = to_probabilities(reference.logits[rows], activation)
    got = to_probabilities(logits, activation)
    end_to_end = compare(want, got, **options)
    end_to_end_logits = compare(reference.logits[rows], logits, kind="logits", **options)
    device_only = None
    if device.type != "cpu":
        with load(root, variant.id, "cpu", threads) as on_cpu:
            cpu_rows, cpu_logits, _ = variant_logits(on_cpu, reference.golden)
        assert np.array_equal(cpu_rows, rows)
        device_only = compare(to_probabilities(cpu_logits, activation), got, **options)
    buckets = [_bucket_summary(span, want, got, options) for span in spans]
    return VariantValidation(
        variant=variant.id, digest=variant.digest, format=variant.format, precision=variant.precision,
        shape=variant.shape, device=str(device), engine=engine, platform=platform, profile=profile, end_to_end=end_to_end,
        end_to_end_logits=end_to_end_logits, device_only=device_only, buckets=buckets,
        checks=profile.checks(end_to_end),
        caveats=caveats(manifest, variant, device, want, buckets, reference.origin),
    )


def _bucket_summary(span: dict[str, Any], want: np.ndarray, got: np.ndarray, options: dict[str, Any]) -> dict[str, Any]:
    a, b = span["rows"]
    summary: dict[str, Any] = {"bucket": span["bucket"], "texts": b - a}
    if b > a:
        part = compare(want[a:b], got[a:b], **options)
        summary |= {"max_abs_error": part.max_abs_error, "top1_agreement": part.top1_agreement,
                    "real_flips": part.real_flips}
    return summary


def caveats(
    manifest: Manifest, variant: Variant, device: Device, reference: np.ndarray, buckets: list[dict[str, Any]], origin: str,
) -> list[str]:
    """Where a comparison does not test what its name claims, say so in the report."""
    notes: list[str] = []
    if variant.format == "onnx" and variant.engine is None and variant.precision in ("fp16", "bf16") and device.type == "cpu":
        notes.append(f"{variant.precision} on ONNX Runtime's CPU provider: it has no {variant.precision} kernels for "
                     "most ops and computes them in fp32 between inserted Casts, so this measures the rounding of "
                     f"weights and activations, not {variant.precision} arithmetic as a GPU or NPU does it; "
                     "validate on the target device")
    here = cpu_class().name
    scheme = variant.quantization
    if device.type == "cpu" and scheme is not None and scheme.exact_on and here not in scheme.exact_on:
        notes.append(f"int8 weights built for {scheme.chosen_for}: this CPU ({here}) sums their products with 16-bit "
                     "saturating pairs, not exactly as the classes it was built for do; what passes here holds here only")
    if device.type == "cpu":
        notes.append("device-only comparison skipped: the target is the CPU, where the reference also ran")
    thin = [f"{b['bucket']} ({b['texts']})" for b in buckets if b["bucket"] != "any" and b["texts"] < MIN_TEXTS_PER_BUCKET]
    if thin:
        notes.append(f"few texts fit bucket(s) {', '.join(thin)}: their parity rests on little evidence")
    if manifest.source.activation == "sigmoid":
        near = float((np.abs(reference - manifest.source.threshold) < 0.2).mean())
        if near > 0.5:
            notes.append(f"{near:.0%} of reference probabilities lie within 0.2 of the threshold: the model is not "
                         "decisive, so decision agreement says little")
    if "computed now" in origin:
        notes.append("reference computed from the source model on the user's texts, not the golden record")
    return notes


def judge_file(runner: Runner, golden: GoldenInputs, reference_logits: np.ndarray, profile: Profile, activation: str,
               threshold: float, pad_token_id: int, bucket: Bucket | None = None) -> tuple[Comparison, list[str]]:
    """A candidate file (an unactivated runner, e.g. `runner_for`) judged by `profile` on the golden rows that fit
    `bucket`, batched as validation batches them: the comparison and the failing checks (empty: it passes). Convert's
    int8 ladder and `npuport tune` decide with it before a file becomes a variant."""
    fits = np.flatnonzero(golden.lengths <= (bucket.seq if bucket else golden.lengths.max()))
    batches = length_batches(golden.lengths, bucket.batch if bucket else DYNAMIC_BATCH, among=fits)
    order = np.concatenate(batches)
    policy = BucketPolicy([bucket] if bucket else None)
    with runner:
        logits = np.concatenate([run_feed(runner, golden.rows(batch, seq=bucket.seq if bucket else None), policy,
                                          pad_token_id) for batch in batches])
    want, got = (to_probabilities(x, activation) for x in (reference_logits[order], logits))
    comparison = compare(want, got, atol=profile.atol, rtol=profile.rtol, threshold=threshold, top_k=profile.top_k,
                         bernoulli=activation == "sigmoid")
    return comparison, [check.describe() for check in profile.checks(comparison) if not check.passed]
