"""The int8 ladder: layers stay fp32 only as far as the int8 gate needs, and the manifest says which."""

from __future__ import annotations

from pathlib import Path

import onnx
import onnx.numpy_helper
import pytest

from npuport.convert.pipeline import convert_model
from npuport.convert.plan import ConvertOptions
from npuport.convert.quantize import LADDER, node_roles, quantize_onnx_int8
from npuport.core.errors import InputError
from npuport.core.int8 import VNNI_CLASSES
from npuport.validate.gate import validate_artifacts


def fp32_onnx(converted, arch: str) -> Path:  # type: ignore[no-untyped-def]
    result = converted(arch)
    return result.root / result.manifest.variant("onnx-fp32-dynamic").files[0].path


def test_every_architecture_names_its_feed_forward_and_embedding_nodes(converted):  # type: ignore[no-untyped-def]
    for arch in ("bert", "distilbert"):
        roles = node_roles(onnx.load(str(fp32_onnx(converted, arch))))
        assert len(roles["ffn-input"]) == len(roles["ffn-output"]) == 2, (arch, roles)  # two layers each
        assert roles["embeddings"], arch


def test_the_first_rung_that_passes_is_kept_and_recorded(converted, tmp_path):  # type: ignore[no-untyped-def]
    source = fp32_onnx(converted, "bert")
    tried: list[str] = []

    def judge(path: Path) -> list[str]:  # fails until the feed-forward blocks stay fp32
        tried.append(path.name)
        return [] if len(tried) == len(LADDER) else ["min cosine 0.9 (limit >= 0.95)"]

    transforms, scheme = quantize_onnx_int8(source, tmp_path / "int8.onnx", judge)
    assert len(tried) == len(LADDER)
    assert scheme.kept_fp32 == LADDER[-1][0] and transforms == [f"dynamic-quantization:{scheme.label}"]
    roles = node_roles(onnx.load(str(source)))
    assert set(scheme.fp32_nodes) == set(roles["ffn-input"] + roles["ffn-output"] + roles["embeddings"])
    quantized = onnx.load(str(tmp_path / "int8.onnx"))
    still_float = {n.name for n in quantized.graph.node if n.op_type == "MatMul"}
    assert set(roles["ffn-input"] + roles["ffn-output"]) <= still_float
    assert any(n.op_type == "QAttention" for n in quantized.graph.node)  # attention is still int8


def test_a_passing_first_rung_keeps_nothing_in_fp32(converted, tmp_path):  # type: ignore[no-untyped-def]
    _, scheme = quantize_onnx_int8(fp32_onnx(converted, "bert"), tmp_path / "int8.onnx", lambda path: [])
    assert (scheme.kept_fp32, scheme.fp32_nodes) == ("none", [])


def test_an_avx2_target_gets_seven_bit_int8_weights(tiny_model, tmp_path):  # type: ignore[no-untyped-def]
    options = ConvertOptions(formats=("onnx",), precisions=("int8",), shapes=("dynamic",), cpu_class="x86-64-avx2")
    result = convert_model(tiny_model("bert"), tmp_path / "bert", options, isolate=False)
    variant = result.manifest.variant("onnx-int8-dynamic")
    assert variant.quantization is not None and (variant.quantization.weights, variant.quantization.reduce_range) == ("int8", True)
    assert variant.quantization.chosen_for == "x86-64-avx2" and variant.quantization.exact_on is None
    assert variant.quantization.why.startswith("x86-64-avx2 has no VNNI")
    assert variant.transforms == ["dynamic-quantization:U8S8-per-channel-reduce-range"]
    weights = [t for t in onnx.load(str(tmp_path / "bert" / variant.files[0].path)).graph.initializer
               if t.data_type == onnx.TensorProto.INT8 and len(t.dims) == 2]
    assert weights and all(abs(int(v)) <= 64 for t in weights for v in onnx.numpy_helper.to_array(t).ravel())  # 7 bits
    assert validate_artifacts(tmp_path / "bert").passed


def test_full_int8_weights_are_recorded_as_exact_on_vnni_classes_only(converted, tmp_path):  # type: ignore[no-untyped-def]
    _, scheme = quantize_onnx_int8(fp32_onnx(converted, "bert"), tmp_path / "int8.onnx", lambda path: [], "int8",
                                   "x86-64-avx512-vnni")
    assert (scheme.weights, scheme.reduce_range, scheme.label) == ("int8", False, "U8S8-per-channel")
    assert scheme.chosen_for == "x86-64-avx512-vnni" and set(scheme.exact_on or []) == set(VNNI_CLASSES)
    weights = [t for t in onnx.load(str(tmp_path / "int8.onnx")).graph.initializer
               if t.data_type == onnx.TensorProto.INT8 and len(t.dims) == 2]
    assert max(abs(int(v)) for t in weights for v in onnx.numpy_helper.to_array(t).ravel()) > 64  # all 8 bits used


def test_an_unknown_int8_scheme_or_cpu_class_is_refused():
    with pytest.raises(InputError, match="--int8-weights must be one of uint8, int8-7bit, int8"):
        ConvertOptions(int8_weights="int4")
    with pytest.raises(InputError, match="unknown --cpu-class 'x86-64-avx9'"):
        ConvertOptions(cpu_class="x86-64-avx9")
