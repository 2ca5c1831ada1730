"""A stand-in for `ais_bench.infer.interface` (msit's benchmark component over Ascend's ACL), the one module npuport's
runtime.acl imports: put this folder on sys.path (or PYTHONPATH) and npuport runs `.om` files through it.

It keeps the real InferSession's contract (ais_bench 0.0.2's interface.py): `InferSession(device_id, model_path)`;
`infer(feeds, mode)` with one array per model input in input order, `mode` "static" for a one-shape model and
"dymdims" for a gears model, whose feed shapes must be exactly one compiled gear; `get_inputs()`; `free_resource()`.
What it computes is real: the `.om` is the stand-in atc's record (tests/package/fake_atc.py) of the ONNX model and
gears it compiled, and that ONNX model runs here with ONNX Runtime on the CPU — after checking its sha256 is still
what was compiled. NPU_DEVICES (default "0") lists the device ids that exist.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass

import numpy as np
import onnxruntime as ort

MAGIC = "npuport-stand-in-om"
CALLS: list[tuple[str, str, list[tuple[int, ...]]]] = []  # (model file, mode, shapes) of every infer, for the tests


@dataclass
class TensorDesc:
    name: str
    shape: list[int]


class InferSession:
    def __init__(self, device_id: int, model_path: str, acl_json_path: str | None = None, debug: bool = False,
                 loop: int = 1) -> None:
        if str(device_id) not in os.environ.get("NPU_DEVICES", "0").split(","):
            raise RuntimeError(f"aclrtSetDevice failed: device {device_id} does not exist")
        with open(model_path, encoding="utf-8") as handle:
            record = json.load(handle)
        if record.get("format") != MAGIC:
            raise RuntimeError(f"aclmdlLoadFromFile failed: {model_path} is not an offline model")
        with open(record["model"], "rb") as handle:
            if hashlib.sha256(handle.read()).hexdigest() != record["model_sha256"]:
                raise RuntimeError(f"{record['model']} changed since it was compiled to {model_path}")
        self.model_path = model_path
        self.gears: list[dict[str, list[int]]] = record["gears"]
        self.session = ort.InferenceSession(record["model"], providers=["CPUExecutionProvider"])
        self.names = [i.name for i in self.session.get_inputs()]

    def get_inputs(self) -> list[TensorDesc]:
        dynamic = len(self.gears) > 1
        return [TensorDesc(name, [-1] * len(shape) if dynamic else shape) for name, shape in self.gears[0].items()]

    def infer(self, feeds: list[np.ndarray], mode: str = "static", custom_sizes: int = 100000,
              out_array: bool = True) -> list[np.ndarray]:
        want = "dymdims" if len(self.gears) > 1 else "static"
        if mode != want:
            raise RuntimeError(f"mode {mode!r} on a model of {len(self.gears)} gear(s): use {want!r}")
        shapes = {name: list(array.shape) for name, array in zip(self.names, feeds)}
        if len(feeds) != len(self.names) or shapes not in self.gears:
            raise RuntimeError(f"aclmdlSetInputDynamicDims failed: {shapes} is not a compiled gear")
        CALLS.append((os.path.basename(self.model_path), mode, [a.shape for a in feeds]))
        return self.session.run(None, dict(zip(self.names, feeds)))

    def free_resource(self) -> None:
        self.session = None  # type: ignore[assignment]
