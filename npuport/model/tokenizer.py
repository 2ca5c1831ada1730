"""Texts → token rows with the artifacts' own tokenizer, truncated to what the variant accepts, and counted.

Fast tokenizers change their Rust-side truncation/padding state on every call, and two threads doing so at
once fail ("Already borrowed"), so calls are serialised by a lock; padding is done here in numpy, not by
the tokenizer. With a fast tokenizer, two private copies of its Rust backend are configured once (one without
truncation, one truncating at max_length) and called directly: the same token ids as the transformers call,
without its per-call Python overhead (a large share of a small model's latency). A saved fast tokenizer
(`tokenizer.json`, which convert always writes) is read with the `tokenizers` library alone (`SavedTokenizer`), so
running an ONNX variant imports neither transformers nor torch; other tokenizers go through transformers.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from npuport.core.errors import ManifestError
from npuport.core.golden import GoldenInputs
from npuport.core.manifest import Manifest
from npuport.core.offline import local_only

if TYPE_CHECKING:
    from tokenizers import Tokenizer
    from transformers import BatchEncoding, PreTrainedTokenizerBase

_BACKEND_COLUMNS = {"input_ids": "ids", "attention_mask": "attention_mask", "token_type_ids": "type_ids"}


@dataclass(frozen=True)
class Encoded:
    """Per text: its token rows per model input (special tokens included) and its length before truncation."""

    rows: dict[str, list[list[int]]]
    original: list[int]

    @property
    def lengths(self) -> list[int]:
        return [len(ids) for ids in self.rows["input_ids"]]


@dataclass(frozen=True)
class SavedTokenizer:
    """A fast tokenizer saved by transformers, read without it: the Rust backend, the pad id, the truncation side."""

    backend: Tokenizer
    pad_token_id: int | None
    truncation_side: str

    @classmethod
    def load(cls, directory: Path) -> SavedTokenizer | None:
        """None when `directory` holds no tokenizer.json (a slow tokenizer: transformers must load it)."""
        if not (directory / "tokenizer.json").is_file():
            return None
        from tokenizers import Tokenizer

        config = _json(directory / "tokenizer_config.json")
        special = _json(directory / "special_tokens_map.json")
        backend = Tokenizer.from_file(str(directory / "tokenizer.json"))
        pad = config.get("pad_token") or special.get("pad_token")
        pad = pad.get("content") if isinstance(pad, dict) else pad
        return cls(backend, backend.token_to_id(pad) if isinstance(pad, str) else None,
                   str(config.get("truncation_side") or "right"))


def saved_tokenizer(root: Path, manifest: Manifest) -> SavedTokenizer | PreTrainedTokenizerBase:
    """The tokenizer convert saved with the artifacts, read with `tokenizers` alone where it can be (no
    transformers, no torch). Loaders read whatever the folder holds, so one holding a file the manifest does not list is
    refused first."""
    directory = root / manifest.tokenizer.directory
    manifest.check_tokenizer_folder(root)
    try:
        saved = SavedTokenizer.load(directory)
        if saved is not None:
            return saved
        from transformers import AutoTokenizer

        with local_only():
            return AutoTokenizer.from_pretrained(str(directory))
    except Exception as exc:  # tokenizers and transformers raise many types for an unusable tokenizer directory
        raise ManifestError(f"cannot load the tokenizer saved in {directory}: {str(exc).splitlines()[0][:200]}") from exc


def _json(path: Path) -> dict:  # type: ignore[type-arg]
    if not path.is_file():
        return {}
    data = json.loads(path.read_text(encoding="utf-8"))
    return data if isinstance(data, dict) else {}


class TextEncoder:
    def __init__(self, tokenizer: SavedTokenizer | PreTrainedTokenizerBase, input_names: list[str], max_length: int) -> None:
        self.tokenizer = tokenizer
        self.input_names = input_names
        self.max_length = max_length
        self.pad_token_id = int(tokenizer.pad_token_id or 0)
        self._lock = threading.Lock()
        self._backends = _fixed_backends(tokenizer, max_length) if set(input_names) <= set(_BACKEND_COLUMNS) else None
        if self._backends is None and isinstance(tokenizer, SavedTokenizer):
            raise ManifestError(f"the model takes {input_names}; a tokenizer read without transformers gives only "
                                f"{', '.join(_BACKEND_COLUMNS)}")

    def encode(self, texts: Sequence[str]) -> Encoded:
        """Tokenize once in full; only texts over max_length are tokenized again with truncation."""
        texts = list(texts)
        if self._backends is not None:
            return self._encode_backend(texts, *self._backends)
        with self._lock:
            full = self.tokenizer(texts, truncation=False, padding=False, verbose=False)
            original = [len(ids) for ids in full["input_ids"]]
            long = [i for i, n in enumerate(original) if n > self.max_length]
            cut = self.tokenizer([texts[i] for i in long], truncation=True, max_length=self.max_length,
                                 padding=False) if long else None
        rows = {name: list(self._column(full, name)) for name in self.input_names}
        if cut is not None:
            for name in self.input_names:
                for index, ids in zip(long, self._column(cut, name)):
                    rows[name][index] = ids
        return Encoded(rows, original)

    def _encode_backend(self, texts: list[str], full: Tokenizer, cut: Tokenizer) -> Encoded:
        with self._lock:
            encodings = full.encode_batch(texts)
            original = [len(e.ids) for e in encodings]
            long = [i for i, n in enumerate(original) if n > self.max_length]
            if long:
                for index, encoding in zip(long, cut.encode_batch([texts[i] for i in long])):
                    encodings[index] = encoding
        rows = {name: [getattr(e, _BACKEND_COLUMNS[name]) for e in encodings] for name in self.input_names}
        return Encoded(rows, original)

    def _column(self, encoding: BatchEncoding, name: str) -> list[list[int]]:
        if name in encoding:
            return encoding[name]
        if name == "token_type_ids":  # single-segment inputs: all zero, as the model was trained
            return [[0] * len(ids) for ids in encoding["input_ids"]]
        raise ManifestError(f"the saved tokenizer does not produce {name!r}, which the model takes")

    def feed(self, encoded: Encoded, index: Sequence[int]) -> dict[str, np.ndarray]:
        """The chosen texts right-padded to the longest of them: int64 [len(index), longest]."""
        width = max(len(encoded.rows["input_ids"][i]) for i in index)
        feed = {}
        for name in self.input_names:
            array = np.full((len(index), width), self.pad_token_id if name == "input_ids" else 0, dtype=np.int64)
            for row, i in enumerate(index):
                ids = encoded.rows[name][i]
                array[row, : len(ids)] = ids
            feed[name] = array
        return feed


def _fixed_backends(tokenizer: SavedTokenizer | PreTrainedTokenizerBase, max_length: int) -> tuple[Tokenizer, Tokenizer] | None:
    """Two copies of a fast tokenizer's Rust backend: (no truncation, truncation at max_length); None if slow."""
    if isinstance(tokenizer, SavedTokenizer):
        backend, side = tokenizer.backend, tokenizer.truncation_side
    elif getattr(tokenizer, "is_fast", False):
        backend, side = tokenizer.backend_tokenizer, getattr(tokenizer, "truncation_side", "right") or "right"
    else:
        return None
    from tokenizers import Tokenizer

    full, cut = Tokenizer.from_str(backend.to_str()), Tokenizer.from_str(backend.to_str())
    for copy in (full, cut):
        copy.no_padding()
    full.no_truncation()
    cut.enable_truncation(max_length, strategy="longest_first", direction=side)
    return full, cut


def golden_inputs(encoder: TextEncoder, ids: list[str], texts: list[str]) -> GoldenInputs:
    """Texts as golden rows: tokenized like `predict` does, cut at the encoder's max_length and padded to it."""
    encoded = encoder.encode(texts)
    return GoldenInputs.from_rows(ids, encoded.rows, encoded.original, encoder.max_length, encoder.pad_token_id)
