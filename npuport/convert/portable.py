"""Device-portable torch programs: a file traced or exported on the CPU must run on npu and cuda too (issue 21).

Tracing records every device the model's Python code named while it ran: transformers builds its 4-D attention mask
with `attention_mask.to(device)`, `torch.arange(..., device=device)` and `torch.zeros(..., device=device)`, and there
`device` was the CPU. TorchScript keeps each as a `prim::Constant[value="cpu"]`, so the mask is built on the CPU while
the scores are on the accelerator: a device-mismatch error on the first call. Tensors (weights, buffers, baked tensor
constants) are not the problem: `torch.jit.load(map_location=...)` and `move_to_device_pass` move them; only device
*values* in the program are.

- TorchScript: `follow_input_device` replaces each device constant of each method graph by `prim::device(x)` of that
  graph's first tensor input, so the mask is built where the tokens are (the runner puts every input on its device).
  On the CPU the rewritten program computes what the traced one did: there the two devices are one.
- torch.export: an ExportedProgram names devices by design (each node's value has one); torch's own
  `torch.export.passes.move_to_device_pass` rewrites the nodes' `device=` arguments, `aten.to.device` and the
  weights and constants for the target when the file is loaded (runtime.export_runner does; so must any other
  consumer of the `.pt2`). https://docs.pytorch.org/docs/stable/export.html (torch.export.passes)
- `fixed_devices` lists what a file still pins (for a `.pt2`: after that pass): convert's check fails a variant on it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from npuport.core.errors import ConversionError

if TYPE_CHECKING:
    import torch

PROBE_DEVICE = "meta"  # a device every torch build has: where fixed_devices moves a `.pt2` before reading its nodes


def follow_input_device(module: torch.jit.ScriptModule) -> int:
    """Rewrite, in place, every device constant to the device of its graph's first tensor input; returns how many."""
    import torch

    rewritten = 0
    for where, graph in _graphs(module):
        constants = _device_constants(graph)
        if not constants:
            continue
        tensors = [value for value in graph.inputs() if value.type().isSubtypeOf(torch._C.TensorType.get())]
        if not tensors:
            raise ConversionError(f"the traced {where} names a device but takes no tensor whose device it could follow")
        device = graph.create("prim::device", [tensors[0]])
        device.output().setType(torch._C.DeviceObjType.get())
        device.insertBefore(next(iter(graph.nodes())))  # ahead of every use: it reads only a graph input
        for constant in constants:
            constant.output().replaceAllUsesWith(device.output())
            constant.destroy()
        rewritten += len(constants)
    return rewritten


def fixed_devices(path: Path, fmt: str) -> list[str]:
    """Each place the program in `path` (format torchscript or torchexport) still names a fixed device."""
    import torch

    if fmt == "torchexport":
        from torch.export.passes import move_to_device_pass

        return pinned_devices(move_to_device_pass(torch.export.load(str(path)), PROBE_DEVICE))
    module = torch.jit.load(str(path), map_location="cpu")
    return [f"{where}: {node.output().toIValue()} for {', '.join(sorted({use.user.kind() for use in node.output().uses()}))}"
            for where, graph in _graphs(module) for node in _device_constants(graph)]


def pinned_devices(program: torch.export.ExportedProgram) -> list[str]:
    """Nodes of an ExportedProgram that name a device other than PROBE_DEVICE: a `torch.device` argument (the move pass
    writes the devices it rewrites as strings) or a `device=` keyword with another value."""
    import torch

    pinned = []
    for module in program.graph_module.modules():
        if isinstance(module, torch.fx.GraphModule):
            for node in module.graph.nodes:
                named = [value for value in (*node.args, *node.kwargs.values()) if isinstance(value, torch.device)]
                if "device" in node.kwargs and str(node.kwargs["device"]) != PROBE_DEVICE and node.kwargs["device"] not in named:
                    named.append(node.kwargs["device"])
                pinned += [f"{node.name}: {device} for {node.target}" for device in named]
    return pinned


def _graphs(module: torch.jit.ScriptModule) -> list[tuple[str, Any]]:
    """(where, graph) of every method of every submodule; submodules of one class share their methods' graphs."""
    graphs: dict[tuple[str, str], tuple[str, Any]] = {}
    for name, sub in module.named_modules():
        for method in sub._c._method_names():
            graphs.setdefault((sub._c._type().qualified_name(), method),
                              (f"{name or 'module'}.{method}", sub._c._get_method(method).graph))
    return list(graphs.values())


def _device_constants(graph: Any) -> list[Any]:
    return [node for node in graph.findAllNodes("prim::Constant") if node.output().type().kind() == "DeviceObjType"]
