"""Running an ONNX variant needs neither transformers nor torch: the saved tokenizer is read with `tokenizers`,
and gives the ids transformers gives."""

from __future__ import annotations

import subprocess
import sys

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


def test_predict_verify_validate_and_serve_of_onnx_never_import_torch_or_transformers(converted, tmp_path):  # type: ignore[no-untyped-def]
    root = converted("bert").root
    script = f"""
import sys
from npuport.cli import app
for args in (["predict", {str(root)!r}, "--text", "I am happy", "--variant", "onnx-int8-dynamic"],
             ["validate", {str(root)!r}, "--variants", "onnx-fp32-dynamic,onnx-int8-dynamic", "--report", {str(tmp_path)!r}]):
    try:
        app(args, standalone_mode=False)
    except SystemExit:
        pass
from npuport.runtime import load
from npuport.serve.app import create_app
from npuport.serve.config import ServeConfig
create_app(load({str(root)!r}, "onnx-fp32-dynamic"), ServeConfig())
heavy = [m for m in ("torch", "transformers") if m in sys.modules]
assert not heavy, heavy
print("light")
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "light" in done.stdout, done.stderr[-2000:]
