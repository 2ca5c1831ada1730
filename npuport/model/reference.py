"""The one eager reference: the source model in fp32, eager attention, on the CPU — what every variant is judged
against. Convert records it on the golden inputs; validate (`--texts`) and eval compute it on other texts.

Texts are run in batches of similar length, each padded only to its own longest text, so padding never enters
the reference (a row of a batch is the model's answer for that text alone).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np

from npuport.core.buckets import length_batches

if TYPE_CHECKING:
    import torch

BATCH = 16
Feed = dict[str, np.ndarray]


class EagerReference:
    """`model` behind the logits-only adapter: token arrays in, float32 logits out."""

    def __init__(self, model: torch.nn.Module, input_names: Sequence[str]) -> None:
        from npuport.model.adapter import LogitsOnly

        self.input_names = list(input_names)
        self.module = LogitsOnly(model, self.input_names).eval()

    def logits(self, feed: Feed) -> np.ndarray:
        import torch

        with torch.inference_mode():
            return self.module(*(torch.from_numpy(np.ascontiguousarray(feed[n])) for n in self.input_names)).float().numpy()

    def logits_by_length(self, lengths: Sequence[int], feed_for: Callable[[np.ndarray], Feed]) -> np.ndarray:
        """Logits of every text, in input order; `feed_for(index)` gives the token rows of those texts padded to
        their longest (GoldenInputs.rows, or TextEncoder.feed)."""
        logits: np.ndarray | None = None
        for rows in length_batches(lengths, BATCH):
            part = self.logits(feed_for(rows))
            if logits is None:
                logits = np.zeros((len(lengths), part.shape[1]), dtype=np.float32)
            logits[rows] = part
        assert logits is not None, "no texts"
        return logits
