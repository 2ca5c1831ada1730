"""The user's own texts as token lengths, under the tokenizer of a model directory or of converted artifacts, and the
shape buckets those lengths call for (`core.buckets.plan_buckets`)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from npuport.core.buckets import DEFAULT_BATCH_SIZES, DEFAULT_MAX_BUCKETS, BucketPlan, plan_buckets
from npuport.core.manifest import MANIFEST_NAME, Manifest
from npuport.core.texts import read_texts
from npuport.model.tokenizer import SavedTokenizer, TextEncoder, saved_tokenizer

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase


def token_lengths(tokenizer: SavedTokenizer | PreTrainedTokenizerBase, texts: Sequence[str], max_length: int) -> np.ndarray:
    """Tokens per text, special tokens included, before any truncation (what a bucket would have to hold)."""
    return np.array(TextEncoder(tokenizer, ["input_ids"], max_length).encode(texts).original, dtype=np.int64)


def plan_from_texts(source: Path, texts: Path, max_buckets: int = DEFAULT_MAX_BUCKETS, max_truncated: float = 0.0,
                    batch_sizes: Sequence[int] = DEFAULT_BATCH_SIZES) -> BucketPlan:
    """Buckets for the texts in `texts` under the tokenizer of `source` (artifacts: the one saved with them, read
    without transformers; a model directory: its own)."""
    source = Path(source)
    if (source / MANIFEST_NAME).is_file():
        manifest = Manifest.load(source)
        tokenizer: SavedTokenizer | PreTrainedTokenizerBase = saved_tokenizer(source, manifest)
        max_length = manifest.source.max_length
    else:
        from npuport.model.config import read_config
        from npuport.model.source import load_tokenizer, model_max_length

        config = read_config(source)
        tokenizer = load_tokenizer(source, config)
        max_length = model_max_length(config, tokenizer)
    lengths = token_lengths(tokenizer, read_texts(texts), max_length)
    return plan_buckets(lengths, max_length, max_buckets, max_truncated, batch_sizes)
