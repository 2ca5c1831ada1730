"""The torch backend: TorchScript files on cpu, cuda or npu, one device-generic code path.

`npu` uses torch_npu through the same torch.* calls as `cuda`; only the compile-mode policy is NPU-specific
(static shapes may JIT-compile; dynamic shapes want precompiled kernels). That policy has not been run on
Ascend hardware by this project.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from npuport.core.devices import Device
from npuport.core.manifest import TensorSpec
from npuport.runtime.backends import torch_device
from npuport.runtime.runner import Runner

if TYPE_CHECKING:
    import torch


def set_npu_compile_mode(static_shapes: bool) -> None:
    import torch_npu

    torch_npu.npu.set_compile_mode(jit_compile=static_shapes)


class TorchScriptRunner(Runner):
    KIND = "torchscript"

    def __init__(self, path: Path, inputs: list[TensorSpec], outputs: list[TensorSpec], device: Device = Device("cpu")) -> None:
        super().__init__(f"{self.KIND}:{path.name}@{device}", inputs, outputs)
        self.path = path
        self.device = device
        self._module: torch.nn.Module | None = None
        self._torch_device: torch.device | None = None

    def _static_shapes(self) -> bool:
        return all(isinstance(d, int) for spec in self.inputs for d in spec.shape)

    def _activate_impl(self) -> None:
        self._torch_device = torch_device(self.device)
        if self.device.type == "npu":
            set_npu_compile_mode(self._static_shapes())
        import torch

        self._module = torch.jit.load(str(self.path), map_location=self._torch_device).eval()

    def _infer_impl(self, feed: dict[str, np.ndarray]) -> np.ndarray:
        import torch

        assert self._module is not None and self._torch_device is not None
        args = [torch.from_numpy(np.ascontiguousarray(feed[s.name])).to(self._torch_device) for s in self.inputs]
        with torch.inference_mode():
            logits = self._module(*args)
        return logits.float().cpu().numpy()

    def _deactivate_impl(self) -> None:
        self._module = None
