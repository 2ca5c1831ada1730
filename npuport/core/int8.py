"""Which int8 scheme a CPU class runs fast and exactly: the one table convert, tune and package read.

ONNX Runtime's CPU int8 (MLAS) picks its integer GEMM kernel per activation × weight type from CPUID, once
(onnxruntime/core/mlas/lib/platform.cpp, `MlasPlatform::MlasPlatform`); no environment variable narrows it:

| class | uint8 × uint8 ("U8U8") | uint8 × int8 ("U8S8") |
|---|---|---|
| x86-64-avx2 | MlasGemmU8U8KernelAvx2 (widen to 16 bits, vpmaddwd: exact) | MlasGemmU8S8KernelAvx2 (vpmaddubsw: pair sums saturate at 2^15) |
| x86-64-avx512 | MlasGemmU8U8KernelAvx512Core (exact) | MlasGemmU8S8KernelAvx512Core (vpmaddubsw: saturates) |
| x86-64-avx-vnni | as AVX2 (exact) | MlasGemmU8S8KernelAvxVnni (vpdpbusd: exact 32-bit sums) |
| x86-64-avx512-vnni | MlasGemmU8U8KernelAvx512Core (exact, fp32-like speed) | MlasGemmU8S8KernelAvx512Vnni (vpdpbusds: exact) |
| x86-64-amx | MlasGemmU8U8KernelAvx512Core (exact, fp32-like speed) | MlasGemmU8S8DispatchAmx (tdpbusd tiles: exact) |

So uint8 weights are exact everywhere and slow where int8 is fast; full-range int8 weights are exact and fast only
where the products are summed in 32 bits (VNNI, AMX); 7-bit int8 weights ("reduce_range") keep vpmaddubsw's pair
sums below 2^15, so they are exact on every x86 CPU and take the fast U8S8 kernels, at one bit of weight precision.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

PORTABLE = "portable"  # the class name for "unknown or mixed": the scheme that is exact everywhere
NATIVE = "native"  # this machine's class (core.devices.cpu_class)
VNNI_CLASSES = ("x86-64-amx", "x86-64-avx512-vnni", "x86-64-avx-vnni")  # u8 × s8 summed exactly in 32 bits
SATURATING_CLASSES = ("x86-64-avx2", "x86-64-avx512")  # u8 × s8 through vpmaddubsw (16-bit pair sums)
KNOWN_CLASSES = (*VNNI_CLASSES, *SATURATING_CLASSES)


@dataclass(frozen=True)
class Int8Scheme:
    weights: str  # uint8 | int8
    reduce_range: bool
    exact_on: tuple[str, ...] | None  # CPU classes whose kernels compute it exactly; None: every CPU
    why: str


SCHEMES: dict[str, Int8Scheme] = {
    "uint8": Int8Scheme("uint8", False, None,
                        "uint8 x uint8 products are widened to 16 bits before the multiply-add on every x86 instruction "
                        "set, so nothing saturates: exact on any CPU, but no VNNI/AMX kernel takes it (fp32-like speed there)"),
    "int8-7bit": Int8Scheme("int8", True, None,
                            "7-bit int8 weights keep uint8 x int8 pair sums below 2^15, so AVX2's VPMADDUBSW cannot saturate "
                            "and every x86 CPU runs its fast uint8 x int8 kernel exactly; one bit less of weight precision"),
    "int8": Int8Scheme("int8", False, VNNI_CLASSES,
                       "full 8-bit int8 weights run ONNX Runtime's VNNI (vpdpbusd) or AMX (tdpbusd) kernels, which sum "
                       "uint8 x int8 products exactly in 32 bits; on CPUs without VNNI the same file saturates"),
}
INT8_WEIGHTS = tuple(SCHEMES)


def scheme_for(classes: Iterable[str]) -> tuple[str, str]:
    """The fastest scheme that is exact on every one of `classes` (a target's CPU classes), and why. Unknown or
    mixed classes get the scheme that is exact on any CPU."""
    wanted = sorted(set(classes) - {PORTABLE})
    if not wanted or PORTABLE in classes:
        return "uint8", "the target CPU class is unknown: uint8 weights compute exactly on any CPU"
    if len(wanted) > 1:
        return "uint8", f"mixed CPU classes ({', '.join(wanted)}): uint8 weights compute exactly on every one"
    cpu = wanted[0]
    if cpu in VNNI_CLASSES:
        return "int8", f"{cpu} sums uint8 x int8 products exactly in 32 bits (VNNI/AMX): full 8-bit int8 weights"
    if cpu in SATURATING_CLASSES:
        return "int8-7bit", f"{cpu} has no VNNI: 7-bit int8 weights take its fast uint8 x int8 kernel without saturating"
    return "uint8", f"{cpu}: no int8 kernel table for this class, so uint8 weights (exact on any CPU)"


def exact_on(scheme: str, cpu_class: str) -> bool:
    """Whether `cpu_class`'s kernels compute `scheme` exactly (see the module's table)."""
    allowed = SCHEMES[scheme].exact_on
    return allowed is None or cpu_class in allowed


@dataclass(frozen=True)
class Int8Choice:
    """The weights' scheme for an int8 build, the CPU class(es) it was chosen for, and why."""

    scheme: str
    chosen_for: str
    why: str


def choose_int8(weights: str | None, cpu_class: str | None) -> Int8Choice:
    """`--int8-weights` (None: by class) and `--cpu-class` (portable, native, or a comma list of class names; None:
    portable) → the scheme. An explicit scheme wins, and is still recorded with the class it was built for."""
    from npuport.core.devices import cpu_class as this_cpu
    from npuport.core.errors import InputError

    if weights is not None and weights not in SCHEMES:
        raise InputError(f"--int8-weights must be one of {', '.join(INT8_WEIGHTS)}, got {weights!r}")
    names = [part.strip() for part in (cpu_class or PORTABLE).split(",") if part.strip()] or [PORTABLE]
    classes = [this_cpu().name if name == NATIVE else name for name in names]
    unknown = [name for name in classes if name not in (*KNOWN_CLASSES, PORTABLE) and not name.startswith("arm64-")]
    if unknown:
        raise InputError(f"unknown --cpu-class {unknown[0]!r}; use portable, native or one of {', '.join(KNOWN_CLASSES)} "
                         "(arm64-… classes get the portable scheme)")
    chosen_for = ",".join(sorted(set(classes)))
    if weights is not None:
        return Int8Choice(weights, chosen_for, f"--int8-weights {weights} asked for")
    scheme, why = scheme_for(classes)
    return Int8Choice(scheme, chosen_for, why)
