"""The int8 ladder: layers stay fp32 only as far as the int8 gate needs, and the manifest says which."""

from __future__ import annotations

from pathlib import Path

import onnx

from npuport.convert.quantize import LADDER, node_roles, quantize_onnx_int8


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
