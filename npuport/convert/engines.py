"""Variants another engine runs from a file convert already wrote: OpenVINO on the fp32 dynamic ONNX graph.

`openvino-fp32-dynamic` and `openvino-bf16-dynamic` list the same file as `onnx-fp32-dynamic` (nothing is copied) and
say which engine and inference precision run it (`Variant.engine`, `precision`); each is checked right after convert
on the golden texts like any export, then validated, benchmarked and packaged as a variant of its own. bf16 is
OpenVINO's bf16 inference precision on the fp32 file: the ONNX route to bf16 (ONNX Runtime's CPU provider has no bf16
kernels). On a CPU without bf16 OpenVINO computes f32 instead, and the verdict's engine says so ("runs f32").
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from npuport.convert.check import check_export
from npuport.core.errors import ConversionError
from npuport.core.golden import GoldenInputs
from npuport.core.manifest import Variant
from npuport.runtime.openvino_runner import PRECISION_HINT, OpenVinoRunner

OPENVINO_PRECISIONS = tuple(PRECISION_HINT)  # fp32, bf16
BASE = ("onnx", "fp32", "dynamic")


def openvino_variants(root: Path, variants: list[Variant], golden: GoldenInputs, reference: np.ndarray, activation: str,
                      pad_token_id: int) -> list[Variant]:
    """One checked OpenVINO variant per precision of OPENVINO_PRECISIONS, on the onnx-fp32-dynamic file in `root`."""
    base = next((v for v in variants if (v.format, v.precision, v.shape) == BASE and v.engine is None), None)
    if base is None:
        raise ConversionError("OpenVINO variants run the fp32 dynamic ONNX graph: build onnx fp32 dynamic too")
    built = []
    for precision in OPENVINO_PRECISIONS:
        runner = OpenVinoRunner(root / base.files[0].path, base.inputs, base.outputs, precision)
        check = check_export(runner, golden, reference, None, precision, activation, pad_token_id)
        built.append(base.model_copy(update={
            "id": f"openvino-{precision}-dynamic", "precision": precision, "engine": "openvino", "quantization": None,
            "tuning": None, "export_check": check,
            "transforms": [*base.transforms, f"openvino INFERENCE_PRECISION_HINT={PRECISION_HINT[precision]} "
                                             f"(the file of {base.id}, run by OpenVINO)"],
        }))
    return built
