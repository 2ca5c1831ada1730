"""The saved tokenizer, read with `tokenizers` alone (no transformers), gives the ids transformers gives."""

from __future__ import annotations

import pytest
from transformers import AutoTokenizer

from npuport.core.corpus import load_corpus
from npuport.model.tokenizer import SavedTokenizer, TextEncoder


@pytest.mark.parametrize("arch", ["bert", "roberta", "distilbert", "structbert"])
def test_the_saved_tokenizer_read_without_transformers_gives_the_same_ids(converted, arch):  # type: ignore[no-untyped-def]
    result = converted(arch)
    directory = result.root / result.manifest.tokenizer.directory
    saved = SavedTokenizer.load(directory)
    reference = AutoTokenizer.from_pretrained(str(directory))
    assert saved is not None and saved.pad_token_id == reference.pad_token_id
    texts = [e.text for e in load_corpus("zh") + load_corpus("en")][::7] + ["", "🙂 ok", "x " * 400]
    names = result.manifest.source.input_names
    mine, theirs = TextEncoder(saved, names, 32).encode(texts), TextEncoder(reference, names, 32).encode(texts)
    assert mine == theirs
    want = reference(texts, truncation=True, max_length=32)["input_ids"]
    assert mine.rows["input_ids"] == want
