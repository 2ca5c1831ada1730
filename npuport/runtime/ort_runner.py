"""ONNX Runtime backend: provider chosen from the device, threads explicit, placement reported."""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from npuport.core.devices import Device
from npuport.core.errors import ManifestError
from npuport.core.manifest import TensorSpec
from npuport.runtime.backends import ort_providers, ort_thread_config
from npuport.runtime.runner import Runner

# ONNX Runtime's CPU SkipLayerNormalization kernel is several times slower than the Add + LayerNormalization it
# replaces (see convert.onnx.fuse_transformer), so on the CPU its load-time fusion stays off.
CPU_DISABLED_OPTIMIZERS = ["SkipLayerNormFusion"]
_ORT_TYPES = {"float32": "tensor(float)", "float16": "tensor(float16)", "bfloat16": "tensor(bfloat16)",
              "int64": "tensor(int64)", "int32": "tensor(int32)"}  # a manifest's dtype → ONNX Runtime's name for it


def session_options(device: Device, threads: int | None) -> Any:
    """ONNX Runtime session options as npuport runs every session: `threads` intra-op threads (None: every core), one
    inter-op thread, all graph optimizations, and on the CPU threads that do not spin unless asked (backends)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads or os.cpu_count() or 1
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3
    for key, value in ort_thread_config(device).items():
        options.add_session_config_entry(key, value)
    return options


def disabled_optimizers(device: Device) -> list[str]:
    return CPU_DISABLED_OPTIMIZERS if device.type == "cpu" else []


class OrtRunner(Runner):
    def __init__(
        self,
        path: Path,
        inputs: list[TensorSpec],
        outputs: list[TensorSpec],
        device: Device = Device("cpu"),
        threads: int | None = None,
    ) -> None:
        super().__init__(f"onnxruntime:{path.name}@{device}", inputs, outputs)
        self.path = path
        self.device = device
        self.threads = threads or os.cpu_count() or 1
        self.providers: list[str] = []
        self._session = None

    def _activate_impl(self) -> None:
        import onnxruntime as ort

        providers = ort_providers(self.device)
        self._session = ort.InferenceSession(str(self.path), sess_options=session_options(self.device, self.threads),
                                             providers=providers, disabled_optimizers=disabled_optimizers(self.device))
        self.providers = self._session.get_providers()
        self._check_names()
        if self.device.type != "cpu" and self.providers[0] != providers[0][0]:
            warnings.warn(f"{self.name}: ONNX Runtime did not enable {providers[0][0]}; running on {self.providers}", stacklevel=2)

    def _check_names(self) -> None:
        """The file takes the inputs and gives the output the manifest names, or load refuses (not the first predict)."""
        assert self._session is not None
        takes = {i.name: i.type for i in self._session.get_inputs()}
        gives = {o.name: o.type for o in self._session.get_outputs()}
        listed = {spec.name: _ORT_TYPES.get(spec.dtype, spec.dtype) for spec in self.inputs}
        output = {spec.name: _ORT_TYPES.get(spec.dtype, spec.dtype) for spec in self.outputs[:1]}
        if listed != takes or not output or any(gives.get(name) != kind for name, kind in output.items()):
            raise ManifestError(f"{self.path.name} takes {_typed(takes)} and gives {_typed(gives)}, but the manifest lists "
                                f"inputs {_typed(listed)} and output {_typed(output)}")

    def _infer_impl(self, feed: dict[str, np.ndarray]) -> np.ndarray:
        assert self._session is not None
        return self._session.run([self.outputs[0].name], feed)[0]

    def _deactivate_impl(self) -> None:
        self._session = None


def _typed(names: dict[str, str]) -> str:
    return "[" + ", ".join(f"{name}: {kind}" for name, kind in sorted(names.items())) + "]"
