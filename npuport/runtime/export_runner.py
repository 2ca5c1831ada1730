"""The torch.export backend: an ExportedProgram (`.pt2`) on cpu, cuda or npu.

An exported graph records the device its constants were traced on (cpu); `move_to_device_pass` rewrites those and
the weights for the target, so one file serves every device. The npu path follows torch_npu's documented device
registration but has not been run on Ascend hardware by this project."""

from __future__ import annotations

from npuport.runtime.backends import torch_device
from npuport.runtime.torch_runner import TorchScriptRunner, set_npu_compile_mode


class ExportedProgramRunner(TorchScriptRunner):
    """Runs like TorchScript (same feeds, same device handling); only loading differs."""

    KIND = "torchexport"

    def _activate_impl(self) -> None:
        self._torch_device = torch_device(self.device)
        if self.device.type == "npu":
            set_npu_compile_mode(static_shapes=False)  # one program for every shape: precompiled kernels
        import torch
        from torch.export.passes import move_to_device_pass

        program = torch.export.load(str(self.path))
        if self._torch_device.type != "cpu":
            program = move_to_device_pass(program, self._torch_device)
        self._module = program.module()
