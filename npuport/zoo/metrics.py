"""Decisiveness: how much a model decides, measured on the bundled corpus. A random encoder gives every text the same
features (every probability ≈ 0.5, one top-1 for all), and parity on decisions between variants of such a model
would measure nothing; the zoo records these numbers beside each built model and the tests assert them. The
activation and decision rule are the production ones (npuport.core.decisions).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from npuport.core.buckets import length_batches
from npuport.core.corpus import load_corpus
from npuport.core.decisions import decide, to_probabilities
from npuport.zoo.recipes import target_logits

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

THRESHOLD = 0.5


@dataclass
class Decisiveness:
    """How much a model decides: what makes parity on decisions meaningful."""

    distinct_top1: int
    top1_share_of_commonest: float
    far_from_threshold: float  # share of probabilities with |p - 0.5| > 0.3
    confident_top1: float  # share of texts that get a label (top probability at or over the 0.5 threshold)
    padding_drift: float  # max |Δlogit| for the same text alone vs padded to 128 in a batch
    train_micro_f1: float
    checks: dict[str, bool] = field(default_factory=dict)

    @property
    def decisive(self) -> bool:
        return all(self.checks.values())


def decisiveness(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, lang: str, labels: list[str]) -> Decisiveness:
    import torch

    examples = list(load_corpus(lang))
    texts = [e.text for e in examples]
    lengths = [len(ids) for ids in tokenizer(texts, truncation=True, max_length=128)["input_ids"]]
    all_logits = np.zeros((len(texts), len(labels)), dtype=np.float32)
    with torch.inference_mode():
        for rows in length_batches(lengths, 32):
            batch = tokenizer([texts[i] for i in rows], padding=True, truncation=True, max_length=128, return_tensors="pt")
            all_logits[rows] = model(**batch).logits.float().numpy()
        alone = model(**tokenizer(texts[:4], padding=True, return_tensors="pt")).logits[:1].numpy()
        padded = model(**tokenizer(texts[:1], padding="max_length", max_length=128, return_tensors="pt")).logits.numpy()
    probs = to_probabilities(all_logits, "sigmoid")
    top1 = probs.argmax(1)
    predicted = decide(probs, np.full(len(labels), THRESHOLD), "sigmoid")
    truth = target_logits(examples, labels) > 0
    tp = (predicted & truth).sum()
    f1 = float(2 * tp / max(predicted.sum() + truth.sum(), 1))
    result = Decisiveness(
        distinct_top1=len(set(top1.tolist())),
        top1_share_of_commonest=float(Counter(top1.tolist()).most_common(1)[0][1] / len(top1)),
        far_from_threshold=float((np.abs(probs - THRESHOLD) > 0.3).mean()),
        confident_top1=float(predicted.any(1).mean()),
        padding_drift=float(np.abs(alone - padded).max()),
        train_micro_f1=f1,
    )
    result.checks = {
        "top-1 varies across texts": result.distinct_top1 >= min(len(labels), 5),
        "no label is top-1 for most texts": result.top1_share_of_commonest < 0.5,
        "most probabilities far from 0.5": result.far_from_threshold > 0.5,
        "most texts get a label over 0.5": result.confident_top1 > 0.5,
        "padding does not change outputs (<1e-4)": result.padding_drift < 1e-4,
    }
    return result
