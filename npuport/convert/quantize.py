"""ONNX int8: dynamic quantization (weights per channel, activations uint8 at run time) under the int8 gate.

Why not ONNX Runtime's default (uint8 activations x 8-bit int8 weights, "U8S8"): on x86 CPUs without VNNI, ORT
runs U8S8 with VPMADDUBSW, whose pairwise 16-bit sums saturate, while AVX-512 VNNI accumulates the same products
exactly in 32 bits, so one file gave different answers on different CPUs of one cloud (measured: the tiny test
BERT's worst-text cosine 0.995 on AVX-512 VNNI, 0.926 on AVX2). Both schemes here keep the integer arithmetic
exact on every x86 instruction set (SCHEMES): uint8 weights ("U8U8", the default: widened to 16 bits before the
multiply-add; the most accurate) or 7-bit int8 weights ("U8S8 reduce_range": pair sums stay below 2^15; about twice
as fast on VNNI CPUs, one bit less precise). Per-channel U8S8 without reduce_range saturates worse.

Which layers stay fp32 is chosen on evidence: the rungs of LADDER are tried in order and the first file that passes
the int8 validation profile on the golden texts is kept (real-weights MiniLM needs its feed-forward blocks in fp32:
activation outliers there defeat per-tensor activation quantization). The scheme, the rung and the nodes it kept in
fp32 are recorded in the manifest; `npuport validate` then judges the file like any other.
"""

from __future__ import annotations

import contextlib
import io
import logging
from collections.abc import Callable
from pathlib import Path

from npuport.core.files import atomic_path
from npuport.core.manifest import Quantization
from npuport.model.architectures import ffn_scopes

# (rung, the node roles kept in fp32), least kept first.
LADDER: list[tuple[str, tuple[str, ...]]] = [
    ("none", ()),
    ("ffn-output, embeddings", ("ffn-output", "embeddings")),
    ("ffn, embeddings", ("ffn-output", "ffn-input", "embeddings")),
]
# Both schemes keep ONNX Runtime's integer arithmetic exact on every x86 instruction set (no 16-bit saturation).
SCHEMES: dict[str, tuple[str, bool, str]] = {  # name → (weight dtype, reduce_range, why)
    "uint8": ("uint8", False, "uint8 x uint8 products are widened to 16 bits before the multiply-add on every x86 "
                              "instruction set, so nothing saturates; the most accurate portable scheme"),
    "int8-7bit": ("int8", True, "7-bit int8 weights keep uint8 x int8 pair sums below 2^15, so AVX2's VPMADDUBSW cannot "
                                "saturate, and VNNI CPUs run it with their fast int8 dot products (~2x the uint8 "
                                "scheme there); one bit less of weight precision"),
}
INT8_WEIGHTS = tuple(SCHEMES)
LADDER_WHY = "layers kept in fp32: the first rung of the ladder whose file passed the int8 profile on the golden texts"

Judge = Callable[[Path], list[str]]  # a written file → the profile checks it fails (empty: it passes)


def node_roles(model: object) -> dict[str, list[str]]:
    """Names of the nodes by role, from the module names the export keeps (the feed-forward scopes every
    architecture spec declares; an attention block's output projection is never the feed-forward's)."""
    roles: dict[str, list[str]] = {"ffn-input": [], "ffn-output": [], "embeddings": []}
    ffn_input, ffn_output = ffn_scopes()
    for node in model.graph.node:  # type: ignore[attr-defined]
        name = node.name
        if node.op_type in ("EmbedLayerNormalization", "Gather"):
            roles["embeddings"].append(name)
        elif node.op_type == "MatMul" and ffn_input.search(name):
            roles["ffn-input"].append(name)
        elif node.op_type == "MatMul" and "/attention/" not in name and ffn_output.search(name):
            roles["ffn-output"].append(name)
    return roles


def quantize_onnx_int8(src: Path, dst: Path, judge: Judge, weights: str = "uint8") -> tuple[list[str], Quantization]:
    """Quantize with `weights` (a SCHEMES key) rung by rung until `judge` passes a file; the last rung's file is
    kept if none does (validate will then say why it fails)."""
    import onnx

    dtype, reduce_range, why = SCHEMES[weights]
    roles = node_roles(onnx.load(str(src), load_external_data=False))
    tried: list[str] | None = None
    for rung, kept in LADDER:
        excluded = sorted(name for role in kept for name in roles[role])
        if excluded == tried:
            continue  # this graph has no node of the rung's new roles: the same file as the rung before
        tried = excluded
        quantize_dynamic_int8(src, dst, excluded, weights)
        scheme = Quantization(method="dynamic", weights=dtype, activations="uint8", granularity="per-channel",  # type: ignore[arg-type]
                              reduce_range=reduce_range, kept_fp32=rung, fp32_nodes=excluded, why=f"{why}; {LADDER_WHY}")
        if not judge(dst):
            break
    return [f"dynamic-quantization:{scheme.label}"], scheme


def quantize_dynamic_int8(src: Path, dst: Path, excluded: list[str], weights: str = "uint8") -> None:
    """Dynamic int8 of `src` into `dst` in the `weights` scheme (SCHEMES), the `excluded` nodes left in fp32."""
    from onnx import TensorProto
    from onnxruntime.quantization import QuantType, quantize_dynamic

    logging.getLogger("root").setLevel(logging.ERROR)
    with atomic_path(dst) as tmp, contextlib.redirect_stdout(io.StringIO()):
        # Fused contrib ops (Attention, SkipLayerNormalization) defeat ONNX shape inference; their outputs are fp32.
        dtype, reduce_range, _ = SCHEMES[weights]
        quantize_dynamic(str(src), str(tmp), weight_type=QuantType.QInt8 if dtype == "int8" else QuantType.QUInt8, per_channel=True,
                         reduce_range=reduce_range,
                         nodes_to_exclude=excluded, extra_options={"DefaultTensorType": TensorProto.FLOAT})
