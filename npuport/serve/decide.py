"""Apply one request's threshold and top_k to a prediction made for a whole coalesced batch.

The batch runs once with the model's defaults and every label ranked (top_k=None); each request then gets its
own decisions from those scores, by the rules of `Classifier.predict`: multi-label (sigmoid) → every label at
or over its threshold, best first; single-label (softmax) → the argmax; `top` → the k best, ties in label order.
Tests check the result equals `Classifier.predict(texts, threshold, top_k)` field for field.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from npuport.runtime.classifier import Prediction


def decide(prediction: Prediction, labels: Sequence[str], thresholds: Sequence[float], top_k: int | None,
           activation: str) -> Prediction:
    """`prediction` must hold every label in `top` (made with top_k=None), best first."""
    ranked = prediction.top
    if len(ranked) != len(labels):
        raise ValueError(f"decide needs every label ranked, got {len(ranked)} of {len(labels)}")
    if activation == "sigmoid":
        threshold = dict(zip(labels, thresholds))
        chosen = [label for label, score in ranked if score >= threshold[label]]
    else:
        chosen = [ranked[0][0]]
    return dataclasses.replace(prediction, labels=chosen, top=list(ranked[:top_k]))
