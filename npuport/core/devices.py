"""Devices as values: cpu, cuda[:N], npu[:N] parsed once (at the edge: the CLI's options, `runtime.load`), and the
CPU's instruction-set class a verdict holds for.

Whether a device is really here is asked of torch / ONNX Runtime in `npuport.runtime.backends`; nothing here
imports either.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Literal

from npuport.core.errors import InputError

DeviceType = Literal["cpu", "cuda", "npu"]
# What a package is built for (`convert --target`, `package --target`): a kind of machine, not one device.
DeployTarget = Literal["cpu", "ascend", "cuda"]
DEPLOY_TARGETS: tuple[DeployTarget, ...] = ("cpu", "ascend", "cuda")
ORT_PROVIDERS: dict[str, str] = {
    "cpu": "CPUExecutionProvider",
    "cuda": "CUDAExecutionProvider",
    "npu": "CANNExecutionProvider",
}


@dataclass(frozen=True)
class Device:
    type: DeviceType
    index: int = 0

    def __str__(self) -> str:
        return self.type if self.type == "cpu" else f"{self.type}:{self.index}"

    @classmethod
    def parse(cls, text: str | Device) -> Device:
        """'cuda:1' → Device("cuda", 1); a Device is returned as it is. There is one CPU device: `cpu:1` is refused,
        as is a name or index that names no device (an option error, not a missing backend)."""
        if isinstance(text, Device):
            return text
        name, colon, index = text.strip().lower().partition(":")
        if name not in ORT_PROVIDERS:
            raise InputError(f"unknown device {text!r}; use cpu, cuda[:N] or npu[:N]")
        if colon and name == "cpu":
            raise InputError(f"bad device {text!r}: there is one CPU device, named cpu")
        if colon and not index.isdigit():
            raise InputError(f"bad device index in {text!r}: expected {name}:N with N a number")
        return cls(type=name, index=int(index or 0))  # type: ignore[arg-type]


CPU = Device("cpu")

# Instruction-set features that int8/bf16 kernels dispatch on, by numpy's name (it reads CPUID and the OS's
# enabled state) → the name /proc/cpuinfo uses, which is how people grep for them.
_X86_FEATURES = {"AVX2": "avx2", "FMA3": "fma", "AVX512F": "avx512f", "AVX512BW": "avx512bw",
                 "AVX512VNNI": "avx512_vnni", "AVX512BF16": "avx512_bf16", "AVX512FP16": "avx512_fp16"}
_ARM_FEATURES = {"ASIMD": "asimd", "ASIMDDP": "asimddp", "ASIMDHP": "asimdhp", "SVE": "sve"}
_CPUINFO_ONLY = ("avx_vnni", "amx_int8", "amx_bf16", "i8mm", "bf16")  # numpy does not report these


@dataclass(frozen=True)
class CpuClass:
    """A CPU's instruction-set class: ORT's int8 and torch's bf16 kernels pick different arithmetic per class,
    so a CPU verdict holds for its class, not for every CPU."""

    name: str  # x86-64-amx | x86-64-avx512-vnni | x86-64-avx512 | x86-64-avx-vnni | x86-64-avx2 | x86-64 | arm64-…
    features: tuple[str, ...]


def classify_cpu(machine: str, features: set[str]) -> str:
    """The class name for an architecture (platform.machine()) and its feature flags (/proc/cpuinfo names)."""
    if machine.lower() in ("x86_64", "amd64"):
        if {"amx_int8", "avx512f"} <= features:
            return "x86-64-amx"
        if {"avx512f", "avx512bw", "avx512_vnni"} <= features:
            return "x86-64-avx512-vnni"
        if {"avx512f", "avx512bw"} <= features:
            return "x86-64-avx512"
        if {"avx2", "avx_vnni"} <= features:
            return "x86-64-avx-vnni"
        return "x86-64-avx2" if "avx2" in features else "x86-64"
    if machine.lower() in ("aarch64", "arm64"):
        for flag, name in (("i8mm", "arm64-i8mm"), ("asimddp", "arm64-dotprod")):
            if flag in features:
                return name
        return "arm64-neon"
    return machine.lower() or "unknown"


@functools.cache
def cpu_class() -> CpuClass:
    """This machine's CPU class, from CPUID as numpy reads it (plus /proc/cpuinfo for what numpy omits)."""
    import platform

    try:
        from numpy._core._multiarray_umath import __cpu_features__ as found
    except ImportError:  # numpy < 2
        from numpy.core._multiarray_umath import __cpu_features__ as found
    features = {name for key, name in (_X86_FEATURES | _ARM_FEATURES).items() if found.get(key)}
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as info:
            flags = next((line.split(":", 1)[1].split() for line in info if line.startswith(("flags", "Features"))), [])
        features |= set(_CPUINFO_ONLY) & set(flags)
    except OSError:
        pass
    return CpuClass(classify_cpu(platform.machine(), features), tuple(sorted(features)))
