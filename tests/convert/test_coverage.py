"""Coverage by declaration: a tiny model of every registered model type (and one without a spec, on the generic
path) goes through convert → validate, and its fp32 ONNX is exact under the default profile.

The models are untrained random inits (zoo recipe "none": no corpus passes, about a second each): random tiny models
give near-identical outputs for every text (DESIGN.md "The offline zoo"), so only fp32 parity is judged on all of
them; one type also goes through fp16 and int8, within their profiles. Golden texts are cut at 16 tokens.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import onnx
import pytest

from npuport.convert.fp16 import convert_onnx_fp16
from npuport.convert.pipeline import ConvertResult, convert_model
from npuport.convert.plan import ConvertOptions
from npuport.convert.quantize import node_roles
from npuport.core.buckets import parse_buckets
from npuport.model.architectures import GENERIC_NOTE, REGISTRY, architecture
from npuport.validate.gate import validate_artifacts

COVERED = ["bert", "structbert", "roberta", "xlm-roberta", "camembert", "distilbert", "albert", "electra", "ernie",
           "deberta-v2", "mpnet", "modernbert"]
GENERIC = "megatron-bert"  # BERT with pre-LayerNorm: transformers classifies it, npuport has no spec for it
FP32 = ConvertOptions(formats=("onnx",), precisions=("fp32",), shapes=("dynamic",), buckets=tuple(parse_buckets("1x16")))


@pytest.fixture(scope="session")
def covered(untrained: Callable[[str], Path], tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], ConvertResult]:
    """covered('albert') → its ONNX fp32 dynamic conversion (converted once per session)."""
    root = tmp_path_factory.mktemp("covered")
    results: dict[str, ConvertResult] = {}

    def get(model_type: str) -> ConvertResult:
        if model_type not in results:
            results[model_type] = convert_model(untrained(model_type), root / model_type, FP32, isolate=False)
        return results[model_type]

    return get


def test_every_registered_type_has_a_coverage_test() -> None:
    assert sorted(set(REGISTRY) - set(COVERED)) == [], "registered model types without a convert → validate test"
    assert GENERIC not in REGISTRY


@pytest.mark.parametrize("model_type", [*COVERED, GENERIC])
def test_fp32_onnx_converts_and_validates_exactly(covered: Callable[[str], ConvertResult], model_type: str) -> None:
    result = covered(model_type)
    source, variant = result.manifest.source, result.manifest.variant("onnx-fp32-dynamic")
    spec = architecture(model_type)
    assert source.model_type == model_type and source.coverage == spec.coverage
    assert [s.name for s in variant.inputs] == source.input_names
    assert any(t.startswith("ort-fusion:") for t in variant.transforms) == (spec.fusion is not None)
    run = validate_artifacts(result.root)
    assert run.passed, [r.failures for r in run.results]


@pytest.mark.parametrize("model_type", [*COVERED, GENERIC])
def test_declared_feed_forward_scopes_name_every_layer(covered: Callable[[str], ConvertResult], model_type: str) -> None:
    """The int8 ladder keeps these nodes in fp32 first: each of the two layers has its input and output MatMul."""
    result = covered(model_type)
    roles = node_roles(onnx.load(str(result.root / result.manifest.variant("onnx-fp32-dynamic").files[0].path)))
    assert len(roles["ffn-input"]) == len(roles["ffn-output"]) == 2, roles


def test_generic_path_reads_inputs_from_the_model_and_says_so(covered: Callable[[str], ConvertResult]) -> None:
    source = covered(GENERIC).manifest.source
    assert source.coverage == GENERIC_NOTE and source.architecture == "MegatronBertForSequenceClassification"
    assert source.input_names == ["input_ids", "attention_mask", "token_type_ids"]  # its forward and tokenizer's


def test_mpnet_fp16_keeps_its_relative_position_buckets_in_fp32(covered: Callable[[str], ConvertResult],
                                                               tmp_path: Path) -> None:
    """Its declared fp16 sensitivity: the position buckets (a log of distances cast to an index) stay fp32, the
    encoder layers do not."""
    result = covered("mpnet")
    source = result.root / result.manifest.variant("onnx-fp32-dynamic").files[0].path
    transforms = convert_onnx_fp16(source, tmp_path / "fp16.onnx", keep_fp32=architecture("mpnet").fp16_keep_fp32)
    kept = int(transforms[1].split()[1])
    model = onnx.load(str(tmp_path / "fp16.onnx"))
    log = next(n for n in model.graph.node if n.op_type == "Log")
    types = {v.name: v.type.tensor_type.elem_type for v in onnx.shape_inference.infer_shapes(model).graph.value_info}
    assert 0 < kept < len(model.graph.node) // 4 and "/layer." not in log.name
    assert types[log.output[0]] == onnx.TensorProto.FLOAT


def test_fp16_and_int8_of_a_factorised_shared_layer_model_pass_their_profiles(
        untrained: Callable[[str], Path], tmp_path: Path) -> None:
    """ALBERT: factorised embeddings and one layer's weights shared by both layers; fp16 and int8 derive from them."""
    options = ConvertOptions(formats=("onnx",), precisions=("fp16", "int8"), shapes=("dynamic",),
                             buckets=tuple(parse_buckets("1x16")))
    result = convert_model(untrained("albert"), tmp_path / "albert", options, isolate=False)
    run = validate_artifacts(result.root)
    assert {r.variant for r in run.results} == {"onnx-fp16-dynamic", "onnx-int8-dynamic"}
    assert run.passed, [r.failures for r in run.results]
