"""`decide`: one request's threshold and top_k applied to a batch prediction, as Classifier.predict would.

The multi-label (sigmoid) path is compared with the real Classifier over HTTP in test_serve_http; the zoo has
no single-label model, so the softmax rule (the argmax, whatever the threshold) is checked here by hand."""

from __future__ import annotations

import pytest

from npuport.runtime.classifier import Prediction
from npuport.serve.decide import decide

LABELS = ["neg", "neu", "pos"]
RANKED = Prediction(text="fine", labels=["pos"], scores={"neg": 0.2, "neu": 0.2, "pos": 0.6},
                    top=[("pos", 0.6), ("neg", 0.2), ("neu", 0.2)], tokens=3, truncated=False, original_tokens=3)


def test_softmax_takes_the_argmax_whatever_the_threshold():
    got = decide(RANKED, LABELS, [0.9, 0.9, 0.9], 2, "softmax")
    assert got.labels == ["pos"] and got.top == [("pos", 0.6), ("neg", 0.2)] and got.scores == RANKED.scores


def test_sigmoid_takes_every_label_at_or_over_its_own_threshold_best_first():
    assert decide(RANKED, LABELS, [0.2, 0.5, 0.6], None, "sigmoid").labels == ["pos", "neg"]
    assert decide(RANKED, LABELS, [0.9, 0.9, 0.9], 1, "sigmoid").labels == []


def test_needs_every_label_ranked():
    partial = Prediction(**(RANKED.to_dict() | {"top": [("pos", 0.6)]}))
    with pytest.raises(ValueError, match="every label ranked"):
        decide(partial, LABELS, [0.5] * 3, None, "sigmoid")
