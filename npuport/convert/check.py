"""The post-export checks: a torch program must name no fixed device, and each written file, run in a fresh runtime,
must match the eager reference.

This is a sanity gate against broken exports, not the validation profiles of `npuport validate`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from npuport.core.buckets import BucketPolicy, by_length
from npuport.core.decisions import to_probabilities
from npuport.core.errors import ConversionError
from npuport.core.golden import GoldenInputs
from npuport.core.manifest import Bucket, ExportCheck
from npuport.runtime.execute import run_feed
from npuport.runtime.runner import Runner

# Max |Δprobability| accepted right after export, per precision: bounds that a broken export (wrong
# inputs, lost weights, garbage) exceeds by far. int8 is judged loosely here (dynamic quantization of
# MiniLM under its fitted head moves some probabilities by ~0.4) and properly by its validation profile.
# bf16 (8-bit mantissa): RoBERTa-base moves a probability near the middle by up to ~0.09 on the golden texts.
TOLERANCE = {"fp32": 1e-4, "fp16": 5e-2, "bf16": 0.2, "int8": 0.5}
CHECK_TEXTS = 6
TORCH_FORMATS = ("torchscript", "torchexport")


def check_portable(path: Path, fmt: str) -> None:
    """A torch program that still names a device (the CPU it was traced on) fails on npu and cuda: refuse it here."""
    if fmt not in TORCH_FORMATS:
        return
    from npuport.convert.portable import fixed_devices

    pinned = fixed_devices(path, fmt)
    if pinned:
        more = f" (and {len(pinned) - 1} more)" if len(pinned) > 1 else ""
        raise ConversionError(f"{path.name} names a fixed device, so it would fail on any other: {pinned[0]}{more}")


def check_rows(golden: GoldenInputs, bucket: Bucket | None) -> np.ndarray:
    """A handful of golden rows spread over lengths; for a static bucket only texts that fit it."""
    fits = np.flatnonzero(golden.lengths <= (bucket.seq if bucket else golden.lengths.max()))
    if fits.size == 0:
        raise ConversionError(f"no golden text fits bucket {bucket}")
    order = by_length(golden.lengths, among=fits)
    picks = np.linspace(0, order.size - 1, num=min(CHECK_TEXTS, order.size)).round().astype(int)
    return order[np.unique(picks)]


def check_export(
    runner: Runner,
    golden: GoldenInputs,
    reference_logits: np.ndarray,
    bucket: Bucket | None,
    precision: str,
    activation: str,
    pad_token_id: int,
) -> ExportCheck:
    rows = check_rows(golden, bucket)
    feed = golden.rows(rows, seq=bucket.seq if bucket else None)
    with runner:
        logits = run_feed(runner, feed, BucketPolicy([bucket] if bucket else None), pad_token_id)
    got = to_probabilities(logits, activation)
    want = to_probabilities(reference_logits[rows], activation)
    error = float(np.abs(got - want).max()) if np.isfinite(got).all() else float("inf")
    top1 = float((got.argmax(-1) == want.argmax(-1)).mean())
    tolerance = TOLERANCE[precision]
    if not error <= tolerance:
        raise ConversionError(
            f"{runner.name} disagrees with the eager model right after export: max |Δprob| {error:.3g} > {tolerance:g}"
        )
    return ExportCheck(texts=len(rows), max_abs_prob_error=error, tolerance=tolerance, top1_agreement=top1)
