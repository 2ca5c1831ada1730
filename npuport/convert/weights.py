"""Writing an ONNX graph, optionally with its weights in an external-data file that several graphs share.

Torch-free: the fp16 step (onnx + onnxruntime only) writes through it too.
"""

from __future__ import annotations

import filecmp
import os
from pathlib import Path

import onnx

from npuport.core.errors import ConversionError
from npuport.core.files import atomic_path


def save_onnx(model: onnx.ModelProto, path: Path, weights: Path | None = None) -> list[str]:
    """Write `model` to `path`; with `weights`, its initializers go to that external-data file beside it instead.
    Returns the transform note.

    Every bucket graph of one static variant differs from the others only in dims, so they share one weights file:
    the first bucket writes it, each later one must produce exactly its bytes (else ConversionError) and adds only
    its graph. A static variant then weighs about what its dynamic twin does, not once per bucket."""
    with atomic_path(path) as tmp:
        if weights is None:
            onnx.save_model(model, str(tmp))
            return []
        onnx.save_model(model, str(tmp), save_as_external_data=True, all_tensors_to_one_file=True, location=weights.name)
        written = tmp.parent / weights.name
        if not weights.exists():
            written.chmod(0o644)  # onnx creates it private (0600); the graphs beside it are 0644
            os.replace(written, weights)
        elif not filecmp.cmp(written, weights, shallow=False):
            raise ConversionError(f"{path.name}: its weights differ from {weights.name}, which the other buckets share")
    return [f"weights-in:{weights.name}"]
