"""Artifacts peers open: convert writes a config.json transformers reads (the model type it knows, the labels, the problem
type), vouched for by the manifest; Optimum's ORTModelForSequenceClassification loads an ONNX variant from the artifacts
directory as it is and computes npuport's logits."""

from __future__ import annotations

import numpy as np
import pytest

from npuport.core.golden import GoldenInputs
from npuport.runtime.loader import runner_for

# optimum-onnx 0.1.0 (its only release) requires transformers<4.58 and tokenizers<0.23: installing it would downgrade
# the transformers 5 / tokenizers 0.23 npuport is tested with, so dev does not carry it.
OPTIMUM_MISSING = "optimum-onnx is not installed (0.1.0 requires transformers<4.58; this environment has transformers 5)"


@pytest.mark.parametrize("model_type", ["bert", "structbert"])
def test_artifacts_carry_a_config_transformers_reads(converted, model_type):  # type: ignore[no-untyped-def]
    from transformers import AutoConfig

    result = converted(model_type)
    manifest = result.manifest
    assert manifest.peer_config is not None and manifest.peer_config.path == "config.json"
    manifest.peer_config.verify(result.root)
    config = AutoConfig.from_pretrained(str(result.root))
    assert config.model_type == "bert"  # ModelScope's structbert loads as BERT: the type transformers knows
    assert config.architectures == [manifest.source.architecture]
    assert config.id2label == manifest.source.id2label
    assert config.label2id == {label: index for index, label in manifest.source.id2label.items()}
    assert config.problem_type == manifest.source.problem_type


def test_optimum_loads_an_onnx_variant_and_matches(converted):  # type: ignore[no-untyped-def]
    optimum = pytest.importorskip("optimum.onnxruntime", reason=OPTIMUM_MISSING)
    result = converted("bert")
    variant = result.manifest.variant("onnx-fp32-dynamic")
    model = optimum.ORTModelForSequenceClassification.from_pretrained(str(result.root), subfolder="onnx",
                                                                      file_name="fp32-dynamic.onnx")
    feed = GoldenInputs.load(result.root / result.manifest.golden.inputs.path).rows(range(8))
    with runner_for(result.root / variant.files[0].path, "onnx", variant.inputs, variant.outputs) as ours:
        np.testing.assert_allclose(np.asarray(model(**feed).logits), ours.infer(feed), atol=1e-5)
