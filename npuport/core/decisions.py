"""The decision rule, in one place: logits → probabilities (sigmoid for multi-label, softmax for single-label) →
labels. Multi-label models take every label at or over its threshold (`>=`), single-label models their argmax.
`Classifier.predict`, the eval scorer, the hand-written bench baseline and the zoo's decisiveness all use it.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from npuport.core.errors import InputError

Threshold = float | Mapping[str, float]


def activate(logits: np.ndarray, activation: str) -> np.ndarray:
    """Probabilities in float64 (sigmoid element-wise, or softmax over the last axis), stable for any logits."""
    logits = np.asarray(logits, dtype=np.float64)
    if activation == "sigmoid":
        return 0.5 * (1.0 + np.tanh(0.5 * logits))
    shifted = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)


def to_probabilities(logits: np.ndarray, activation: str) -> np.ndarray:
    """`activate` as float32, the dtype predictions and parity comparisons carry."""
    return activate(logits, activation).astype(np.float32)


def decide(probabilities: np.ndarray, thresholds: np.ndarray, activation: str) -> np.ndarray:
    """Predicted label sets as a bool matrix [texts, labels]: sigmoid models take every label at or over its
    threshold, softmax models their argmax (the first of equal scores)."""
    probabilities = np.atleast_2d(probabilities)
    if activation == "sigmoid":
        return probabilities >= np.asarray(thresholds)[None, :]
    decided = np.zeros(probabilities.shape, dtype=bool)
    decided[np.arange(len(probabilities)), probabilities.argmax(axis=1)] = True
    return decided


def resolve_thresholds(threshold: Threshold | np.ndarray | None, labels: list[str], default: float) -> np.ndarray:
    """One threshold per label: `default`, one number for all, or per label (labels not named keep the default).
    An array is one already resolved (one value per label) and is returned as it is: resolved once, used twice."""
    if isinstance(threshold, np.ndarray):
        if threshold.shape != (len(labels),):
            raise InputError(f"resolved thresholds must hold one value per label ({len(labels)}), got shape {threshold.shape}")
        return threshold
    if threshold is None or isinstance(threshold, (int, float)):
        value = default if threshold is None else threshold
        _check_probability("threshold", value)
        return np.full(len(labels), float(value), dtype=np.float64)
    if not isinstance(threshold, Mapping):
        raise InputError(f"threshold must be a number between 0 and 1 or a mapping of label to number, got {threshold!r}")
    unknown = [name for name in threshold if name not in labels]
    if unknown:
        raise InputError(f"threshold for unknown label(s) {', '.join(map(repr, unknown))}; labels: {', '.join(labels)}")
    for name, value in threshold.items():
        _check_probability(f"threshold for {name!r}", value)
    return np.array([float(threshold.get(name, default)) for name in labels], dtype=np.float64)


def _check_probability(what: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (0.0 <= value <= 1.0):
        raise InputError(f"{what} must be a number between 0 and 1, got {value!r}")


def unaddressable(label: str) -> str | None:
    """Why `--threshold LABEL=P` could not name this label (None when it can): parse_threshold splits pairs at ','
    and strips spaces, so a blank name, one with a ',' or one with leading/trailing space is out of reach."""
    if not label.strip():
        return "is blank"
    if "," in label:
        return "holds a ','"
    if label != label.strip():
        return "starts or ends with a space"
    return None


def parse_threshold(text: str) -> Threshold:
    """The CLI's --threshold: '0.3' for every label, or 'joy=0.4,anger=0.2' per label (others keep the default); each
    a probability, each label once. Whether the labels exist is checked where they are known (`resolve_thresholds`)."""
    text = text.strip()
    if "=" not in text:
        return _number(text, text)
    pairs: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, sep, value = part.rpartition("=")
        if not sep or not name.strip():
            raise InputError(f"bad --threshold part {part!r}: expected LABEL=NUMBER")
        if name.strip() in pairs:
            raise InputError(f"--threshold names {name.strip()!r} twice")
        pairs[name.strip()] = _number(value, part)
    return pairs


def _number(value: str, where: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise InputError(f"bad --threshold {where!r}: expected a number like 0.3 or LABEL=NUMBER pairs") from None
    _check_probability(f"--threshold {where!r}", number)
    return number
