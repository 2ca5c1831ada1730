"""Devices are explicit: a missing accelerator is a clear error naming what is missing, never a CPU fallback.

The npu branch is exercised here only up to its decisions (torch_npu absent → which error); it has not been
run on Ascend hardware.
"""

import importlib.util

import pytest
import torch

from npuport.core.devices import Device, classify_cpu, cpu_class
from npuport.core.errors import BackendUnavailableError
from npuport.runtime.backends import ort_providers, torch_device


def test_parse():
    assert str(Device.parse("cpu")) == "cpu" and str(Device.parse("NPU:1")) == "npu:1"
    with pytest.raises(BackendUnavailableError, match="unknown device 'tpu'"):
        Device.parse("tpu")
    with pytest.raises(BackendUnavailableError, match="bad device index"):
        Device.parse("cuda:x")


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


@pytest.mark.parametrize(("machine", "flags", "expected"), [
    ("x86_64", {"avx2", "fma"}, "x86-64-avx2"),  # AMD EPYC Zen 2, Intel Haswell..Skylake client
    ("x86_64", {"avx2", "fma", "avx512f", "avx512bw"}, "x86-64-avx512"),  # Skylake-SP
    ("x86_64", {"avx2", "avx512f", "avx512bw", "avx512_vnni", "avx512_bf16"}, "x86-64-avx512-vnni"),  # Zen 4
    ("x86_64", {"avx2", "avx_vnni"}, "x86-64-avx-vnni"),  # Alder Lake
    ("x86_64", {"avx2", "avx512f", "avx512bw", "avx512_vnni", "amx_int8"}, "x86-64-amx"),  # Sapphire Rapids
    ("x86_64", set(), "x86-64"),
    ("aarch64", {"asimd", "asimddp", "i8mm"}, "arm64-i8mm"),
    ("aarch64", {"asimd"}, "arm64-neon"),
])
def test_cpu_classes_follow_the_instructions_int8_kernels_use(machine, flags, expected):
    assert classify_cpu(machine, flags) == expected


def test_this_cpu_has_a_class_consistent_with_its_features():
    here = cpu_class()
    import platform

    assert here.name == classify_cpu(platform.machine(), set(here.features))
