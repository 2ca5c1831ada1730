"""Golden inputs (token ids of bundled corpus texts) and the fp32 eager CPU reference logits on them.

Recorded once by convert, so validate, package and verify need no source model.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from npuport.corpus import golden_selection
from npuport.fsutil import write_bytes_atomic

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

INPUTS_FILE = "golden/inputs.npz"
REFERENCE_FILE = "golden/reference.npz"


@dataclass
class GoldenInputs:
    """Right-padded token arrays [texts, seq_len]; `lengths` holds each text's real token count."""

    ids: list[str]
    feeds: dict[str, np.ndarray]
    lengths: np.ndarray
    truncated: np.ndarray  # bool: the text was longer than seq_len tokens

    def rows(self, index: np.ndarray | list[int], seq: int | None = None) -> dict[str, np.ndarray]:
        """A feed of the chosen rows, cut to `seq` columns (default: their longest length)."""
        index = np.asarray(index)
        width = int(seq if seq is not None else self.lengths[index].max())
        return {name: np.ascontiguousarray(array[index, :width]) for name, array in self.feeds.items()}

    def save(self, path: Path) -> None:
        buffer = io.BytesIO()
        np.savez(buffer, ids=np.array(self.ids), lengths=self.lengths, truncated=self.truncated, **self.feeds)
        write_bytes_atomic(path, buffer.getvalue())

    @classmethod
    def load(cls, path: Path) -> GoldenInputs:
        with np.load(path, allow_pickle=False) as data:
            feeds = {k: data[k] for k in data.files if k not in ("ids", "lengths", "truncated")}
            return cls([str(i) for i in data["ids"]], feeds, data["lengths"], data["truncated"])


def tokenize_golden(
    tokenizer: PreTrainedTokenizerBase, input_names: list[str], seq_len: int, per_language: int = 48
) -> GoldenInputs:
    examples = golden_selection(per_language)
    return tokenize_texts(tokenizer, input_names, seq_len, [e.id for e in examples], [e.text for e in examples])


def tokenize_texts(
    tokenizer: PreTrainedTokenizerBase, input_names: list[str], seq_len: int, ids: list[str], texts: list[str]
) -> GoldenInputs:
    """Texts → right-padded token rows of width `seq_len`, truncated to it (and marked) where longer."""
    full = tokenizer(texts, truncation=False, padding=False, verbose=False)["input_ids"]
    encoded = tokenizer(texts, truncation=True, max_length=seq_len, padding="max_length", return_tensors="np")
    feeds = {name: _column(encoded, name).astype(np.int64) for name in input_names}
    lengths = feeds["attention_mask"].sum(axis=1).astype(np.int64)
    truncated = np.array([len(ids) > seq_len for ids in full])
    return GoldenInputs(list(ids), feeds, lengths, truncated)


def _column(encoded: Any, name: str) -> np.ndarray:
    if name in encoded:
        return encoded[name]
    return np.zeros_like(encoded["input_ids"])  # token_type_ids of single-segment input: all zero


def eager_logits(model: Any, golden: GoldenInputs, input_names: list[str], num_labels: int) -> np.ndarray:
    """fp32 eager CPU logits of every golden text, each batch padded only to its own longest text."""
    import torch

    from npuport.convert.wrapper import LogitsOnly

    wrapper = LogitsOnly(model, input_names).eval()
    order = np.argsort(golden.lengths, kind="stable")
    logits = np.zeros((len(order), num_labels), dtype=np.float32)
    with torch.inference_mode():
        for start in range(0, len(order), 16):
            rows = order[start : start + 16]
            feed = golden.rows(rows)
            logits[rows] = wrapper(*(torch.from_numpy(feed[n]) for n in input_names)).float().numpy()
    return logits


def save_reference(path: Path, logits: np.ndarray) -> None:
    buffer = io.BytesIO()
    np.savez(buffer, logits=logits.astype(np.float32))
    write_bytes_atomic(path, buffer.getvalue())


def load_reference(path: Path) -> np.ndarray:
    with np.load(path, allow_pickle=False) as data:
        return data["logits"]
