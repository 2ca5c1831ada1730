"""Is the device really here? torch (cuda, npu via torch_npu) and ONNX Runtime (execution providers) are asked,
and a missing one is a BackendUnavailableError naming what to install — never a silent CPU fallback.

NPU status: the npu branches (torch_npu import, `torch.npu.is_available`, CANNExecutionProvider) follow
torch_npu's and onnxruntime-cann's documented APIs but have NOT been run on Ascend hardware by this project;
tests exercise their decisions (what is missing → which error) only.

Good manners on a shared CPU: idle worker threads of ONNX Runtime and torch (OpenMP) spin, busy-waiting for the next
task, which on a machine that runs anything else steals the cores the work needs (2 threads on a busy 2-core machine:
ORT 24 ms per MiniLM call spinning, 14 ms not; torch 492 ms against 54 ms with a passive wait policy, issue 16). So
they do not spin unless asked (`--spin`, NPUPORT_SPIN=1): CPU sessions get ORT's allow_spinning=0, torch gets
OMP_WAIT_POLICY=PASSIVE — which libgomp reads once, when torch loads, so it is set before torch is imported or not at
all (a user's own OMP_WAIT_POLICY wins). benchmarks/threads.py measures both ways.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from typing import TYPE_CHECKING

from npuport.core.devices import ORT_PROVIDERS, Device
from npuport.core.errors import BackendUnavailableError

if TYPE_CHECKING:
    import torch

ORT_PACKAGE = {"cuda": "onnxruntime-gpu", "npu": "onnxruntime-cann (it replaces the onnxruntime package)"}
SPIN_ENV = "NPUPORT_SPIN"
ORT_SPINNING = ("session.intra_op.allow_spinning", "session.inter_op.allow_spinning")


def spinning() -> bool:
    """Whether idle worker threads may spin: only when asked (NPUPORT_SPIN=1, which `--spin` sets)."""
    return os.environ.get(SPIN_ENV, "").strip().lower() in ("1", "true", "yes", "on")


def set_spinning(spin: bool) -> str:
    """`--spin` or not, for this process and the ones it starts; returns torch's wait policy (see torch_wait_policy)."""
    if spin:
        os.environ[SPIN_ENV] = "1"
    return torch_wait_policy()


def torch_wait_policy() -> str:
    """OMP_WAIT_POLICY=PASSIVE before torch loads, unless spinning is asked or the user chose a policy; the policy torch
    runs with ("default": libgomp's, which spins a while, when torch was imported before npuport could set it)."""
    if not spinning() and "torch" not in sys.modules:
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    return os.environ.get("OMP_WAIT_POLICY", "default")


def ort_thread_config(device: Device) -> dict[str, str]:
    """Session config entries for `device`: on the CPU, intra- and inter-op threads that do not spin unless asked."""
    return {} if device.type != "cpu" or spinning() else dict.fromkeys(ORT_SPINNING, "0")


def import_torch_npu() -> None:
    """Import torch_npu (it registers the `npu` device with torch) or say exactly what is missing."""
    try:
        import torch_npu  # noqa: F401
    except ImportError as exc:
        raise BackendUnavailableError(
            "--device npu needs torch_npu, which is not installed: pip install 'npuport[npu]' "
            "on a machine with Ascend's CANN toolkit"
        ) from exc
    except Exception as exc:  # torch_npu raises various errors when CANN libraries are absent
        raise BackendUnavailableError(f"torch_npu is installed but failed to import (is CANN set up?): {exc}") from exc


def torch_device(device: Device) -> torch.device:
    """The torch.device for `device`, after checking it really exists."""
    torch_wait_policy()
    import torch

    if device.type == "cuda":
        if not torch.cuda.is_available():
            reason = "this torch is a CPU build" if torch.version.cuda is None else "no CUDA device is visible"
            raise BackendUnavailableError(f"--device cuda is unavailable: {reason}")
        if device.index >= torch.cuda.device_count():
            raise BackendUnavailableError(f"--device {device}: only {torch.cuda.device_count()} CUDA device(s)")
    elif device.type == "npu":
        import_torch_npu()
        if not torch.npu.is_available():  # type: ignore[attr-defined]
            raise BackendUnavailableError("--device npu: torch_npu imported but no Ascend NPU is visible")
        if device.index >= torch.npu.device_count():  # type: ignore[attr-defined]
            raise BackendUnavailableError(f"--device {device}: only {torch.npu.device_count()} NPU(s)")  # type: ignore[attr-defined]
    return torch.device(str(device))


def ort_providers(device: Device, available: list[str] | None = None) -> list[tuple[str, dict[str, str]]]:
    """Execution providers for `device`, accelerator first; CPU stays last for nodes the accelerator lacks."""
    if available is None:
        import onnxruntime

        available = onnxruntime.get_available_providers()
    wanted = ORT_PROVIDERS[device.type]
    if wanted not in available:
        raise BackendUnavailableError(
            f"--device {device} with ONNX Runtime needs {wanted}, which this onnxruntime lacks "
            f"(has {', '.join(available)}); install {ORT_PACKAGE[device.type]}"
        )
    if device.type == "cpu":
        return [(wanted, {})]
    return [(wanted, {"device_id": str(device.index)}), (ORT_PROVIDERS["cpu"], {})]


def check_available(device: Device, formats: Iterable[str]) -> None:
    """Fail now, before slow work, when `device` cannot run variants of these formats (what `load` would find)."""
    formats = set(formats)
    if formats & {"torchscript", "torchexport"}:
        torch_device(device)
    if "onnx" in formats:
        ort_providers(device)
