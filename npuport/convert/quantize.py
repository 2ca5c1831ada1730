"""ONNX int8: dynamic quantization of the MatMul (and fused Attention) weights; activations stay float."""

from __future__ import annotations

import contextlib
import io
import logging
from pathlib import Path

from npuport.fsutil import atomic_path


def quantize_onnx_int8(src: Path, dst: Path) -> list[str]:
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    logging.getLogger("root").setLevel(logging.ERROR)
    with atomic_path(dst) as tmp, contextlib.redirect_stdout(io.StringIO()):
        # Fused contrib ops (Attention, SkipLayerNormalization) defeat ONNX shape inference; their outputs are fp32.
        quantize_dynamic(str(src), str(tmp), weight_type=QuantType.QInt8, per_channel=False,
                         extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
    return ["dynamic-quantization:int8-weights"]
