"""ONNX fp32 → fp16: weights and compute in half, int64 inputs and fp32 logits kept at the boundary."""

from __future__ import annotations

import contextlib
import io
import re
import warnings
from pathlib import Path

import onnx

from npuport.convert.weights import save_onnx


def convert_onnx_fp16(src: Path, dst: Path, weights: Path | None = None, keep_fp32: str = "") -> list[str]:
    """`weights`: the external-data file the static buckets of the fp16 variant share (see `save_onnx`); `keep_fp32`:
    a pattern of node names left in fp32, the architecture's known fp16 sensitivity (model.architectures)."""
    from onnxruntime.transformers.onnx_model import OnnxModel

    model = OnnxModel(onnx.load(str(src)))
    kept = [node.name for node in model.nodes() if keep_fp32 and re.search(keep_fp32, node.name)]
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.convert_float_to_float16(keep_io_types=True, node_block_list=kept)
    note = [f"fp32: {len(kept)} nodes of the architecture's fp16 keep-list"] if kept else []
    return ["float16(keep_io_types)", *note] + save_onnx(model.model, dst, weights)
