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
    from packaging.requirements import Requirement

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
    """Import torch_npu (it registers the `npu` device with torch) or say exactly what is missing: torch_npu itself,
    Ascend's CANN libraries, or the one torch this torch_npu was built for."""
    try:
        import torch_npu  # noqa: F401
    except ModuleNotFoundError as exc:
        if exc.name != "torch_npu":
            raise torch_npu_problem(exc) from exc
        raise BackendUnavailableError(
            "--device npu needs torch_npu, which is not installed: pip install 'npuport[npu]' on a machine with "
            "Ascend's CANN toolkit (README: which torch_npu goes with which torch)"
        ) from exc
    except Exception as exc:
        raise torch_npu_problem(exc) from exc


def torch_npu_problem(exc: BaseException) -> BackendUnavailableError:
    """What an installed torch_npu's failure to import means, in one line.

    Without CANN, torch_npu's ImportError (libascendcl.so or libhccl.so not found) asks to "run 'source set_env.sh' in
    the CANN installation path" (torch_npu 2.9.0, torch_npu/__init__.py); torch ≥ 2.5 imports torch_npu itself when it
    loads (the `torch.backends` entry point) and wraps that in "Failed to load the backend extension: torch_npu".
    Each torch_npu wheel requires one torch (2.9.0: torch==2.9.0+cpu on x86-64, torch==2.9.0 on aarch64; 2.13.0:
    torch==2.13.0.*): another torch fails to load its library."""
    causes = [exc]
    while causes[-1].__cause__ is not None and len(causes) < 8:
        causes.append(causes[-1].__cause__)
    text = " ".join(" ".join(str(cause).split()) for cause in causes)
    first = " ".join(str(causes[-1]).split("\n[ERROR]")[0].split())[:240]  # without torch_npu's timestamped error code
    if any(marker in text for marker in ("set_env.sh", "libascendcl", "libhccl", "ASCEND_")):
        return BackendUnavailableError(
            "--device npu: torch_npu is installed but Ascend's CANN libraries are not loaded: install the CANN toolkit "
            "and run `source set_env.sh` from its installation path (default /usr/local/Ascend/ascend-toolkit/set_env.sh) "
            f"in the shell that runs npuport; torch_npu said: {first}")
    wanted, torch_version = _torch_npu_wants(), _installed("torch")
    if wanted is not None and torch_version is not None and not wanted.specifier.contains(torch_version, prereleases=True):
        return BackendUnavailableError(
            f"--device npu: torch_npu {_installed('torch_npu')} requires {wanted}, this torch is {torch_version}: "
            f"install the torch it names (README: which torch_npu goes with which torch); torch_npu said: {first}")
    return BackendUnavailableError(f"--device npu: torch_npu is installed but failed to import: {first}")


def _installed(name: str) -> str | None:
    import importlib.metadata as metadata

    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def _torch_npu_wants() -> Requirement | None:
    """torch_npu's own requirement on torch (its wheel's Requires-Dist, e.g. torch==2.9.0+cpu); None if unknown.
    `packaging` (an onnxruntime dependency) reads it by PEP 440: ==2.9.0+cpu wants that build, ==2.13.0.* any."""
    import importlib.metadata as metadata

    from packaging.requirements import Requirement

    try:
        requires = metadata.requires("torch_npu") or []
    except metadata.PackageNotFoundError:
        return None
    found = [Requirement(line) for line in requires]
    return next((r for r in found if r.name == "torch" and r.marker is None), None)


def torch_device(device: Device) -> torch.device:
    """The torch.device for `device`, after checking it really exists."""
    torch_wait_policy()
    try:
        import torch
    except RuntimeError as exc:  # torch ≥ 2.5 loads an installed torch_npu with itself (see torch_npu_problem)
        if "torch_npu" not in str(exc):
            raise
        raise torch_npu_problem(exc) from exc

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
