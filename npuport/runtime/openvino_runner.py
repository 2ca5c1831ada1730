"""OpenVINO backend: an ONNX variant's file run by OpenVINO's CPU plugin, its inference precision explicit.

OpenVINO reads ONNX directly (`Core.read_model`), including ONNX Runtime's fused contrib ops in npuport's fp32
graphs (Attention, EmbedLayerNormalization, BiasGelu); it does not read ORT's dynamic-quantization ops (QAttention,
QEmbedLayerNormalization), so int8 ONNX files are not OpenVINO variants. On CPUs with AVX512-BF16 or AMX its CPU
plugin computes in bf16 unless told otherwise ("Precision Control", docs.openvino.ai/2025/openvino-workflow/
running-inference/optimize-inference/precision-control.html: `INFERENCE_PRECISION_HINT` defaults to bf16 there) —
measured here: an AMD Zen 4 (AVX512-BF16, no AMX) reports bf16 as the default. A silent precision change is what
npuport gates against, so the hint is always set from the variant (f32 or bf16) and the precision the compiled
model reports back is recorded with every verdict (`engine`).

Devices: `cpu` only. OpenVINO's Intel NPU device ("NPU", Core Ultra) is a second NPU target that npuport has NOT run:
no Intel NPU is here, and asking for one is refused rather than sent elsewhere. Threads: `INFERENCE_NUM_THREADS`,
one stream, latency hint, no core pinning (a shared machine moves work between cores; see runtime.backends).
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import numpy as np

from npuport.core.devices import Device
from npuport.core.errors import BackendUnavailableError
from npuport.core.manifest import TensorSpec
from npuport.runtime.runner import Runner

PRECISION_HINT = {"fp32": "f32", "bf16": "bf16"}  # a variant's precision → OpenVINO's inference precision hint
PACKAGE = "openvino (pip install 'npuport[openvino]')"


def import_openvino() -> Any:
    """The openvino module, or a BackendUnavailableError naming the extra that brings it."""
    try:
        import openvino
    except ImportError as exc:
        raise BackendUnavailableError(f"this variant runs on OpenVINO, which is not installed: {PACKAGE}") from exc
    return openvino


def openvino_config(precision: str, threads: int) -> dict[str, str]:
    """compile_model properties: the precision explicit, threads pinned to `threads`, one latency stream, no pinning."""
    if precision not in PRECISION_HINT:
        raise BackendUnavailableError(f"OpenVINO variants compute in {' or '.join(PRECISION_HINT)}, not {precision}")
    return {"INFERENCE_PRECISION_HINT": PRECISION_HINT[precision], "INFERENCE_NUM_THREADS": str(threads),
            "NUM_STREAMS": "1", "PERFORMANCE_HINT": "LATENCY", "ENABLE_CPU_PINNING": "NO"}


class OpenVinoRunner(Runner):
    def __init__(self, path: Path, inputs: list[TensorSpec], outputs: list[TensorSpec], precision: str,
                 device: Device = Device("cpu"), threads: int | None = None) -> None:
        super().__init__(f"openvino:{path.name}@{device}", inputs, outputs)
        import os

        self.path = path
        self.device = device
        self.precision = precision
        self.threads = threads or os.cpu_count() or 1
        self.runs_as = ""  # the inference precision the compiled model reports
        self.version = ""
        self._compiled: Any = None
        self._request: Any = None
        self._infer_lock = threading.Lock()  # one infer request: calls from several threads take turns

    def _activate_impl(self) -> None:
        if self.device.type != "cpu":
            raise BackendUnavailableError(f"OpenVINO variants run on --device cpu only, not {self.device}: its Intel NPU "
                                          "and GPU devices have not been run by npuport")
        openvino = import_openvino()
        core = openvino.Core()
        self._compiled = core.compile_model(core.read_model(str(self.path)), "CPU",
                                            openvino_config(self.precision, self.threads))
        reported = self._compiled.get_property("INFERENCE_PRECISION_HINT")  # an openvino Type: bf16, f32 (str: bfloat16)
        self.runs_as = str(getattr(reported, "get_type_name", lambda: reported)())
        self.version = openvino.__version__.split("-")[0]
        self._request = self._compiled.create_infer_request()

    @property
    def engine(self) -> str:
        """What ran, as verdicts record it: the asked and the reported inference precision."""
        return (f"openvino {self.version} (CPU, INFERENCE_PRECISION_HINT={PRECISION_HINT[self.precision]}, "
                f"runs {self.runs_as or 'unknown'})")

    def _infer_impl(self, feed: dict[str, np.ndarray]) -> np.ndarray:
        with self._infer_lock:
            results = self._request.infer({name: np.ascontiguousarray(array) for name, array in feed.items()})
            return np.array(results[self._compiled.output(0)], dtype=np.float32)

    def _deactivate_impl(self) -> None:
        self._request = None
        self._compiled = None
