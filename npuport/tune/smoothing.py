"""SmoothQuant-style smoothing before int8: move activation outliers into the weights.

int8 quantizes each activation tensor with one scale (per tensor), so a few input channels with large values (the
outlier features of BERT-like encoders: up to 30 against a median of 1.8 in MiniLM) leave the other channels a
handful of levels. For `y = x @ W` the graph can compute `y = (x / s) @ (s * W)` instead, exactly in fp32, with s
per input channel: s_j = max|x_j|^α / max|W_j|^(1-α) (Xiao et al., SmoothQuant, 2023). The activations then have
flatter ranges and the weights, quantized per output channel, absorb the rest. Ranges come from the calibration
texts, never from the golden texts the gate judges; α is chosen on the calibration texts too: the α whose
all-int8 candidate stays closest to the fp32 graph there.

The division is a Mul node per activation tensor (the MatMuls that read one tensor share its s), named
`<tensor>_smooth`, so every MatMul keeps its name: doctor's probes, tune's kept nodes and the recipe still match.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from npuport.core.devices import Device
from npuport.core.files import atomic_path
from npuport.runtime.ort_runner import session_options

ALPHAS = (0.5, 0.6, 0.7, 0.8, 0.9)
SCALE_LIMITS = (1e-3, 1e3)  # s outside this range only moves rounding error around
SUFFIX = "_smooth"


@dataclass(frozen=True)
class Smoothing:
    """The α used, and how close each tried α's all-int8 candidate stayed to fp32 on the calibration texts (mean over
    texts of the largest |Δp|; None: the unsmoothed graph)."""

    alpha: float | None
    scores: dict[str, float]

    @property
    def label(self) -> str:
        if self.alpha is None:
            return "off"
        tried = ", ".join(f"{name} {score:.4f}" for name, score in self.scores.items())
        return f"SmoothQuant α={self.alpha} (mean max |Δp| vs fp32 on the calibration texts: {tried})" if tried else \
            f"SmoothQuant α={self.alpha}"


def smoothable(model: Any) -> dict[str, list[Any]]:
    """Activation tensor → the MatMuls with a 2-D constant weight that read it (what smoothing rescales)."""
    from onnx import numpy_helper

    weights = {init.name: init for init in model.graph.initializer}
    groups: dict[str, list[Any]] = {}
    for node in model.graph.node:
        if node.op_type == "MatMul" and node.input[1] in weights and len(numpy_helper.to_array(weights[node.input[1]]).shape) == 2:
            groups.setdefault(node.input[0], []).append(node)
    return groups


def activation_ranges(base: Path, batches: list[dict[str, np.ndarray]], threads: int | None = None) -> dict[str, np.ndarray]:
    """max |x_j| per channel of every smoothable activation over the calibration batches (one ONNX Runtime run with
    those tensors added as graph outputs)."""
    import onnx
    import onnxruntime as ort

    model = onnx.load(str(base))
    names = list(smoothable(model))
    present = {output.name for output in model.graph.output}
    model.graph.output.extend(onnx.helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, None)
                              for name in names if name not in present)
    session = ort.InferenceSession(model.SerializeToString(), session_options(Device("cpu"), threads),
                                   providers=["CPUExecutionProvider"])
    ranges: dict[str, np.ndarray] = {}
    for feed in batches:
        for name, value in zip(names, session.run(names, feed)):
            channel_max = np.abs(value).reshape(-1, value.shape[-1]).max(axis=0)
            ranges[name] = np.maximum(ranges[name], channel_max) if name in ranges else channel_max
    return ranges


def smooth(base: Path, out: Path, ranges: dict[str, np.ndarray], alpha: float) -> Path:
    """`base` with every smoothable MatMul computing (x / s) @ (s * W); the same function in fp32."""
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(base))
    weights = {init.name: init for init in model.graph.initializer}
    divisions: dict[str, Any] = {}  # the first MatMul reading a tensor → the Mul to run before it
    for tensor, matmuls in smoothable(model).items():
        arrays = [numpy_helper.to_array(weights[node.input[1]]) for node in matmuls]
        weight_max = np.max([np.abs(array).max(axis=1) for array in arrays], axis=0)
        scale = np.clip(np.maximum(ranges[tensor], 1e-5) ** alpha / np.maximum(weight_max, 1e-5) ** (1 - alpha),
                        *SCALE_LIMITS).astype(np.float32)
        inverse, smoothed = f"{tensor}{SUFFIX}_inverse", f"{tensor}{SUFFIX}ed"
        model.graph.initializer.append(numpy_helper.from_array(1.0 / scale, inverse))
        divisions[matmuls[0].name] = onnx.helper.make_node("Mul", [tensor, inverse], [smoothed], name=f"{tensor}{SUFFIX}")
        for node, array in zip(matmuls, arrays):
            weights[node.input[1]].CopyFrom(numpy_helper.from_array(array * scale[:, None], node.input[1]))
            node.input[0] = smoothed
    ordered = [new for node in model.graph.node for new in ([divisions[node.name]] if node.name in divisions else []) + [node]]
    del model.graph.node[:]
    model.graph.node.extend(ordered)
    with atomic_path(out) as tmp:
        onnx.save_model(model, str(tmp))
    return out


def choose_alpha(base: Path, ranges: dict[str, np.ndarray], quantize: Callable[[Path, Path], None],
                 probabilities: Callable[[Path], np.ndarray], scratch: Path,
                 alphas: tuple[float, ...] = ALPHAS) -> tuple[Path, Smoothing]:
    """(the base to quantize, the smoothing used): the unsmoothed base and each of `alphas` are quantized in full with
    `quantize`; `probabilities` runs a file on the calibration texts; the closest to the fp32 base wins."""
    reference = probabilities(base)
    candidates = {"none": base} | {f"α={alpha}": smooth(base, scratch / f"smooth-{alpha}.onnx", ranges, alpha)
                                   for alpha in alphas}
    scores: dict[str, float] = {}
    for name, path in candidates.items():
        quantized = scratch / f"smooth-probe-{name.replace('=', '')}.onnx"
        quantize(path, quantized)
        scores[name] = float(np.abs(probabilities(quantized) - reference).max(axis=-1).mean())
        quantized.unlink()
    best = min(scores, key=scores.__getitem__)
    if best == "none":
        return base, Smoothing(None, scores)
    return candidates[best], Smoothing(float(best.removeprefix("α=")), scores)
