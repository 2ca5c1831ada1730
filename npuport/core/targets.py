"""What runs best where, decided once: per deploy target, its device and the variants in order of preference, each with
why. `load` takes its default from here when no variant is named, `package --target` the best of those that passed,
`convert --target` what it builds. The reasons behind each order are in the README ("Which variant a target runs").
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from npuport.core.devices import DeployTarget, DeviceType

if TYPE_CHECKING:
    from npuport.core.manifest import Format, Precision, ShapeMode, Variant


_PRECISION_ORDER = ("fp32", "fp16", "bf16", "int8")


@dataclass(frozen=True)
class Choice:
    """One kind of variant a target runs; `built`: `convert --target` builds it (the others are accepted when present)."""

    format: Format
    precision: Precision
    shape: ShapeMode | None  # None: either
    why: str
    built: bool = True

    def fits(self, variant: Variant) -> bool:
        """A variant of this kind, run by the format's own engine (an OpenVINO variant is asked for by name)."""
        return (variant.engine is None and (variant.format, variant.precision) == (self.format, self.precision)
                and self.shape in (None, variant.shape))

    @property
    def name(self) -> str:
        return f"{self.format}-{self.precision}-{self.shape or 'any'}"


@dataclass(frozen=True)
class Target:
    name: DeployTarget
    device: DeviceType
    choices: tuple[Choice, ...]  # best first
    exact: Choice | None = None  # load's default when it differs from the best: the cpu runs exact fp32 unasked

    def matrix(self) -> tuple[tuple[Format, ...], tuple[Precision, ...], tuple[ShapeMode, ...]]:
        """Formats, precisions and shapes `convert --target` builds: those of the built choices (fp32 first: the other
        precisions derive from its graph)."""
        built = [c for c in self.choices if c.built]
        precisions = sorted({c.precision for c in built}, key=_PRECISION_ORDER.index)
        return (tuple(dict.fromkeys(c.format for c in built)), tuple(precisions),
                tuple(dict.fromkeys(c.shape for c in built if c.shape is not None)))

    def best(self, variants: Iterable[Variant]) -> tuple[Variant, Choice] | None:
        """The first choice present among `variants`, with the choice it fits."""
        present = list(variants)
        for choice in self.choices:
            for variant in present:
                if choice.fits(variant):
                    return variant, choice
        return None

    def default(self, variants: Iterable[Variant]) -> tuple[Variant, str] | None:
        """What `load` runs here when no variant is named: the exact choice where there is one, else the best; among
        variants the table does not list, an fp32 one (the closest to the reference), else the first."""
        present = list(variants)
        if self.exact is not None:
            exact = next((v for v in present if self.exact.fits(v)), None)
            if exact is not None:
                return exact, self.exact.why
        found = self.best(present)
        if found is not None:
            return found[0], found[1].why
        listed = ", ".join(c.name for c in self.choices)
        fp32 = next((v for v in present if v.precision == "fp32" and v.engine is None), None)
        if fp32 is not None:
            return fp32, f"none of {listed} in these artifacts: fp32, the closest to the reference"
        return (present[0], f"none of {listed} in these artifacts: the first variant") if present else None


_STATIC_FP16 = "static fp16 ONNX: ATC compiles its buckets into gears and the CANN provider runs the same file; the Cube units run fp16"
TARGETS: dict[DeployTarget, Target] = {
    "cpu": Target("cpu", "cpu", (
        Choice("onnx", "int8", "dynamic", "int8 ONNX: the fastest CPU kernel family (VNNI or not), a quarter of fp32's bytes"),
        Choice("onnx", "fp32", "dynamic", "fp32 dynamic ONNX (no int8): no padding to buckets"),
        Choice("onnx", "fp32", "static", "fp32 static ONNX (no dynamic ONNX)", built=False),
    ), exact=Choice("onnx", "fp32", "dynamic", "exact fp32, ONNX Runtime, no padding to buckets")),
    "cuda": Target("cuda", "cuda", (
        Choice("onnx", "fp16", "dynamic", "fp16 dynamic ONNX: ONNX Runtime's CUDA provider runs it on the tensor cores, "
                                          "any batch and length, no torch on the server"),
        Choice("torchscript", "fp16", "dynamic", "fp16 dynamic TorchScript (no fp16 ONNX)", built=False),
        Choice("onnx", "fp32", "dynamic", "fp32 dynamic ONNX (no fp16 dynamic variant)"),
        Choice("torchscript", "fp32", "dynamic", "fp32 dynamic TorchScript (no dynamic ONNX)", built=False),
    )),
    "ascend": Target("ascend", "npu", (
        Choice("onnx", "fp16", "static", _STATIC_FP16),
        Choice("onnx", "fp32", "static", "static fp32 ONNX (no static fp16): compiled and run in fp32"),
        Choice("torchscript", "fp16", "static", "TorchScript fp16 in static buckets through torch_npu (no static ONNX)",
               built=False),
        Choice("torchscript", "fp32", "static", "TorchScript fp32 in static buckets through torch_npu", built=False),
    )),
}
BY_DEVICE: dict[DeviceType, Target] = {target.device: target for target in TARGETS.values()}
