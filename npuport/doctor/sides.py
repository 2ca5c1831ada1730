"""The two sides doctor compares: a torch model with forward hooks at the probe points (the reference, and a
TorchScript variant's precision), and a variant's ONNX files with the probe tensors added as graph outputs."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from npuport.core.devices import Device
from npuport.core.manifest import Bucket, Manifest, Variant
from npuport.doctor.probes import LOGITS, Probe, nodes_in, onnx_tensors
from npuport.runtime.cann import compiling_in

Feed = dict[str, np.ndarray]
Outputs = dict[str, np.ndarray]  # probe module → [rows, seq, hidden] or [rows, width]


class Hooked:
    """A torch model with forward hooks on the probe modules: one call gives every probe's output and the logits."""

    def __init__(self, model: Any, points: list[Probe], input_names: list[str], device: Any = None) -> None:
        from npuport.model.adapter import LogitsOnly

        self.input_names, self.device = input_names, device
        self.module = LogitsOnly(model, input_names, float32_logits=True).eval()
        self.captured: Outputs = {}
        for probe in points:
            if probe.module != LOGITS:
                model.get_submodule(probe.module).register_forward_hook(self._hook(probe.module))

    def _hook(self, name: str) -> Callable[..., None]:
        def capture(module: Any, inputs: Any, output: Any) -> None:
            tensor = output[0] if isinstance(output, tuple) else output
            self.captured[name] = tensor.detach().float().cpu().numpy()
        return capture

    def run(self, feed: Feed) -> Outputs:
        import torch

        self.captured = {}
        args = [torch.from_numpy(np.ascontiguousarray(feed[n])) for n in self.input_names]
        if self.device is not None:
            args = [a.to(self.device) for a in args]
        with torch.inference_mode():
            logits = self.module(*args)
        return self.captured | {LOGITS: logits.float().cpu().numpy()}


class OnnxSide:
    """The variant's ONNX files, each loaded with its probe tensors added as graph outputs."""

    def __init__(self, files: dict[Bucket | None, Path], device: Device, points: list[Probe], threads: int | None,
                 precision: str = "fp32") -> None:
        import onnx

        from npuport.runtime.ort_runner import open_session

        self.sessions: dict[Any, Any] = {}
        self.compile_dir: Path | None = None
        self.graph = None
        self.notes = ["probe tensors are extra graph outputs, which can keep ONNX Runtime from fusing across them: "
                      "the output row is the variant as it runs, the rows above it that graph with taps"]
        for bucket, path in files.items():
            model = onnx.load(str(path))
            self.tensors = onnx_tensors(model.graph, points)
            present = {output.name for output in model.graph.output}
            for name in dict.fromkeys(self.tensors.values()):
                if name not in present:
                    model.graph.output.append(onnx.helper.make_empty_tensor_value_info(name))
            self.sessions[bucket], plan = open_session(model.SerializeToString(), device, threads, precision)
            self.compile_dir = plan.compile_dir
            self.graph = model.graph
        first = next(iter(self.sessions.values()))
        self.engine = f"onnxruntime ({', '.join(first.get_providers())})"
        self.names = [output.name for output in first.get_outputs()]

    def run(self, feed: Feed) -> Outputs:
        rows, seq = feed["input_ids"].shape
        session = self.sessions.get(None) or next(s for b, s in self.sessions.items() if (b.batch, b.seq) == (rows, seq))
        with contextlib.nullcontext() if self.compile_dir is None else compiling_in(self.compile_dir):
            values = dict(zip(self.names, session.run(self.names, feed)))
        return {module: np.asarray(values[tensor], dtype=np.float32) for module, tensor in self.tensors.items()}

    def suspects(self, probe: Probe) -> list[tuple[str, str]]:
        return nodes_in(self.graph, probe)


class TorchSide:
    """A TorchScript variant: the artifact's logits, layer outputs from the source rebuilt in its precision."""

    def __init__(self, root: Path, manifest: Manifest, variant: Variant, device: Device, points: list[Probe]) -> None:
        import torch

        from npuport.model.source import load_source
        from npuport.runtime.backends import torch_device
        from npuport.runtime.loader import runner_for

        torch_target = torch_device(device)
        dtype = {"fp16": torch.float16, "bf16": torch.bfloat16}.get(variant.precision, torch.float32)
        model = load_source(Path(manifest.source.path)).model.to(device=torch_target, dtype=dtype)
        self.hooked = Hooked(model, points, manifest.source.input_names, torch_target)
        self.runners = {record.bucket: runner_for(root / record.path, variant.format, *variant.specs_at(record.bucket), device)
                        for record in variant.files}
        for runner in self.runners.values():
            runner.activate()
        self.tensors = {p.module: (p.module if p.module != LOGITS else f"{variant.id} (the artifact)") for p in points}
        self.engine = f"torch ({device})"
        self.notes = [f"TorchScript keeps no hooks: the layer rows are the source model in {variant.precision} on {device} "
                      "(the program the trace recorded); the output row is the artifact itself"]

    def run(self, feed: Feed) -> Outputs:
        rows, seq = feed["input_ids"].shape
        runner = self.runners.get(None) or next(r for b, r in self.runners.items() if (b.batch, b.seq) == (rows, seq))
        return self.hooked.run(feed) | {LOGITS: runner.infer(feed)}

    def suspects(self, probe: Probe) -> list[tuple[str, str]]:
        return [("module", probe.module)]


def variant_side(root: Path, manifest: Manifest, variant: Variant, device: Device, points: list[Probe],
                  threads: int | None) -> OnnxSide | TorchSide:
    if variant.format == "onnx":
        return OnnxSide({record.bucket: root / record.path for record in variant.files}, device, points, threads,
                        variant.precision)
    return TorchSide(root, manifest, variant, device, points)
