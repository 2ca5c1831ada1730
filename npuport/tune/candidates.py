"""Candidate files: the fp32 ONNX with every weighted op in the target precision except the nodes kept in fp32.

int8 is ONNX Runtime's static quantization in QDQ form (QuantizeLinear/DequantizeLinear pairs around the weighted
MatMuls, Gemm and the embedding Gather): activation ranges calibrated on texts, weights per channel, in the same portable scheme as
convert's dynamic int8 (`core.int8.SCHEMES`, chosen for the CPU class: uint8 weights for an unknown class, so
nothing saturates on AVX2). QDQ is
also the form TensorRT, ORT's CUDA provider and Ascend's AMCT flow consume. fp16 is convert's fp16 conversion with
the kept nodes blocked (they compute in fp32 between Casts).
"""

from __future__ import annotations

import contextlib
import io
import logging
import warnings
from pathlib import Path
from typing import Any

from npuport.core.files import atomic_path
from npuport.core.int8 import SCHEMES

CALIBRATIONS = ("minmax", "entropy", "percentile")
QUANTIZED_OPS = ["MatMul", "Gemm", "Gather"]


def int8_qdq(base: Path, out: Path, feeds: Any, kept: list[str], calibration: str, weights: str) -> None:
    """Static QDQ int8 of `base` into `out`; `feeds` replays the calibration batches (tune.calibration.Feeds)."""
    from onnxruntime.quantization import CalibrationDataReader, CalibrationMethod, QuantFormat, QuantType, quantize_static

    class Reader(CalibrationDataReader):
        def get_next(self) -> dict[str, Any] | None:
            return feeds.get_next()

    scheme = SCHEMES[weights]
    excluded = kept + _activation_products(base)
    method = {"minmax": CalibrationMethod.MinMax, "entropy": CalibrationMethod.Entropy,
              "percentile": CalibrationMethod.Percentile}[calibration]
    feeds.rewind()
    logging.getLogger("root").setLevel(logging.ERROR)
    with atomic_path(out) as tmp, contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        quantize_static(str(base), str(tmp), Reader(), quant_format=QuantFormat.QDQ, op_types_to_quantize=QUANTIZED_OPS,
                        per_channel=True, reduce_range=scheme.reduce_range, activation_type=QuantType.QUInt8,
                        weight_type=QuantType.QInt8 if scheme.weights == "int8" else QuantType.QUInt8, nodes_to_exclude=excluded,
                        calibrate_method=method, extra_options={"CalibMovingAverage": False})


def _activation_products(base: Path) -> list[str]:
    """MatMuls of two activations (attention's QK^T and its weighted sum of V): per-tensor static ranges on both sides
    cost more parity than they buy (dynamic quantization leaves them in fp32 too), so they stay fp32."""
    import onnx

    model = onnx.load(str(base), load_external_data=False)
    weights = {init.name for init in model.graph.initializer}
    return [node.name for node in model.graph.node if node.op_type == "MatMul" and not weights & set(node.input)]


def fp16_kept(base: Path, out: Path, kept: list[str]) -> None:
    """fp16 of `base` into `out` with the `kept` nodes computing in fp32."""
    import onnx
    from onnxruntime.transformers.onnx_model import OnnxModel

    model = OnnxModel(onnx.load(str(base)))
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.convert_float_to_float16(keep_io_types=True, node_block_list=kept)
    with atomic_path(out) as tmp:
        onnx.save_model(model.model, str(tmp))


def floating_nodes(path: Path, names: list[str]) -> list[str]:
    """Of `names`, the nodes of the graph at `path` with a floating-point input or output: what an ATC `--keep_dtype`
    list may name (it keeps an op's dtype; an integer op, such as a Gather of shape dims, has no float dtype to keep)."""
    import onnx

    model = onnx.shape_inference.infer_shapes(onnx.load(str(path)))
    floats = {onnx.TensorProto.FLOAT, onnx.TensorProto.FLOAT16, onnx.TensorProto.BFLOAT16, onnx.TensorProto.DOUBLE}
    graph = model.graph
    typed = {v.name: v.type.tensor_type.elem_type for v in [*graph.value_info, *graph.input, *graph.output]}
    typed |= {t.name: t.data_type for t in graph.initializer}
    floating = {node.name for node in graph.node if any(typed.get(t) in floats for t in [*node.input, *node.output])}
    return [name for name in names if name in floating]
