"""npuport.validate.metrics.compare against values worked out by hand on tiny [2, 3] arrays."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from npuport.core.decisions import to_probabilities
from npuport.core.errors import InputError
from npuport.validate.metrics import Comparison, compare
from npuport.validate.profiles import DEFAULT_PROFILES

R = np.array([[0.1, 0.6, 0.3], [0.8, 0.2, 0.4]])


def test_identical_arrays_are_perfect():
    c = compare(R, R.copy(), atol=0.0, rtol=0.0)
    assert (c.texts, c.labels) == (2, 3)
    assert c.cosine_mean == pytest.approx(1.0) and c.cosine_min == pytest.approx(1.0)
    assert c.mae == 0.0 and c.max_abs_error == 0.0 and c.rmse == 0.0 and c.max_rel_error == 0.0
    assert c.kl_divergence == pytest.approx(0.0, abs=1e-15)
    assert c.error_rate == 0.0 and c.smallest_passing_atol == 0.0
    assert c.top1_agreement == 1.0 and c.topk_overlap == 1.0 and c.decision_agreement == 1.0
    assert (c.real_flips, c.borderline_flips, c.nan_count, c.inf_count) == (0, 0, 0, 0)


def test_one_element_off_by_a_tenth():
    cand = R.copy()
    cand[0, 1] = 0.7  # |diff| = 0.1 on one of 6 elements, reference value 0.6
    c = compare(R, cand, atol=0.01, rtol=0.1)
    assert c.mae == pytest.approx(0.1 / 6)  # 0.016666...
    assert c.max_abs_error == pytest.approx(0.1)
    assert c.rmse == pytest.approx(0.0408248290, rel=1e-8)  # sqrt(0.01 / 6) = 0.1 / sqrt(6)
    assert c.max_rel_error == pytest.approx(0.1 / 0.6)  # 0.1666...
    assert c.error_rate == pytest.approx(1 / 6)  # 0.1 > 0.01 + 0.1 * 0.6 = 0.07
    assert c.smallest_passing_atol == pytest.approx(0.04)  # 0.1 - 0.1 * 0.6
    assert c.decision_agreement == 1.0  # 0.6 and 0.7 both >= 0.5
    assert compare(R, cand, atol=0.04 + 1e-12, rtol=0.1).error_rate == 0.0


def test_cosine_by_hand_and_zero_rows():
    ref = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    cand = np.array([[1.0, 1.0, 0.0], [0.0, 0.0, 0.0]])
    c = compare(ref, cand, atol=1.0, rtol=0.0)
    assert c.cosine_min == pytest.approx(0.7071067812)  # 1 / sqrt(2); the zero/zero row counts as 1
    assert c.cosine_mean == pytest.approx((0.7071067812 + 1.0) / 2)


def test_top1_swap_and_topk_overlap():
    cand = np.array([[0.1, 0.3, 0.6], [0.8, 0.5, 0.1]])
    c = compare(R, cand, atol=1.0, rtol=0.0, top_k=2)
    # row 0: argmax 1 -> 2 (swap); row 1: argmax 0 both
    assert c.top1_agreement == 0.5
    # row 0: {1, 2} vs {2, 1} -> 2/2; row 1: {0, 2} vs {0, 1} -> 1/2
    assert c.topk_overlap == 0.75


def test_bernoulli_kl():
    ref = np.full((2, 3), 0.5)
    cand = ref.copy()
    cand[0, 0] = 0.25
    c = compare(ref, cand, atol=1.0, rtol=0.0)
    # one element: 0.5*ln(0.5/0.25) + 0.5*ln(0.5/0.75) = 0.5*ln(4/3) = 0.1438410362; averaged over 3 labels, 2 rows
    assert c.kl_divergence == pytest.approx(0.1438410362 / 6, rel=1e-8)
    every = compare(ref, np.full((2, 3), 0.25), atol=1.0, rtol=0.0)
    assert every.kl_divergence == pytest.approx(0.1438410362, rel=1e-8)


def test_categorical_kl():
    ref = np.array([[0.5, 0.25, 0.25], [0.2, 0.3, 0.5]])
    cand = np.array([[0.25, 0.5, 0.25], [0.2, 0.3, 0.5]])
    c = compare(ref, cand, atol=1.0, rtol=0.0, bernoulli=False)
    # row 0: 0.5*ln 2 + 0.25*ln 0.5 + 0 = 0.25*ln 2 = 0.1732867951; row 1: 0
    assert c.kl_divergence == pytest.approx(0.1732867951 / 2, rel=1e-8)


def test_borderline_flip():
    ref = np.array([[0.52, 0.1, 0.1], [0.2, 0.2, 0.2]])
    cand = np.array([[0.49, 0.1, 0.1], [0.2, 0.2, 0.2]])
    c = compare(ref, cand, atol=0.03, rtol=0.0)
    assert c.max_abs_error == pytest.approx(0.03)
    # 0.52 sits 0.02 from the threshold, within the 0.03 tolerance
    assert (c.borderline_flips, c.real_flips) == (1, 0)
    assert c.decision_agreement == pytest.approx(5 / 6)


def test_real_flip():
    ref = np.array([[0.9, 0.1, 0.1], [0.2, 0.2, 0.2]])
    cand = np.array([[0.4, 0.1, 0.1], [0.2, 0.2, 0.2]])
    c = compare(ref, cand, atol=0.03, rtol=0.0)
    # 0.9 sits 0.4 from the threshold, far outside the 0.03 tolerance
    assert (c.borderline_flips, c.real_flips) == (0, 1)
    assert c.decision_agreement == pytest.approx(5 / 6)


def test_nan_and_inf_in_candidate_do_not_raise():
    cand = R.copy()
    cand[1, 2] = np.nan
    c = compare(R, cand, atol=0.01, rtol=0.0)
    assert (c.nan_count, c.inf_count) == (1, 0)
    assert c.error_rate == pytest.approx(1 / 6)  # the NaN element counts as an error
    assert math.isinf(c.max_abs_error) and math.isinf(c.mae) and math.isinf(c.smallest_passing_atol)
    assert math.isnan(c.cosine_mean) and math.isnan(c.kl_divergence) and math.isnan(c.top1_agreement)
    assert math.isnan(c.decision_agreement)
    assert (c.real_flips, c.borderline_flips) == (0, 0)
    cand[0, 0] = np.inf
    c = compare(R, cand, atol=0.01, rtol=0.0)
    assert (c.nan_count, c.inf_count) == (1, 1)
    assert c.error_rate == pytest.approx(2 / 6)


def test_shape_mismatch_names_both_shapes():
    with pytest.raises(InputError, match=r"\(2, 3\).*\(3, 2\)"):
        compare(R, R.T, atol=0.0, rtol=0.0)


def test_logits_have_no_decisions():
    logits = np.array([[-2.0, 1.0, 0.5], [3.0, -1.0, 0.0]])
    c = compare(logits, logits.copy(), atol=0.0, rtol=0.0, kind="logits")
    assert c.decision_agreement is None and c.real_flips is None and c.borderline_flips is None
    assert c.kl_divergence == pytest.approx(0.0, abs=1e-15)
    # logits 0 vs log(1/3): sigmoid 0.5 vs 0.25, so the Bernoulli KL of that one element is 0.5*ln(4/3)
    moved = np.zeros((2, 3))
    moved[0, 0] = math.log(1 / 3)
    c = compare(np.zeros((2, 3)), moved, atol=1.0, rtol=0.0, kind="logits")
    assert c.kl_divergence == pytest.approx(0.1438410362 / 6, rel=1e-8)


def test_as_dict_is_json_ready():
    d = compare(R, R.copy(), atol=0.0, rtol=0.0).as_dict()
    assert set(d) == set(Comparison.__dataclass_fields__)
    assert json.loads(json.dumps(d))["top1_agreement"] == 1.0


def test_untied_agreement_forgives_only_picks_the_reference_cannot_tell_apart():
    ref = np.array([[0.50, 0.49, 0.01], [0.90, 0.30, 0.05]])
    cand = np.array([[0.49, 0.50, 0.01], [0.30, 0.90, 0.05]])
    # row 0 swaps labels 0.01 apart: a tie at atol 0.02, a disagreement at atol 0.001; row 1 swaps 0.6 apart
    assert compare(ref, cand, atol=0.02, rtol=0.0).top1_agreement_untied == 0.5
    assert compare(ref, cand, atol=0.001, rtol=0.0).top1_agreement_untied == 0.0
    assert compare(ref, cand, atol=0.02, rtol=0.0).top1_agreement == 0.0
    # top-2: row 0 picks {1, 0}, both within 0.02 of the reference's 2nd score 0.49 -> 2/2; row 1 {1, 0} -> 2/2
    assert compare(ref, cand, atol=0.02, rtol=0.0, top_k=2).topk_overlap_untied == 1.0
    cand_far = np.array([[0.01, 0.50, 0.49], [0.30, 0.90, 0.05]])
    # row 0 picks {1, 2}: label 2's reference 0.01 is far below 0.49 -> 1/2
    assert compare(ref, cand_far, atol=0.02, rtol=0.0, top_k=2).topk_overlap_untied == 0.75


def _softmax_gate(reference_logits: list[list[float]], candidate_logits: list[list[float]]) -> tuple[Comparison, bool]:
    """A single-label model's probabilities compared as validate compares them, and whether no real flip is allowed."""
    want, got = (to_probabilities(np.array(x), "softmax") for x in (reference_logits, candidate_logits))
    c = compare(want, got, atol=0.01, rtol=0.0, threshold=0.5, bernoulli=False)
    flips = next(check for check in DEFAULT_PROFILES["fp16"].checks(c) if check.name == "real decision flips")
    return c, flips.passed


def test_a_softmax_model_is_judged_by_argmax_not_by_threshold_flips():
    # top label 0.60 → 0.41: across the 0.5 threshold, far beyond atol, but still the argmax, as predict decides
    c, passed = _softmax_gate([[1.0, 0.2, -0.5]], [[0.5, 0.3, 0.0]])
    assert c.decisions == 1 and (c.real_flips, c.borderline_flips) == (0, 0) and c.decision_agreement == 1.0 and passed
    threshold_rule = compare(*(to_probabilities(np.array(x), "softmax") for x in ([[1.0, 0.2, -0.5]], [[0.5, 0.3, 0.0]])),
                             atol=0.01, rtol=0.0, threshold=0.5)
    assert threshold_rule.real_flips == 1  # what the sigmoid rule would have failed it for


def test_an_argmax_flip_of_a_softmax_model_is_counted_real_or_borderline():
    c, passed = _softmax_gate([[1.0, 0.6, -0.5], [0.0, 0.0, 2.0]], [[0.6, 1.0, -0.5], [0.0, 0.0, 2.0]])
    assert c.decisions == 2 and (c.real_flips, c.borderline_flips) == (1, 0) and c.decision_agreement == 0.5
    assert not passed
    c, _ = _softmax_gate([[1.0, 0.99, -0.5]], [[0.99, 1.0, -0.5]])  # the reference's two top scores within atol
    assert (c.real_flips, c.borderline_flips) == (0, 1)
