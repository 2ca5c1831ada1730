"""The decision rule: probabilities from logits (sigmoid or softmax), labels from probabilities (at or over the
threshold, or the argmax), thresholds per label."""

from __future__ import annotations

import numpy as np
import pytest

from npuport.core.decisions import activate, decide, parse_threshold, resolve_thresholds, to_probabilities
from npuport.core.errors import InputError


def test_decide_matches_the_classifier_rule():
    probs = np.array([[0.5, 0.49, 0.9], [0.1, 0.2, 0.3]])
    sigmoid = decide(probs, np.array([0.5, 0.5, 0.95]), "sigmoid")
    assert sigmoid.tolist() == [[True, False, False], [False, False, False]]  # at the threshold counts
    softmax = decide(probs, np.array([0.5, 0.5, 0.5]), "softmax")
    assert softmax.tolist() == [[False, False, True], [False, False, True]]


def test_activations_by_hand_and_stable_for_extreme_logits():
    logits = np.array([[0.0, np.log(3.0), -np.log(3.0)]])
    np.testing.assert_allclose(activate(logits, "sigmoid"), [[0.5, 0.75, 0.25]])
    np.testing.assert_allclose(activate(logits, "softmax"), [[3 / 13, 9 / 13, 1 / 13]])  # e^0 : e^ln3 : e^-ln3 = 3 : 9 : 1
    extreme = np.array([[1000.0, -1000.0, 0.0]])
    assert np.isfinite(activate(extreme, "sigmoid")).all() and np.isfinite(activate(extreme, "softmax")).all()
    np.testing.assert_allclose(activate(extreme, "softmax"), [[1.0, 0.0, 0.0]])
    assert to_probabilities(logits, "sigmoid").dtype == np.float32


def test_thresholds_default_one_for_all_or_per_label():
    labels = ["a", "b", "c"]
    assert resolve_thresholds(None, labels, 0.5).tolist() == [0.5, 0.5, 0.5]
    assert resolve_thresholds(0.2, labels, 0.5).tolist() == [0.2, 0.2, 0.2]
    assert resolve_thresholds({"b": 0.9}, labels, 0.5).tolist() == [0.5, 0.9, 0.5]
    with pytest.raises(InputError, match=r"threshold for unknown label\(s\) 'd'; labels: a, b, c"):
        resolve_thresholds({"d": 0.1}, labels, 0.5)
    for bad in (1.5, -0.1, True):
        with pytest.raises(InputError, match="between 0 and 1"):
            resolve_thresholds(bad, labels, 0.5)
    resolved = resolve_thresholds({"b": 0.9}, labels, 0.5)
    assert resolve_thresholds(resolved, labels, 0.5) is resolved  # resolved once, passed on as it is
    with pytest.raises(InputError, match="one value per label"):
        resolve_thresholds(resolved[:2], labels, 0.5)


@pytest.mark.parametrize(("text", "message"), [
    ("calm=0.4,calm=0.6", "--threshold names 'calm' twice"),
    ("calm=0.4, calm =0.6", "names 'calm' twice"),
    ("2", "must be a number between 0 and 1"),
    ("nan", "must be a number between 0 and 1"),
    ("calm=inf", "must be a number between 0 and 1"),
    ("=0.4", "expected LABEL=NUMBER"),
    ("calm=high", "expected a number"),
])
def test_the_command_lines_threshold_names_each_label_once_with_a_probability(text, message):
    with pytest.raises(InputError, match=message):
        parse_threshold(text)
