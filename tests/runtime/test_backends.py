"""Devices are explicit: a missing accelerator is a clear error naming what is missing, never a CPU fallback.

The npu branch is exercised here only up to its decisions (torch_npu absent → which error); it has not been
run on Ascend hardware.
"""

import importlib.util

import pytest
import torch

from npuport.core.devices import Device
from npuport.core.errors import BackendUnavailableError
from npuport.runtime.backends import ort_providers, torch_device


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
