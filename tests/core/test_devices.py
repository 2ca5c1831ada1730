"""Devices are named explicitly (cpu, cuda[:N], npu[:N]), and a CPU has a class: the instruction sets its int8 kernels
use. (Whether a device is available to torch or ONNX Runtime: tests/runtime/test_backends.py.)"""

import pytest

from npuport.core.devices import Device, classify_cpu, cpu_class
from npuport.core.errors import InputError


def test_parse():
    assert str(Device.parse("cpu")) == "cpu" and str(Device.parse("NPU:1")) == "npu:1"
    assert Device.parse("cuda") == Device.parse("cuda:0") == Device("cuda", 0)


@pytest.mark.parametrize(("text", "message"), [
    ("tpu", "unknown device 'tpu'"),
    ("cpu:1", "there is one CPU device"),
    ("cpu:", "there is one CPU device"),
    ("cuda:x", "bad device index in 'cuda:x'"),
    ("npu:", "bad device index in 'npu:'"),
    ("npu:-1", "bad device index"),
])
def test_a_device_that_names_no_device_is_an_input_error(text, message):
    with pytest.raises(InputError, match=message):
        Device.parse(text)


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
