"""A model directory that cannot give a working classifier is one clear ModelLoadError line, before anything heavy runs
(issue 15, items 8 and 12): a missing or gutted tokenizer, empty weights, config fields of the wrong type or of an
implausible size."""

from __future__ import annotations

import json
import re
import shutil
import time
from pathlib import Path

import pytest
from cli_runner import npuport  # type: ignore[import-not-found]
from typer.testing import CliRunner

from npuport.cli import app
from npuport.convert.pipeline import convert_model
from npuport.core.errors import ModelLoadError
from npuport.model.config import read_config
from npuport.model.source import load_source


def _copy(tiny_model, tmp_path: Path, arch: str = "bert") -> Path:  # type: ignore[no-untyped-def]
    return Path(shutil.copytree(tiny_model(arch), tmp_path / arch))


def _config(model_dir: Path, **changes: object) -> Path:
    config = json.loads((model_dir / "config.json").read_text())
    config.update(changes)
    (model_dir / "config.json").write_text(json.dumps(config))
    return model_dir


def _refused(model_dir: Path, message: str) -> str:
    with pytest.raises(ModelLoadError, match=message) as info:
        load_source(model_dir)
    text = str(info.value)
    assert "\n" not in text and len(text) < 400, text
    return text


@pytest.mark.parametrize("arch", ["bert", "structbert", "roberta"])
def test_a_model_without_its_tokenizer_is_refused(tiny_model, tmp_path, arch):
    """Item 8: with tokenizer.json deleted, inspect and convert went on with a 5-token vocabulary (every character [UNK])."""
    model_dir = _copy(tiny_model, tmp_path, arch)
    (model_dir / "tokenizer.json").unlink()
    vocab = "vocab.json" if arch == "roberta" else "vocab.txt"
    _refused(model_dir, f"has no tokenizer: tokenizer.json or {vocab} is missing$")
    with pytest.raises(ModelLoadError, match="has no tokenizer"):
        convert_model(model_dir, tmp_path / "out", isolate=False)
    assert not (tmp_path / "out").exists()


def test_a_tokenizer_whose_vocabulary_is_gone_is_refused(tiny_model, tmp_path):
    """The files are there but the vocabulary is not (a truncated tokenizer.json): every character would be [UNK]."""
    model_dir = _copy(tiny_model, tmp_path)
    tokenizer = json.loads((model_dir / "tokenizer.json").read_text())
    vocab = tokenizer["model"]["vocab"]
    tokenizer["model"]["vocab"] = {token: index for token, index in vocab.items() if index < 5}
    (model_dir / "tokenizer.json").write_text(json.dumps(tokenizer))
    _refused(model_dir, r"the tokenizer in .* knows 5 tokens but the model has 2,418: its vocabulary \(tokenizer.json or "
                        r"vocab.txt\) is missing or truncated")


def test_inspect_names_the_missing_tokenizer(tiny_model, tmp_path):
    model_dir = _copy(tiny_model, tmp_path)
    (model_dir / "tokenizer.json").unlink()
    cli = CliRunner().invoke(app, ["inspect", str(model_dir)])  # in-process: torch is imported already
    assert cli.exit_code == 2 and cli.stderr == f"error: {model_dir} has no tokenizer: tokenizer.json or vocab.txt is missing\n"


def test_empty_weights_are_named(tiny_model, tmp_path):
    """Item 12: an empty pytorch_model.bin gave "unexpected IndexError"."""
    model_dir = _copy(tiny_model, tmp_path, "structbert")
    (model_dir / "pytorch_model.bin").write_bytes(b"")
    _refused(model_dir, r"^weights pytorch_model.bin is empty \(0 bytes\)")


@pytest.mark.parametrize(("changes", "message"), [
    ({"hidden_size": "abc"}, r"config.json: hidden_size must be a positive integer, got 'abc'$"),
    ({"num_hidden_layers": -1}, r"config.json: num_hidden_layers must be a positive integer, got -1$"),
    ({"vocab_size": True}, r"config.json: vocab_size must be a positive integer, got True$"),
    ({"intermediate_size": 64.5}, r"config.json: intermediate_size must be a positive integer, got 64.5$"),
    ({"max_position_embeddings": 256.0}, r"config.json: max_position_embeddings must be a positive integer, got 256.0$"),
    ({"threshold": "high"}, r"config.json: threshold must be a number between 0 and 1, got 'high'$"),
    ({"threshold": 1.5}, r"config.json: threshold must be a number between 0 and 1, got 1.5$"),
    ({"problem_type": "regression"}, r"config.json: problem_type 'regression' is not a classification problem"),
    ({"num_labels": "many"}, r"config.json: num_labels is 'many' but id2label has 28 labels$"),
    ({"pad_token_id": "zero"}, r"config.json: pad_token_id must be a non-negative integer or null, got 'zero'$"),
    ({"max_position_embeddings": 1e12}, r"config.json: max_position_embeddings is 1,000,000,000,000, implausibly large"),
    ({"vocab_size": 10**20}, r"config.json: vocab_size is 100,000,000,000,000,000,000, implausibly large"),
    ({"vocab_size": 1e300}, r"config.json: vocab_size is 1e\+300, implausibly large"),
    ({"hidden_size": 16384, "intermediate_size": 65536}, r"config.json describes at least [\d,]+ parameters but "
                                                         r"model.safetensors holds [\d,]+ bytes"),
], ids=["hidden-abc", "layers-negative", "vocab-bool", "inner-fraction", "positions-float", "threshold-high", "threshold-1.5",
        "problem-regression", "num-labels-many", "pad-zero", "positions-1e12", "vocab-1e20", "vocab-1e300", "size-vs-weights"])
def test_config_fields_are_checked_up_front_with_the_file_named(tiny_model, tmp_path, changes, message):
    """Item 12: "hidden_size": "abc" was cut after a colon, "threshold": "high" named no file, and
    max_position_embeddings 1e12 tried a petabyte allocation for 51 s."""
    model_dir = _config(_copy(tiny_model, tmp_path), **changes)
    started = time.perf_counter()
    text = _refused(model_dir, message)
    assert time.perf_counter() - started < 10
    assert str(model_dir) in text or "config.json describes" in text


def test_plausible_configs_still_load(tiny_model, tmp_path):
    model_dir = _config(_copy(tiny_model, tmp_path), threshold=1, pad_token_id=None)
    config = read_config(model_dir)
    assert config["threshold"] == 1.0 and isinstance(config["threshold"], float)
    assert load_source(model_dir).info.threshold == 1.0


def test_convert_refuses_a_bad_config_before_any_work(tiny_model, tmp_path):
    model_dir = _config(_copy(tiny_model, tmp_path), max_position_embeddings=1e12)
    started = time.perf_counter()
    cli = npuport("convert", model_dir, "-o", tmp_path / "out")
    assert cli.returncode == 2 and "max_position_embeddings is 1,000,000,000,000, implausibly large" in cli.stderr
    assert len(cli.stderr.strip().splitlines()) == 1 and time.perf_counter() - started < 30
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(("pad", "message"), [
    (None, None),
    (300, r"config.json: max_position_embeddings \d+ leaves no room for a text after pad_token_id 300"),
    (5000, r"config.json: pad_token_id 5000 is outside the vocabulary \(1,000 tokens\)"),
])
def test_roberta_padding_offset_is_checked(tiny_model, tmp_path, pad, message):
    """RoBERTa's positions start after pad_token_id: null meant a TypeError, one past the table a negative max_length."""
    model_dir = _config(_copy(tiny_model, tmp_path, "roberta"), pad_token_id=pad)
    if message is None:
        assert load_source(model_dir).info.max_length > 0
    else:
        _refused(model_dir, message)


def _rename_first_label(model_dir: Path, name: str) -> Path:
    config = json.loads((model_dir / "config.json").read_text())
    old = config["id2label"]["0"]
    config["id2label"]["0"] = name
    config["label2id"] = {name if label == old else label: index for label, index in config["label2id"].items()}
    (model_dir / "config.json").write_text(json.dumps(config))
    return model_dir


@pytest.mark.parametrize(("name", "why"), [
    ("c,d", "holds a ','"), ("  ", "is blank"), ("", "is blank"), (" calm", "starts or ends with a space"),
], ids=["comma", "blank", "empty", "leading-space"])
def test_labels_that_threshold_could_not_name_are_refused(tiny_model, tmp_path, name, why):
    """Issue 22: convert took 'c,d' and a blank name, which `--threshold LABEL=P` then could not address."""
    model_dir = _rename_first_label(_copy(tiny_model, tmp_path), name)
    _refused(model_dir, rf"label {re.escape(repr(name))} {re.escape(why)}, so --threshold LABEL=P could not name it: "
                        "rename it in id2label and label2id$")


def test_a_label_with_an_equals_sign_stays_addressable(tiny_model, tmp_path):
    """'a=b' loads: parse_threshold splits a pair at its last '='."""
    from npuport.core.decisions import parse_threshold, resolve_thresholds

    model_dir = _rename_first_label(_copy(tiny_model, tmp_path), "a=b")
    labels = load_source(model_dir).info.labels
    assert labels[0] == "a=b"
    assert resolve_thresholds(parse_threshold("a=b=0.25"), labels, 0.5)[0] == 0.25
