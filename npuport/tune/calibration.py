"""Calibration texts for static int8: the bundled corpus of the model's language(s) without the golden texts (the gate
is judged on those, so they must not also set the quantization ranges), or the user's texts."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from npuport.core.buckets import length_batches
from npuport.core.corpus import golden_selection, language_of, load_corpus
from npuport.core.errors import InputError
from npuport.core.manifest import Manifest
from npuport.model.tokenizer import TextEncoder, saved_tokenizer

MAX_TEXTS = 128
BATCH = 8


def calibration_texts(labels: list[str], texts: list[str] | None) -> tuple[list[str], str]:
    """(texts, where they come from): the user's, else the bundled corpus for these labels minus the golden texts."""
    if texts:
        return texts[:MAX_TEXTS], f"{min(len(texts), MAX_TEXTS)} texts from the user"
    lang = language_of(labels)
    langs = [lang] if lang else ["zh", "en"]
    golden = {e.id for e in golden_selection()}
    pool = [e.text for lang in langs for e in load_corpus(lang) if e.id not in golden]
    if not pool:
        raise InputError("no calibration texts: pass --texts FILE")
    picked = [pool[i] for i in np.linspace(0, len(pool) - 1, num=min(MAX_TEXTS, len(pool))).round().astype(int)]
    return picked, f"{len(picked)} bundled corpus texts ({'+'.join(langs)}) that are not golden texts"


def fingerprint(texts: list[str]) -> str:
    return hashlib.sha256(json.dumps(texts, ensure_ascii=False).encode("utf-8")).hexdigest()


class Feeds:
    """The calibration texts as model feeds (length-sorted batches, each padded to its longest text), replayable:
    ONNX Runtime's CalibrationDataReader protocol (`get_next`) over a fresh iterator each `rewind`."""

    def __init__(self, root: Path, manifest: Manifest, texts: list[str]) -> None:
        encoder = TextEncoder(saved_tokenizer(root, manifest), manifest.source.input_names, manifest.golden.seq_len)
        encoded = encoder.encode(texts)
        self.batches = [encoder.feed(encoded, batch) for batch in length_batches(encoded.lengths, BATCH)]
        self._iterator: Iterator[dict[str, np.ndarray]] = iter(self.batches)

    def get_next(self) -> dict[str, np.ndarray] | None:
        return next(self._iterator, None)

    def rewind(self) -> None:
        self._iterator = iter(self.batches)
