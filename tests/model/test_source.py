"""Model loading: HF and ModelScope layouts, label specs, and every way a model directory can be wrong."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

from npuport.core.errors import ModelLoadError
from npuport.model.config import read_config
from npuport.model.source import load_source

PREFIX_CASES = {"encoder.": "encoder.", "plm.": "plm.bert.", "bert.": "bert."}


def _eager_logits(model_dir: Path, text: str = "I love this so much!") -> torch.Tensor:
    source = load_source(model_dir)
    with torch.no_grad():
        return source.model(**source.tokenizer([text], return_tensors="pt")).logits


def modelscope_copy(hf_dir: Path, dest: Path, prefix: str, weights: str = "bin") -> Path:
    """Rewrite an HF BERT dir as a ModelScope StructBERT download: model_type structbert, configuration.json,
    weight keys under `prefix` instead of `bert.`, a pytorch_model.bin (or safetensors)."""
    shutil.copytree(hf_dir, dest)
    config = json.loads((dest / "config.json").read_text())
    config["model_type"] = "structbert"
    (dest / "config.json").write_text(json.dumps(config))
    (dest / "configuration.json").write_text(json.dumps({"framework": "pytorch", "task": "text-classification"}))
    state = load_file(dest / "model.safetensors")
    renamed = {(prefix + k[len("bert."):] if k.startswith("bert.") else k): v for k, v in state.items()}
    (dest / "model.safetensors").unlink()
    if weights == "bin":
        torch.save(renamed, dest / "pytorch_model.bin")
    else:
        save_file(renamed, dest / "model.safetensors")
    return dest


@pytest.mark.parametrize("model_type", ["bert", "roberta", "distilbert", "structbert"])
def test_inspect_every_architecture(tiny_model, model_type):
    source = load_source(tiny_model(model_type))
    info = source.info
    assert info.model_type == model_type
    assert info.problem_type == "multi_label_classification" and info.activation == "sigmoid"
    assert info.num_labels == len(info.labels) == (7 if model_type == "structbert" else 28)
    assert info.parameters == sum(p.numel() for p in source.model.parameters())
    assert info.max_length == 256
    expected_inputs = 3 if model_type in ("bert", "structbert") else 2
    assert len(info.input_names) == expected_inputs


def test_structbert_zoo_layout_is_modelscope(tiny_model):
    model_dir = tiny_model("structbert")
    assert (model_dir / "configuration.json").is_file() and (model_dir / "pytorch_model.bin").is_file()
    assert json.loads((model_dir / "config.json").read_text())["model_type"] == "structbert"
    keys = torch.load(model_dir / "pytorch_model.bin", weights_only=True)
    assert any(k.startswith("encoder.embeddings.") for k in keys)


@pytest.mark.parametrize("name", sorted(PREFIX_CASES))
def test_modelscope_prefixed_keys_load_to_the_same_model(tiny_model, tmp_path, name):
    hf_dir = tiny_model("bert")
    ms_dir = modelscope_copy(hf_dir, tmp_path / "ms", PREFIX_CASES[name])
    assert read_config(ms_dir)["model_type"] == "structbert"
    torch.testing.assert_close(_eager_logits(ms_dir), _eager_logits(hf_dir), rtol=0, atol=0)


def test_safetensors_preferred_over_bin(tiny_model, tmp_path):
    model_dir = modelscope_copy(tiny_model("bert"), tmp_path / "ms", "encoder.", weights="safetensors")
    (model_dir / "pytorch_model.bin").write_bytes(b"not a pickle")  # would fail if it were read
    assert load_source(model_dir).info.weights_sha256


def _broken(tiny_model, tmp_path: Path, edit) -> Path:  # type: ignore[no-untyped-def]
    model_dir = shutil.copytree(tiny_model("bert"), tmp_path / "broken")
    edit(model_dir)
    return model_dir


def _edit_config(**changes):  # type: ignore[no-untyped-def]
    def edit(model_dir: Path) -> None:
        config = json.loads((model_dir / "config.json").read_text())
        for key, value in changes.items():
            if value is None:
                config.pop(key, None)
            else:
                config[key] = value
        (model_dir / "config.json").write_text(json.dumps(config))

    return edit


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: (d / "config.json").unlink(), "has no config.json"),
        (lambda d: (d / "config.json").write_text("{not json"), "cannot read"),
        (_edit_config(id2label=None, label2id=None), "has no id2label"),
        (_edit_config(model_type="no-such-model"), "unsupported architecture 'no-such-model'"),
        (_edit_config(label2id={"joy": 0}), "label2id does not mirror id2label"),
        (_edit_config(num_labels=3), "num_labels is 3"),
        (_edit_config(id2label={"0": "a", "2": "b"}, label2id=None, num_labels=None), "ids must be 0..1"),
        (_edit_config(id2label={str(i): f"l{i}" for i in range(5)}, label2id=None, num_labels=None),
         "num_labels / id2label mismatch"),
        (lambda d: (d / "model.safetensors").unlink(), "has no weights"),
        (lambda d: (d / "model.safetensors").write_bytes(b"\x00" * 64), "cannot read weights"),
    ],
)
def test_bad_model_directories_give_one_clear_error(tiny_model, tmp_path, edit, message):
    model_dir = _broken(tiny_model, tmp_path, edit)
    with pytest.raises(ModelLoadError, match=message) as info:
        load_source(model_dir)
    assert "\n" not in str(info.value)


def test_missing_and_non_directory_paths(tmp_path):
    with pytest.raises(ModelLoadError, match="does not exist"):
        load_source(tmp_path / "nope")
    (tmp_path / "file").write_text("x")
    with pytest.raises(ModelLoadError, match="is not a directory"):
        load_source(tmp_path / "file")


def test_base_encoder_without_head_is_refused(tiny_model, tmp_path):
    def drop_head(model_dir: Path) -> None:
        state = load_file(model_dir / "model.safetensors")
        save_file({k: v for k, v in state.items() if not k.startswith("classifier.")}, model_dir / "model.safetensors")

    with pytest.raises(ModelLoadError, match="no classification head"):
        load_source(_broken(tiny_model, tmp_path, drop_head))
