"""Eval metrics against values worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from npuport.evaluate.metrics import score

LABELS = ["a", "b", "c"]
# text 0: {a} → {a}        exact
# text 1: {b} → {a, b}     a is a false positive
# text 2: {a, b} → {a}     b is a false negative
# text 3: {} → {}          exact (nothing to find, nothing found)
GOLD = np.array([[1, 0, 0], [0, 1, 0], [1, 1, 0], [0, 0, 0]], dtype=bool)
PRED = np.array([[1, 0, 0], [1, 1, 0], [1, 0, 0], [0, 0, 0]], dtype=bool)


def test_subset_accuracy_micro_and_macro_by_hand():
    s = score(GOLD, PRED, LABELS)
    assert s.texts == 4
    assert s.accuracy == pytest.approx(2 / 4)
    # summed over labels: tp = 2 (a) + 1 (b) = 3, fp = 1 (a), fn = 1 (b)
    assert s.micro_precision == pytest.approx(3 / 4)
    assert s.micro_recall == pytest.approx(3 / 4)
    assert s.micro_f1 == pytest.approx(2 * 3 / (2 * 3 + 1 + 1))
    # a: tp 2, fp 1, fn 0 → P 2/3, R 1, F1 4/5; b: tp 1, fp 0, fn 1 → P 1, R 1/2, F1 2/3; c: undefined, skipped
    a, b, c = s.per_label
    assert (a.precision, a.recall, a.f1, a.support, a.predicted) == (pytest.approx(2 / 3), 1.0, pytest.approx(0.8), 2, 3)
    assert (b.precision, b.recall, b.f1, b.support, b.predicted) == (1.0, 0.5, pytest.approx(2 / 3), 2, 1)
    assert (c.precision, c.recall, c.f1, c.support, c.predicted) == (0.0, 0.0, None, 0, 0)
    assert s.macro_f1 == pytest.approx((0.8 + 2 / 3) / 2)


def test_a_label_never_predicted_counts_zero_in_macro_f1():
    gold = np.array([[1, 1], [0, 1]], dtype=bool)
    pred = np.array([[0, 1], [0, 1]], dtype=bool)
    s = score(gold, pred, ["x", "y"])
    x, y = s.per_label
    assert (x.precision, x.recall, x.f1) == (0.0, 0.0, 0.0)  # support 1, never predicted
    assert y.f1 == 1.0
    assert s.macro_f1 == pytest.approx(0.5)
    assert s.accuracy == pytest.approx(0.5)
    assert s.micro_f1 == pytest.approx(2 * 2 / (2 * 2 + 0 + 1))


def test_perfect_and_empty_predictions():
    perfect = score(GOLD, GOLD, LABELS)
    assert perfect.accuracy == perfect.micro_f1 == perfect.macro_f1 == 1.0
    nothing = score(GOLD, np.zeros_like(GOLD), LABELS)
    assert nothing.micro_precision == 0.0 and nothing.micro_f1 == 0.0 and nothing.accuracy == pytest.approx(1 / 4)


def test_shapes_must_agree():
    with pytest.raises(ValueError, match="must both be"):
        score(GOLD, PRED[:, :2], LABELS)
