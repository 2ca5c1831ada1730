"""Devices are explicit: a missing accelerator is a clear error naming what is missing, never a CPU fallback.

The npu branch is exercised here only up to its decisions (torch_npu absent, CANN absent, torch_npu built for another
torch → which error; an installed torch_npu is a stand-in package that fails to import as the real one does); it has
not been run on Ascend hardware.
"""

import importlib.metadata as metadata
import importlib.util
import re
import sys

import pytest
import torch

from npuport.core.devices import Device
from npuport.core.errors import BackendUnavailableError
from npuport.runtime.backends import import_torch_npu, ort_providers, torch_device, torch_npu_problem


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_cuda_without_cuda_is_an_error():
    with pytest.raises(BackendUnavailableError, match="--device cuda is unavailable: this torch is a CPU build|no CUDA device"):
        torch_device(Device.parse("cuda"))


@pytest.mark.skipif(importlib.util.find_spec("torch_npu") is not None, reason="torch_npu is installed")
def test_npu_without_torch_npu_names_the_missing_package():
    with pytest.raises(BackendUnavailableError, match=r"needs torch_npu, which is not installed: pip install 'npuport\[npu\]'"):
        torch_device(Device.parse("npu"))


def test_ort_providers_follow_the_device_and_never_fall_back():
    assert ort_providers(Device("cpu"), ["CPUExecutionProvider"]) == [("CPUExecutionProvider", {})]
    assert ort_providers(Device("cuda", 1), ["CUDAExecutionProvider", "CPUExecutionProvider"])[0] == (
        "CUDAExecutionProvider", {"device_id": "1"})
    with pytest.raises(BackendUnavailableError, match="needs CANNExecutionProvider.*onnxruntime-cann"):
        ort_providers(Device("npu"), ["CPUExecutionProvider"])
    with pytest.raises(BackendUnavailableError, match="needs CUDAExecutionProvider.*onnxruntime-gpu"):
        ort_providers(Device("cuda"), ["CPUExecutionProvider"])


# torch_npu 2.9.0 (torch_npu/__init__.py) appends this to the ImportError of libhccl.so / libascendcl.so without CANN.
WITHOUT_CANN = ("libhccl.so: cannot open shared object file: No such file or directory. Please check that the cann "
                "package is installed. Please run 'source set_env.sh' in the CANN installation path.\n[ERROR] "
                "2026-01-01-00:00:00 (PID:1, Device:-1, RankID:-1) ERR00008 PTA resource not found")


@pytest.fixture
def installed_torch_npu(tmp_path, monkeypatch):
    """An installed torch_npu 2.9.0 (a package and its dist-info, as pip leaves them) whose import fails as given."""
    def install(error: str, requires: str = "torch==2.9.0+cpu") -> None:
        (tmp_path / "torch_npu").mkdir()
        (tmp_path / "torch_npu" / "__init__.py").write_text(f"raise ImportError({error!r})\n")
        (tmp_path / "torch_npu-2.9.0.dist-info").mkdir()
        (tmp_path / "torch_npu-2.9.0.dist-info" / "METADATA").write_text(
            f"Metadata-Version: 2.1\nName: torch_npu\nVersion: 2.9.0\nRequires-Dist: {requires}\n")
        monkeypatch.syspath_prepend(str(tmp_path))
        monkeypatch.delitem(sys.modules, "torch_npu", raising=False)
    return install


def test_torch_npu_without_cann_says_so_and_names_set_env_sh(installed_torch_npu):
    installed_torch_npu(WITHOUT_CANN)
    with pytest.raises(BackendUnavailableError, match=r"torch_npu is installed but Ascend's CANN libraries are not loaded: "
                                                      r"install the CANN toolkit and run `source set_env.sh`.*libhccl\.so") as info:
        import_torch_npu()
    assert "\n" not in str(info.value)
    # torch ≥ 2.5 imports an installed torch_npu itself, and wraps the same error
    try:
        raise RuntimeError("Failed to load the backend extension: torch_npu. You can disable extension auto-loading with "
                           "TORCH_DEVICE_BACKEND_AUTOLOAD=0.") from ImportError(WITHOUT_CANN)
    except RuntimeError as autoload:
        assert "`source set_env.sh`" in str(torch_npu_problem(autoload))


def test_torch_npu_built_for_another_torch_names_the_torch_it_requires(installed_torch_npu):
    installed_torch_npu("libtorch_npu.so: undefined symbol: _ZN3c1010TensorImpl17set_autograd_metaE")
    with pytest.raises(BackendUnavailableError, match=rf"torch_npu 2\.9\.0 requires torch==2\.9\.0\+cpu, this torch is "
                                                      rf"{re.escape(metadata.version('torch'))}: install the torch it names"):
        import_torch_npu()
