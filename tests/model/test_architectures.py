"""The architecture registry: its declarations hold against the installed transformers and ONNX Runtime, and a model
type without a spec takes the generic path or gets one clear error. (Every registered type's convert → validate is in
tests/convert/test_coverage.py, which also fails when a registered type has no test there.)"""

from __future__ import annotations

import json
import shutil

import pytest
from transformers.models.auto.modeling_auto import MODEL_FOR_SEQUENCE_CLASSIFICATION_MAPPING_NAMES

from npuport.core.errors import ModelLoadError
from npuport.model.architectures import GENERIC_NOTE, REGISTRY, architecture
from npuport.model.config import implied_parameters, read_config


@pytest.mark.parametrize("model_type", sorted(REGISTRY))
def test_every_spec_names_what_transformers_and_onnxruntime_have(model_type: str) -> None:
    from onnxruntime.transformers.optimizer import MODEL_TYPES

    spec = REGISTRY[model_type]
    assert spec.loads_as in MODEL_FOR_SEQUENCE_CLASSIFICATION_MAPPING_NAMES
    assert spec.fusion is None or spec.fusion in MODEL_TYPES
    assert spec.input_names()[:2] == ["input_ids", "attention_mask"]
    assert spec.coverage.startswith("registered")


def test_a_type_without_a_spec_is_generic_and_unfused() -> None:
    spec = architecture("megatron-bert")
    assert not spec.registered and spec.fusion is None and spec.coverage == GENERIC_NOTE
    assert spec.input_names(("input_ids", "token_type_ids", "attention_mask")) == \
        ["input_ids", "attention_mask", "token_type_ids"]  # export order, whatever order the tokenizer lists
    assert spec.input_names(("input_ids", "attention_mask")) == ["input_ids", "attention_mask"]


def _retyped(tiny_model, tmp_path, model_type: str):  # type: ignore[no-untyped-def]
    model_dir = shutil.copytree(tiny_model("bert"), tmp_path / model_type)
    config = json.loads((model_dir / "config.json").read_text())
    (model_dir / "config.json").write_text(json.dumps(config | {"model_type": model_type}))
    return model_dir


def test_generic_type_reads_and_unknown_type_is_one_clear_error(tiny_model, tmp_path) -> None:  # type: ignore[no-untyped-def]
    assert read_config(_retyped(tiny_model, tmp_path, "megatron-bert"))["model_type"] == "megatron-bert"
    with pytest.raises(ModelLoadError, match="unsupported architecture 'no-such-model': no spec and no transformers") as info:
        read_config(_retyped(tiny_model, tmp_path, "no-such-model"))
    assert "\n" not in str(info.value) and "albert" in str(info.value)  # names the registered types


def test_shared_layers_count_once_in_the_implied_size() -> None:
    """ALBERT-base: 12 layers share one layer's weights; counting 12 would refuse its real 47 MB weights file."""
    albert = {"model_type": "albert", "vocab_size": 30000, "embedding_size": 128, "hidden_size": 768,
              "intermediate_size": 3072, "num_hidden_layers": 12, "max_position_embeddings": 512}
    assert implied_parameters(albert) < 47_000_000 < implied_parameters(albert | {"model_type": "bert"})
