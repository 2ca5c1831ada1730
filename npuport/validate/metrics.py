"""Parity metrics between a reference array and a candidate array of shape [texts, labels].

Pure numpy so validate, package and verify can score a variant without torch or onnxruntime.
Both arrays hold probabilities (sigmoid for multi-label, softmax for single-label) or logits.

Non-finite candidates never raise: nan_count/inf_count report them, error magnitudes become inf,
aggregates that need every value (cosine, KL, agreements) become NaN, error_rate counts each
non-finite element as an error, and flips are counted over finite elements only.

Decisions follow the model type's rule (`core.decisions.decide`): a multi-label model decides each label by its
threshold, a single-label one each text by its argmax, so only flips the product could make are counted. A flip is
"borderline" when the reference lies within the allowed tolerance (atol + rtol*|r|) of the threshold, or (argmax) the
reference scores the candidate's choice within it of its own; "real" otherwise.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np

from npuport.core.decisions import activate, decide
from npuport.core.errors import InputError

EPS = 1e-12
Kind = Literal["probabilities", "logits"]


@dataclass(frozen=True)
class Comparison:
    """Every parity number of one candidate against the reference; decision fields are None for logits."""

    texts: int
    labels: int
    cosine_mean: float
    cosine_min: float
    mae: float
    max_abs_error: float
    rmse: float
    max_rel_error: float
    kl_divergence: float
    nan_count: int
    inf_count: int
    error_rate: float
    top1_agreement: float
    topk_overlap: float
    top1_agreement_untied: float  # a different top-1 whose reference score is within tolerance of the best is a tie
    topk_overlap_untied: float  # likewise a top-k member within tolerance of the reference's k-th score
    decision_agreement: float | None
    decisions: int | None  # judged: texts x labels (multi-label), texts (single-label)
    real_flips: int | None
    borderline_flips: int | None
    smallest_passing_atol: float

    def as_dict(self) -> dict[str, Any]:
        """Plain Python values for a JSON report (NaN/inf stay floats; json writes them as NaN/Infinity)."""
        return asdict(self)


def compare(
    reference: np.ndarray,
    candidate: np.ndarray,
    *,
    atol: float,
    rtol: float,
    threshold: float = 0.5,
    top_k: int = 3,
    kind: Kind = "probabilities",
    bernoulli: bool = True,
) -> Comparison:
    """Score `candidate` against `reference` (both [texts, labels]).

    `bernoulli` is the model type: True treats each element as an independent Bernoulli (multi-label, sigmoid: KL
    per element, decisions by threshold), False each row as one categorical distribution (softmax: KL per row,
    decisions by argmax).
    For kind="logits" the arrays are first mapped through sigmoid/softmax accordingly for KL only.
    """
    ref = np.asarray(reference, dtype=np.float64)
    cand = np.asarray(candidate, dtype=np.float64)
    _check(ref, cand, atol=atol, rtol=rtol, top_k=top_k, kind=kind)
    texts, labels = ref.shape

    nan_mask = np.isnan(cand)
    inf_mask = np.isinf(cand)
    finite = ~(nan_mask | inf_mask)
    all_finite = bool(finite.all())

    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        diff = np.abs(cand - ref)
        abs_ref = np.abs(ref)
        if all_finite:
            mae = float(diff.mean())
            max_abs = float(diff.max())
            rmse = float(np.sqrt((diff**2).mean()))
            max_rel = float((diff / np.maximum(abs_ref, EPS)).max())
            smallest_atol = float(np.maximum(0.0, diff - rtol * abs_ref).max())
        else:
            mae = max_abs = rmse = max_rel = smallest_atol = float("inf")
        errors = ~finite | (diff > atol + rtol * abs_ref)
        error_rate = float(errors.mean())

        cos = _row_cosine(ref, cand)
        cosine_mean = float(cos.mean()) if all_finite else float("nan")
        cosine_min = float(cos.min()) if all_finite else float("nan")

        kl = _kl(ref, cand, kind=kind, bernoulli=bernoulli) if all_finite else float("nan")

    if all_finite:
        top1 = float((ref.argmax(axis=1) == cand.argmax(axis=1)).mean())
        topk = _topk_overlap(ref, cand, min(top_k, labels))
        top1_untied = _topk_overlap_untied(ref, cand, 1, atol, rtol)
        topk_untied = _topk_overlap_untied(ref, cand, min(top_k, labels), atol, rtol)
    else:
        top1 = topk = top1_untied = topk_untied = float("nan")

    decision_agreement: float | None = None
    decisions: int | None = None
    real_flips: int | None = None
    borderline_flips: int | None = None
    if kind == "probabilities":
        flipped, near = _flips(ref, cand, finite, threshold, atol, rtol, "sigmoid" if bernoulli else "softmax")
        decisions = flipped.size
        decision_agreement = float((~flipped).mean()) if all_finite else float("nan")
        borderline_flips = int((flipped & near).sum())
        real_flips = int((flipped & ~near).sum())

    return Comparison(
        texts=int(texts),
        labels=int(labels),
        cosine_mean=cosine_mean,
        cosine_min=cosine_min,
        mae=mae,
        max_abs_error=max_abs,
        rmse=rmse,
        max_rel_error=max_rel,
        kl_divergence=kl,
        nan_count=int(nan_mask.sum()),
        inf_count=int(inf_mask.sum()),
        error_rate=error_rate,
        top1_agreement=top1,
        topk_overlap=topk,
        top1_agreement_untied=top1_untied,
        topk_overlap_untied=topk_untied,
        decision_agreement=decision_agreement,
        decisions=decisions,
        real_flips=real_flips,
        borderline_flips=borderline_flips,
        smallest_passing_atol=smallest_atol,
    )


def _flips(ref: np.ndarray, cand: np.ndarray, finite: np.ndarray, threshold: float, atol: float, rtol: float,
           activation: str) -> tuple[np.ndarray, np.ndarray]:
    """(flipped, near) per decision of the model type's rule, finite candidates only. A flip always has
    |c-r| >= |r-threshold|, so max_abs_error as the margin would make every flip "borderline"; the margin is the
    tolerance instead: a flip a passing candidate could also make is borderline."""
    thresholds = np.full(ref.shape[1], threshold)
    masked = np.where(finite, cand, ref)
    changed = decide(ref, thresholds, activation) != decide(masked, thresholds, activation)
    if activation == "sigmoid":
        return finite & changed, np.abs(ref - threshold) <= atol + rtol * np.abs(ref)
    best = ref.max(axis=1)
    chosen = np.take_along_axis(ref, masked.argmax(axis=1)[:, None], axis=1)[:, 0]
    return finite.all(axis=1) & changed.any(axis=1), best - chosen <= atol + rtol * np.abs(best)


def _check(ref: np.ndarray, cand: np.ndarray, *, atol: float, rtol: float, top_k: int, kind: str) -> None:
    """Refuse inputs whose metrics would be meaningless rather than report misleading numbers."""
    if ref.shape != cand.shape:
        raise InputError(f"shape mismatch: reference {ref.shape} vs candidate {cand.shape}")
    if ref.ndim != 2:
        raise InputError(f"expected [texts, labels] arrays, got shape {ref.shape}")
    if ref.size == 0:
        raise InputError(f"empty arrays of shape {ref.shape}")
    if not np.isfinite(ref).all():
        raise InputError("reference contains NaN or Inf; it must be finite")
    if kind not in ("probabilities", "logits"):
        raise InputError(f"kind must be 'probabilities' or 'logits', got {kind!r}")
    if top_k < 1:
        raise InputError(f"top_k must be at least 1, got {top_k}")
    if atol < 0 or rtol < 0:
        raise InputError(f"atol and rtol must be non-negative, got atol={atol} rtol={rtol}")


def _row_cosine(ref: np.ndarray, cand: np.ndarray) -> np.ndarray:
    """Row-wise cosine; two zero rows are identical (1.0), one zero row against a non-zero one is 0.0."""
    nr = np.linalg.norm(ref, axis=1)
    nc = np.linalg.norm(cand, axis=1)
    dot = (ref * cand).sum(axis=1)
    both_zero = (nr == 0) & (nc == 0)
    cos = dot / np.maximum(nr * nc, EPS)
    cos = np.where(both_zero, 1.0, cos)
    return np.clip(cos, -1.0, 1.0)


def _kl(ref: np.ndarray, cand: np.ndarray, *, kind: str, bernoulli: bool) -> float:
    """Mean over rows of KL(ref || cand); clipping keeps a hard 0 or 1 from giving inf."""
    if kind == "logits":
        activation = "sigmoid" if bernoulli else "softmax"
        ref, cand = activate(ref, activation), activate(cand, activation)
    if bernoulli:
        p = np.clip(ref, EPS, 1.0 - EPS)
        q = np.clip(cand, EPS, 1.0 - EPS)
        per_element = p * np.log(p / q) + (1.0 - p) * np.log((1.0 - p) / (1.0 - q))
        return float(per_element.mean(axis=1).mean())
    p = np.clip(ref, EPS, 1.0)
    q = np.clip(cand, EPS, 1.0)
    p = p / p.sum(axis=1, keepdims=True)
    q = q / q.sum(axis=1, keepdims=True)
    return float((p * np.log(p / q)).sum(axis=1).mean())


def _topk_overlap(ref: np.ndarray, cand: np.ndarray, k: int) -> float:
    """Mean share of the reference's k highest labels that the candidate also ranks in its k highest."""
    rk = np.argsort(-ref, axis=1, kind="stable")[:, :k]
    ck = np.argsort(-cand, axis=1, kind="stable")[:, :k]
    shared = [len(set(a.tolist()) & set(b.tolist())) for a, b in zip(rk, ck)]
    return float(np.mean(shared) / k)


def _topk_overlap_untied(ref: np.ndarray, cand: np.ndarray, k: int, atol: float, rtol: float) -> float:
    """Mean share of the candidate's k highest labels whose reference score reaches the reference's k-th score
    less the tolerance: swapping labels the reference itself cannot tell apart is not a disagreement."""
    kth = -np.sort(-ref, axis=1)[:, k - 1 : k]
    ck = np.argsort(-cand, axis=1, kind="stable")[:, :k]
    picked = np.take_along_axis(ref, ck, axis=1)
    return float((picked >= kth - (atol + rtol * np.abs(kth))).mean())


