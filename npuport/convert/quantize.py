"""ONNX int8: dynamic quantization (weights per channel, activations uint8 at run time) under the int8 gate.

The weights' scheme follows the CPU class the file will run on (`core.int8`: `--cpu-class`, `--target cpu`):
ONNX Runtime's uint8 activations x int8 weights ("U8S8") run faster than uint8 x uint8 on VNNI/AMX CPUs (9.4x on
an AMX Xeon, 1.8x on an AVX-512 VNNI EPYC: benchmarks/int8_kernels.py) but
saturate on AVX2 (VPMADDUBSW's 16-bit pair sums), so one file gave different answers on different CPUs of one cloud
(the tiny test BERT's worst-text cosine 0.995 on AVX-512 VNNI, 0.926 on AVX2). Unknown or mixed classes get uint8
weights ("U8U8", exact everywhere, fp32-like speed on VNNI); AVX2 and AVX-512 without VNNI get 7-bit int8 weights
(exact there, their fast kernel); VNNI/AMX classes get full int8 weights (exact and fastest there). The class chosen
for and the classes where the arithmetic is exact are recorded in the manifest (`quantization.chosen_for`,
`exact_on`), and a verdict records the class it was reached on.

Which layers stay fp32 is chosen on evidence: the rungs of LADDER are tried in order and the first file that passes
the int8 validation profile on the golden texts is kept (real-weights MiniLM needs its feed-forward blocks in fp32:
activation outliers there defeat per-tensor activation quantization). The scheme, the rung and the nodes it kept in
fp32 are recorded in the manifest; `npuport validate` then judges the file like any other.
"""

from __future__ import annotations

import contextlib
import io
import logging
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from npuport.core.errors import NpuportError
from npuport.core.files import atomic_path
from npuport.core.int8 import SCHEMES
from npuport.core.manifest import Quantization
from npuport.model.architectures import ffn_scopes

# (rung, the node roles kept in fp32), least kept first.
LADDER: list[tuple[str, tuple[str, ...]]] = [
    ("none", ()),
    ("ffn-output, embeddings", ("ffn-output", "embeddings")),
    ("ffn, embeddings", ("ffn-output", "ffn-input", "embeddings")),
]
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


def quantize_onnx_int8(src: Path, dst: Path, judge: Judge, weights: str = "uint8", chosen_for: str = "portable",
                       class_why: str = "") -> tuple[list[str], Quantization]:
    """Quantize with `weights` (a core.int8.SCHEMES key, chosen for the CPU class `chosen_for`) rung by rung until
    `judge` passes a file; the last rung's file is kept if none does (validate will then say why it fails)."""
    import onnx

    scheme = SCHEMES[weights]
    roles = node_roles(onnx.load(str(src), load_external_data=False))
    tried: list[str] | None = None
    for rung, kept in LADDER:
        excluded = sorted(name for role in kept for name in roles[role])
        if excluded == tried:
            continue  # this graph has no node of the rung's new roles: the same file as the rung before
        tried = excluded
        quantize_dynamic_int8(src, dst, excluded, weights)
        record = Quantization(method="dynamic", weights=scheme.weights, activations="uint8", granularity="per-channel",  # type: ignore[arg-type]
                              reduce_range=scheme.reduce_range, kept_fp32=rung, fp32_nodes=excluded, chosen_for=chosen_for,
                              exact_on=list(scheme.exact_on) if scheme.exact_on else None, why="; ".join(filter(None, (class_why, scheme.why, LADDER_WHY))))
        if not judge(dst):
            break
    return [f"dynamic-quantization:{record.label}"], record


def quantize_dynamic_int8(src: Path, dst: Path, excluded: list[str], weights: str = "uint8") -> None:
    """Dynamic int8 of `src` into `dst` in the `weights` scheme (SCHEMES), the `excluded` nodes left in fp32."""
    from google.protobuf.message import DecodeError
    from onnx import TensorProto
    from onnxruntime.quantization import QuantType, quantize_dynamic

    logging.getLogger("root").setLevel(logging.ERROR)
    try:
        with atomic_path(dst) as tmp, contextlib.redirect_stdout(io.StringIO()):
            # Fused contrib ops (Attention, SkipLayerNormalization) defeat ONNX shape inference; their outputs are fp32.
            scheme = SCHEMES[weights]
            quantize_dynamic(str(src), str(tmp), weight_type=QuantType.QInt8 if scheme.weights == "int8" else QuantType.QUInt8,
                             per_channel=True, reduce_range=scheme.reduce_range,
                             nodes_to_exclude=excluded, extra_options={"DefaultTensorType": TensorProto.FLOAT})
    except DecodeError:
        _raise_if_copy_cut_short(src, dst)
        raise
    finally:
        _inferred_copy(src).unlink(missing_ok=True)


def _inferred_copy(src: Path) -> Path:
    """Where ONNX Runtime's quantizer writes `src` with inferred shapes (quant_utils.load_model_with_shape_infer:
    onnx's C++ infer_shapes_path, which checks no write), read back and, unless that read fails, deletes."""
    return src.with_name(f"{src.stem}-inferred{src.suffix}")


def _raise_if_copy_cut_short(src: Path, dst: Path) -> None:
    """A DecodeError while quantizing a file that itself parses means the quantizer's own copy was cut short: on
    a full disk the write fails silently and the read back fails (`convert step onnx-int8 died: DecodeError`)."""
    import onnx
    from google.protobuf.message import DecodeError

    try:
        onnx.load(str(src), load_external_data=False)
    except DecodeError:
        return  # src itself is corrupt: the DecodeError says so
    free = ", ".join(f"{shutil.disk_usage(where).free // 1024:,} KiB free in {where}"
                     for where in dict.fromkeys((src.parent, Path(tempfile.gettempdir()))))
    raise NpuportError(f"disk full while writing {dst}: ONNX Runtime's quantizer wrote a copy of {src.name} that was "
                       f"cut short ({free}); nothing was left behind") from None
