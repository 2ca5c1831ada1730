"""Validation profiles: per precision, the checks a variant must pass against the fp32 CPU reference.

A profile is a set of limits on the probability comparison (`metrics.Comparison`). A variant passes only when
every check holds; any NaN or Inf fails whatever the profile says. Limits can be overridden from a JSON file
(`{"fp16": {"max_abs_error": 0.005}}`) or from flags (`fp16.max_abs_error=0.005`).

Why these defaults:
- fp32: the same arithmetic in another engine differs by float rounding only (~1e-6); anything near 1e-5 is a bug.
- fp16: 10-bit mantissa; seed 001's Ascend run showed max |Δp| 0.0028 and no top-1 change; RoBERTa-base in fp16
  on the CPU reaches 0.0042 over 12 layers, so an element counts as an error beyond 5e-3.
- bf16: 7-bit mantissa, ~8× coarser than fp16, judged like int8 on what the classifier decides. A faithful bf16 file
  (bit-identical to transformers' own bf16 eager model) moved 16-24% of the probabilities of three held-out models
  by more than 0.01 and flipped up to 0.64% of their decisions that lay clear of the threshold; RoBERTa-base moves a
  probability near 0.3 by 0.087. So no element-error-rate check, a real flip counts only beyond 0.05 of the threshold
  (the int8 margin), and up to 1% of decisions may flip (the decision-level budget int8 has); top-1/top-k, cosine and
  a max |Δp| of 0.2 (convert's bf16 export check) still catch a broken file.
- int8: weights quantized; probabilities move by several hundredths, so it is judged on what the classifier
  decides (top-1, top-k, decisions at the threshold), with a loose bound on the probabilities themselves.

Top-1 and top-k are checked "untied": where the candidate picks a label whose reference score lies within the
profile's tolerance (atol + rtol*|r|) of the reference's own pick, the reference could not tell them apart either,
and that is not counted as a disagreement (the plain figures are reported beside them).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from npuport.core.errors import InputError
from npuport.validate.metrics import Comparison


@dataclass(frozen=True)
class Profile:
    """Limits for one precision. `atol`/`rtol` define an element error (|c-r| > atol + rtol*|r|) and the margin
    within which a decision flip counts as borderline; the `max_*`/`min_*` fields are the checks (None: not checked).
    """

    name: str
    atol: float
    rtol: float
    max_abs_error: float | None
    max_error_rate: float | None  # share of elements beyond atol + rtol*|ref|
    min_cosine: float | None  # per-text cosine similarity, the worst text
    min_top1: float | None
    min_topk: float | None
    max_real_flip_rate: float | None  # share of decisions (the model type's rule) that flip although the reference is clear
    top_k: int = 3

    def checks(self, comparison: Comparison) -> list[Check]:
        """Every check of this profile on `comparison`; a non-finite output is always the first, failing check."""
        result = [Check("finite outputs", float(comparison.nan_count + comparison.inf_count), 0.0, "<=",
                        "NaN/Inf in the variant's output")]
        flips, decisions = comparison.real_flips, comparison.decisions
        flip_rate = flips / decisions if flips is not None and decisions else None
        for name, value, limit, op in (
            ("max abs error", comparison.max_abs_error, self.max_abs_error, "<="),
            ("error rate", comparison.error_rate, self.max_error_rate, "<="),
            ("min cosine", comparison.cosine_min, self.min_cosine, ">="),
            ("top-1 agreement", comparison.top1_agreement_untied, self.min_top1, ">="),
            (f"top-{self.top_k} overlap", comparison.topk_overlap_untied, self.min_topk, ">="),
            ("real decision flips", flip_rate, self.max_real_flip_rate, "<="),
        ):
            if limit is not None and value is not None:
                result.append(Check(name, float(value), float(limit), op))
        return result

    def limits(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True)
class Check:
    name: str
    value: float
    limit: float
    op: str  # "<=" or ">="
    what: str = ""

    @property
    def passed(self) -> bool:
        if math.isnan(self.value):
            return False
        return self.value <= self.limit if self.op == "<=" else self.value >= self.limit

    def describe(self) -> str:
        return f"{self.name} {_fmt(self.value)} (limit {self.op} {_fmt(self.limit)})"

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "value": self.value, "limit": self.limit, "op": self.op, "passed": self.passed}


def _fmt(value: float) -> str:
    return f"{value:.6g}"


DEFAULT_PROFILES: dict[str, Profile] = {
    "fp32": Profile("fp32", atol=1e-5, rtol=0.0, max_abs_error=1e-5, max_error_rate=0.0, min_cosine=0.99999,
                    min_top1=1.0, min_topk=1.0, max_real_flip_rate=0.0),
    "fp16": Profile("fp16", atol=5e-3, rtol=0.0, max_abs_error=1e-2, max_error_rate=1e-3, min_cosine=0.9999,
                    min_top1=1.0, min_topk=0.99, max_real_flip_rate=0.0),
    "bf16": Profile("bf16", atol=5e-2, rtol=0.0, max_abs_error=0.2, max_error_rate=None, min_cosine=0.97,
                    min_top1=0.98, min_topk=0.97, max_real_flip_rate=1e-2),
    "int8": Profile("int8", atol=5e-2, rtol=0.0, max_abs_error=0.35, max_error_rate=None, min_cosine=0.95,
                    min_top1=0.95, min_topk=0.90, max_real_flip_rate=1e-2),
}


def resolve_profiles(file: Path | None = None, overrides: list[str] | tuple[str, ...] = ()) -> dict[str, Profile]:
    """The default profiles, updated from a JSON file, then from `PRECISION.FIELD=VALUE` overrides."""
    profiles = dict(DEFAULT_PROFILES)
    if file is not None:
        try:
            data = json.loads(file.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise InputError(f"profile file {file} does not exist") from None
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise InputError(f"profile file {file} is not valid JSON: {exc}") from None
        if not isinstance(data, dict):
            raise InputError(f"profile file {file} must hold an object like {{\"fp16\": {{\"max_abs_error\": 0.005}}}}")
        for precision, changes in data.items():
            if not isinstance(changes, dict):
                raise InputError(f"profile file {file}: {precision!r} must map field names to numbers")
            for key, value in changes.items():
                profiles[precision] = _override(profiles, precision, key, value, f"profile file {file}")
    for item in overrides:
        target, sep, raw = item.partition("=")
        precision, dot, key = target.strip().partition(".")
        if not sep or not dot:
            raise InputError(f"bad --profile {item!r}: expected PRECISION.FIELD=VALUE, e.g. fp16.max_abs_error=0.005")
        value: Any = None if raw.strip().lower() in ("none", "off") else _number(raw, item)
        profiles[precision] = _override(profiles, precision, key.strip(), value, f"--profile {item!r}")
    return profiles


_TUNABLE = {f.name for f in fields(Profile)} - {"name"}
# What each limit can be: a limit outside its range (nan, -1, a cosine of 2) fails every variant, so it is refused.
_SHARE = (0.0, 1.0)
_RANGES = {"atol": (0.0, math.inf), "rtol": (0.0, math.inf), "max_abs_error": (0.0, math.inf), "max_error_rate": _SHARE,
           "min_cosine": (-1.0, 1.0), "min_top1": _SHARE, "min_topk": _SHARE, "max_real_flip_rate": _SHARE,
           "top_k": (1, math.inf)}


def _override(profiles: dict[str, Profile], precision: str, key: str, value: Any, where: str) -> Profile:
    if precision not in profiles:
        raise InputError(f"{where}: unknown precision {precision!r}; profiles: {', '.join(profiles)}")
    if key not in _TUNABLE:
        raise InputError(f"{where}: unknown profile field {key!r}; fields: {', '.join(sorted(_TUNABLE))}")
    if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
        raise InputError(f"{where}: {precision}.{key} must be a number or null, got {value!r}")
    if value is None and key in ("atol", "rtol", "top_k"):
        raise InputError(f"{where}: {precision}.{key} cannot be switched off")
    if value is not None:
        low, high = _RANGES[key]
        if not (math.isfinite(value) and low <= value <= high) or (key == "top_k" and value != int(value)):
            within = "a whole number of at least 1" if key == "top_k" else f"a number from {low:g} to {high:g}"
            raise InputError(f"{where}: {precision}.{key} must be {within} (or none), got {value!r}")
    if key == "top_k":
        value = int(value)
    return replace(profiles[precision], **{key: value})


def _number(raw: str, item: str) -> float:
    try:
        return float(raw)
    except ValueError:
        raise InputError(f"bad --profile {item!r}: {raw.strip()!r} is not a number") from None
