"""ONNX Runtime backend: provider chosen from the device, threads explicit, placement reported.

On an accelerator a session is honest about what it computed (see runtime.cann and runtime.placement): ONNX Runtime's
Python fallback, which rebuilds a session on the CPU provider when the accelerator's cannot be built or fails at run
time (`enable_fallback`, onnxruntime_inference_collection.py), is off; where the nodes ran is recorded; on the CANN
provider the compiler keeps the variant's dtypes and compiles in a directory keyed by the variant's digest. CPU
sessions are built exactly as they always were.
"""

from __future__ import annotations

import hashlib
import os
import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from npuport.core.devices import ORT_PROVIDERS, Device
from npuport.core.errors import BackendUnavailableError, ManifestError, NpuportError
from npuport.core.files import sha256_file
from npuport.core.manifest import Placement, TensorSpec
from npuport.runtime import cann
from npuport.runtime.backends import ort_providers, ort_thread_config
from npuport.runtime.placement import RECORD, placement_of
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


@dataclass(frozen=True)
class SessionPlan:
    """What npuport hands ONNX Runtime for one session beyond `session_options`: the providers with their options,
    extra session config entries, InferenceSession keyword arguments, and for a compiling provider the directory its
    compiles live in and its precision setting as the Platform records it."""

    providers: list[tuple[str, dict[str, str]]]
    config: dict[str, str] = field(default_factory=dict)
    kwargs: dict[str, Any] = field(default_factory=dict)
    compile_dir: Path | None = None
    precision_mode: str | None = None


def plan_session(device: Device, precision: str = "fp32", digest: str = "", available: list[str] | None = None,
                 version: str = "") -> SessionPlan:
    """The session plan for a variant of `precision` whose files have `digest`, on `device`, with this onnxruntime's
    `available` providers and `version`. On the CPU: the providers alone, as always."""
    providers = ort_providers(device, available)
    if device.type == "cpu":
        return SessionPlan(providers)
    honest = SessionPlan(providers, config={RECORD: "1"}, kwargs={"enable_fallback": 0})
    if device.type != "npu":
        return honest
    options = cann.provider_options(device, precision, cann.provider_version(version))
    return replace(honest, providers=[(providers[0][0], options), *providers[1:]],
                   compile_dir=cann.compile_dir(digest, options, version), precision_mode=cann.precision_setting(options))


def open_session(model: Path | bytes, device: Device, threads: int | None, precision: str = "fp32",
                 digest: str | None = None) -> tuple[Any, SessionPlan]:
    """An InferenceSession of `model` (a file, or serialized bytes) on `device` as its plan says, and the plan."""
    import onnxruntime as ort

    if device.type != "cpu" and digest is None:
        digest = sha256_file(model) if isinstance(model, Path) else hashlib.sha256(model).hexdigest()
    plan = plan_session(device, precision, digest or "", ort.get_available_providers(), ort.__version__)
    options = session_options(device, threads)
    for key, value in plan.config.items():
        options.add_session_config_entry(key, value)
    # A compile may move the working directory (cann.compiling_in): the session needs a path that does not depend on it.
    source: str | bytes = model if isinstance(model, bytes) else str(model if plan.compile_dir is None else model.absolute())

    def build(providers: list[tuple[str, dict[str, str]]]) -> Any:
        return ort.InferenceSession(source, sess_options=options, providers=providers,
                                    disabled_optimizers=disabled_optimizers(device), **plan.kwargs)

    if plan.compile_dir is None:
        return build(plan.providers), plan
    with cann.compiling_in(plan.compile_dir):
        try:
            return build(plan.providers), plan
        except Exception as exc:
            older = cann.older_precision_name(plan.providers[0][1], exc)
            if older is None:
                raise
            plan = replace(plan, providers=[(plan.providers[0][0], older), *plan.providers[1:]],
                           precision_mode=cann.precision_setting(older))
            return build(plan.providers), plan


class OrtRunner(Runner):
    def __init__(
        self,
        path: Path,
        inputs: list[TensorSpec],
        outputs: list[TensorSpec],
        device: Device = Device("cpu"),
        threads: int | None = None,
        precision: str = "fp32",
        digest: str | None = None,
    ) -> None:
        super().__init__(f"onnxruntime:{path.name}@{device}", inputs, outputs)
        self.path = path
        self.device = device
        self.threads = threads or os.cpu_count() or 1
        self.precision = precision
        self.digest = digest  # the variant's (keys the CANN compile cache); None: this file's sha256
        self.providers: list[str] = []
        self.placement: Placement | None = None  # accelerator sessions only
        self.precision_mode: str | None = None
        self._session = None
        self._compile_dir: Path | None = None
        self._compiled: set[tuple[tuple[int, ...], ...]] = set()  # input shapes the provider has compiled

    def _activate_impl(self) -> None:
        try:
            self._session, plan = open_session(self.path, self.device, self.threads, self.precision, self.digest)
        except Exception as exc:
            if self.device.type == "cpu" or isinstance(exc, NpuportError):
                raise  # a CPU session that cannot be built is a bad file: the loader says so
            reason = " ".join(str(exc).split())[:300] or type(exc).__name__
            raise BackendUnavailableError(f"{self.name}: ONNX Runtime could not build a {ORT_PROVIDERS[self.device.type]} "
                                          f"session (its CPU fallback is off): {reason}") from exc
        self.providers = self._session.get_providers()
        self._check_names()
        self._compile_dir, self.precision_mode = plan.compile_dir, plan.precision_mode
        if self.device.type != "cpu":
            self._check_placement(plan.providers[0][0])
        if self._compile_dir is not None and all(isinstance(d, int) for spec in self.inputs for d in spec.shape):
            self._compile({spec.name: _warmup(spec) for spec in self.inputs})  # a static file: compile while loading

    def _check_placement(self, provider: str) -> None:
        """Record where the nodes ran. An accelerator that took no node is an error; a CANN graph split by ops left on
        the CPU (each split a separate compile and two host copies) a warning. CUDA keeps shape arithmetic on the CPU
        by design (ORT's GetCpuPreferredNodes): recorded, not warned about."""
        self.placement = placement_of(self._session, self.path.name, provider)
        if self.placement is None:
            return
        if self.placement.nodes == 0:
            raise BackendUnavailableError(f"{self.name}: {provider} took no node of {self.path.name}, all would run on the "
                                          f"CPU ({self.placement.describe()}): refusing to call that a run on {self.device}")
        if self.placement.cpu_ops and provider == cann.PROVIDER:
            hint = ("; an ONNX export at opset 16 writes LayerNormalization as ReduceMean/Sub/Pow/Sqrt/Div, which the CANN "
                    "provider's graph mode takes (npuport convert --opset 16)" if "LayerNormalization" in self.placement.cpu_ops else "")
            warnings.warn(f"{self.name}: {self.placement.describe()}{hint}", stacklevel=2)

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
        if self._compile_dir is None:
            return self._session.run([self.outputs[0].name], feed)[0]
        return self._compile(feed)

    def _compile(self, feed: dict[str, np.ndarray]) -> np.ndarray:
        """Run `feed`; the first run of an input shape, where the provider compiles, runs inside the compile directory."""
        assert self._session is not None and self._compile_dir is not None
        shape = tuple(feed[spec.name].shape for spec in self.inputs)
        if shape in self._compiled:
            return self._session.run([self.outputs[0].name], feed)[0]
        with cann.compiling_in(self._compile_dir):
            logits = self._session.run([self.outputs[0].name], feed)[0]
        self._compiled.add(shape)
        return logits

    def _deactivate_impl(self) -> None:
        self._session = None
        self._compiled.clear()


def _warmup(spec: TensorSpec) -> np.ndarray:
    """A feed of the spec's static shape that every model takes: zeros, and ones for an attention mask."""
    fill = np.ones if "mask" in spec.name else np.zeros
    return fill([int(d) for d in spec.shape], dtype=spec.dtype)


def _typed(names: dict[str, str]) -> str:
    return "[" + ", ".join(f"{name}: {kind}" for name, kind in sorted(names.items())) + "]"
