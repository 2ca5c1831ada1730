"""ONNX fp32 → fp16: weights and compute in half, int64 inputs and fp32 logits kept at the boundary."""

from __future__ import annotations

import contextlib
import io
import warnings
from pathlib import Path

import onnx

from npuport.core.files import atomic_path


def convert_onnx_fp16(src: Path, dst: Path) -> list[str]:
    from onnxruntime.transformers.onnx_model import OnnxModel

    model = OnnxModel(onnx.load(str(src)))
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.convert_float_to_float16(keep_io_types=True)
    with atomic_path(dst) as tmp:
        onnx.save_model(model.model, str(tmp))
    return ["float16(keep_io_types)"]
