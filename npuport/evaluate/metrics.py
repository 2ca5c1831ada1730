"""Classification metrics on label-set decisions, in pure numpy.

Inputs are boolean matrices [texts, labels]: `gold[i, j]` is true when text i carries label j, `predicted[i, j]`
when the classifier decided label j for text i. Definitions (the ones a user quoting "accuracy" and "F1" for a
multi-label emotion classifier means):
- accuracy: subset accuracy, the share of texts whose predicted label set equals the gold set exactly (for a
  single-label model with one gold label per text this is plain accuracy);
- per label: precision tp/(tp+fp), recall tp/(tp+fn), F1 2tp/(2tp+fp+fn); a precision or recall with an empty
  denominator is 0 (nothing predicted / no support); F1 is undefined (None) for a label neither in the gold data
  nor predicted;
- micro P/R/F1: the same formulas on tp, fp, fn summed over labels;
- macro F1: the mean of the defined per-label F1 values (labels absent from both gold and predictions skipped).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class LabelScore:
    label: str
    precision: float
    recall: float
    f1: float | None  # None: the label is neither in the gold data nor predicted
    support: int  # gold texts with the label
    predicted: int  # texts the classifier gave the label


@dataclass(frozen=True)
class Scores:
    texts: int
    accuracy: float
    micro_precision: float
    micro_recall: float
    micro_f1: float
    macro_f1: float | None  # None when no label is defined (empty data)
    per_label: list[LabelScore]


def _ratio(numerator: np.ndarray | int, denominator: np.ndarray | int) -> np.ndarray:
    numerator, denominator = np.asarray(numerator, dtype=np.float64), np.asarray(denominator, dtype=np.float64)
    return np.divide(numerator, denominator, out=np.zeros_like(numerator), where=denominator > 0)


def score(gold: np.ndarray, predicted: np.ndarray, labels: list[str]) -> Scores:
    gold, predicted = np.asarray(gold, dtype=bool), np.asarray(predicted, dtype=bool)
    if gold.shape != predicted.shape or gold.ndim != 2 or gold.shape[1] != len(labels):
        raise ValueError(f"gold {gold.shape} and predicted {predicted.shape} must both be [texts, {len(labels)}]")
    tp = (gold & predicted).sum(axis=0)
    fp = (~gold & predicted).sum(axis=0)
    fn = (gold & ~predicted).sum(axis=0)
    precision, recall = _ratio(tp, tp + fp), _ratio(tp, tp + fn)
    defined = (tp + fp + fn) > 0
    f1 = _ratio(2 * tp, 2 * tp + fp + fn)
    per_label = [
        LabelScore(label, float(precision[j]), float(recall[j]), float(f1[j]) if defined[j] else None,
                   int(gold[:, j].sum()), int(predicted[:, j].sum()))
        for j, label in enumerate(labels)
    ]
    TP, FP, FN = int(tp.sum()), int(fp.sum()), int(fn.sum())
    return Scores(
        texts=int(gold.shape[0]),
        accuracy=float((gold == predicted).all(axis=1).mean()) if gold.shape[0] else 0.0,
        micro_precision=float(_ratio(TP, TP + FP)),
        micro_recall=float(_ratio(TP, TP + FN)),
        micro_f1=float(_ratio(2 * TP, 2 * TP + FP + FN)),
        macro_f1=float(f1[defined].mean()) if defined.any() else None,
        per_label=per_label,
    )
