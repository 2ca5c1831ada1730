"""Golden inputs (token ids of bundled corpus texts) and the fp32 eager CPU reference logits on them.

Recorded once by convert, so validate, package and verify need no source model.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from npuport.core.files import write_bytes_atomic

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

    @classmethod
    def from_rows(cls, ids: list[str], rows: dict[str, list[list[int]]], original: list[int], seq_len: int,
                  pad_token_id: int) -> GoldenInputs:
        """Token rows of each text (already cut to `seq_len`) right-padded into arrays; `original` counts each
        text's tokens before truncation."""
        feeds = {}
        for name, per_text in rows.items():
            array = np.full((len(ids), seq_len), pad_token_id if name == "input_ids" else 0, dtype=np.int64)
            for index, tokens in enumerate(per_text):
                array[index, : len(tokens)] = tokens
            feeds[name] = array
        lengths = np.array([len(tokens) for tokens in rows["input_ids"]], dtype=np.int64)
        return cls(list(ids), feeds, lengths, np.array([n > seq_len for n in original], dtype=bool))

    def save(self, path: Path) -> None:
        buffer = io.BytesIO()
        np.savez(buffer, ids=np.array(self.ids), lengths=self.lengths, truncated=self.truncated, **self.feeds)
        write_bytes_atomic(path, buffer.getvalue())

    @classmethod
    def load(cls, path: Path) -> GoldenInputs:
        with np.load(path, allow_pickle=False) as data:
            feeds = {k: data[k] for k in data.files if k not in ("ids", "lengths", "truncated")}
            return cls([str(i) for i in data["ids"]], feeds, data["lengths"], data["truncated"])


def save_reference(path: Path, logits: np.ndarray) -> None:
    buffer = io.BytesIO()
    np.savez(buffer, logits=logits.astype(np.float32))
    write_bytes_atomic(path, buffer.getvalue())


def load_reference(path: Path) -> np.ndarray:
    with np.load(path, allow_pickle=False) as data:
        return data["logits"]
