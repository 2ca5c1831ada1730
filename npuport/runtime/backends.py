"""Is the device really here? torch (cuda, npu via torch_npu) and ONNX Runtime (execution providers) are asked,
and a missing one is a BackendUnavailableError naming what to install — never a silent CPU fallback.

NPU status: the npu branches (torch_npu import, `torch.npu.is_available`, CANNExecutionProvider) follow
torch_npu's and onnxruntime-cann's documented APIs but have NOT been run on Ascend hardware by this project;
tests exercise their decisions (what is missing → which error) only.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from npuport.core.devices import ORT_PROVIDERS, Device
from npuport.core.errors import BackendUnavailableError

if TYPE_CHECKING:
    import torch

ORT_PACKAGE = {"cuda": "onnxruntime-gpu", "npu": "onnxruntime-cann (it replaces the onnxruntime package)"}


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
    if "torchscript" in formats:
        torch_device(device)
    if "onnx" in formats:
        ort_providers(device)
