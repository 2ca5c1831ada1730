"""What to build: the variant matrix chosen by the user, before anything is exported."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from npuport.core.atc import ATC_MAX_OPSET
from npuport.core.buckets import DEFAULT_BUCKETS, parse_buckets
from npuport.core.errors import InputError
from npuport.core.int8 import NATIVE, choose_int8
from npuport.core.manifest import Bucket, Format, Precision, ShapeMode
from npuport.core.targets import TARGETS

ENGINES = ("onnxruntime", "openvino")  # who runs the ONNX variants (convert.engines builds the OpenVINO ones)

FORMATS: tuple[Format, ...] = ("torchscript", "onnx")  # the default matrix
# Built only when named in --formats: torch.export's .pt2 (TorchScript's successor upstream) exports several times slower
# than TorchScript (benchmarks/torch_export.py), and what it adds is a route (AOTInductor, torch_npu), not speed.
OPT_IN_FORMATS: tuple[Format, ...] = ("torchexport",)
# Formats with dynamic shapes only: one ExportedProgram holds every batch x sequence (static buckets are for ATC and NPU
# graph compilers, which read ONNX and TorchScript).
DYNAMIC_ONLY: tuple[Format, ...] = ("torchexport",)
PRECISIONS: tuple[Precision, ...] = ("fp32", "fp16", "bf16", "int8")
# Precisions only one format builds, and why the other does not.
ONLY_FORMAT: dict[str, tuple[Format, str]] = {
    "int8": ("onnx", "int8 is ONNX-only (ONNX Runtime dynamic quantization)"),
    "bf16": ("torchscript", "bf16 is TorchScript-only: ONNX Runtime's CPU provider has no bfloat16 kernels for "
                            "MatMul, Add, Mul, Softmax, Erf, Tanh…, so an ONNX bf16 file would not load, and casting "
                            "around every op back to fp32 would not be bf16 at all"),
}
SHAPES: tuple[ShapeMode, ...] = ("dynamic", "static")
FUSE_CHOICES = ("dynamic", "all", "none")
DEFAULT_OPSET = 17
SUFFIX = {"torchscript": ".pt", "onnx": ".onnx", "torchexport": ".pt2"}


@dataclass(frozen=True)
class VariantPlan:
    format: Format
    precision: Precision
    shape: ShapeMode
    buckets: tuple[Bucket, ...] = ()

    @property
    def id(self) -> str:
        return f"{self.format}-{self.precision}-{self.shape}"

    def file_path(self, bucket: Bucket | None) -> str:
        stem = f"{self.precision}-{self.shape}" + (f"-{bucket.label}" if bucket else "")
        return f"{self.format}/{stem}{SUFFIX[self.format]}"

    @property
    def weights_path(self) -> str | None:
        """The external-data file the bucket graphs of a static ONNX variant share (None: weights inside the file)."""
        return f"onnx/{self.precision}-static.onnx.data" if self.format == "onnx" and self.shape == "static" else None

    def targets(self) -> list[Bucket | None]:
        return list(self.buckets) if self.shape == "static" else [None]


@dataclass(frozen=True)
class ConvertOptions:
    formats: tuple[Format, ...] = FORMATS
    precisions: tuple[Precision, ...] | None = None  # None: every precision, each where its format builds it
    shapes: tuple[ShapeMode, ...] = SHAPES
    buckets: tuple[Bucket, ...] = field(default_factory=lambda: tuple(parse_buckets(DEFAULT_BUCKETS)))
    opset: int = DEFAULT_OPSET
    fuse: str = "dynamic"  # which ONNX variants get ORT transformer fusion: dynamic | all | none
    int8_static: bool = False  # int8 is dynamic-shape only unless asked
    int8_weights: str | None = None  # a core.int8.SCHEMES key; None: the scheme `cpu_class` runs fast and exactly
    cpu_class: str | None = None  # the CPU class(es) int8 is built for (core.int8.choose_int8); None: portable
    engines: tuple[str, ...] = ("onnxruntime",)  # openvino: also OpenVINO variants of the fp32 dynamic ONNX (convert.engines)
    bucket_texts: Path | None = None  # plan `buckets` from these texts' token lengths instead (core.buckets.plan_buckets)

    def __post_init__(self) -> None:
        for name, values, allowed in (
            ("format", self.formats, FORMATS + OPT_IN_FORMATS),
            ("precision", PRECISIONS if self.precisions is None else self.precisions, PRECISIONS),
            ("shape", self.shapes, SHAPES),
        ):
            unknown = [v for v in values if v not in allowed]
            if unknown or not values:
                raise InputError(f"unknown {name} {unknown or '(none)'}; choose from {', '.join(allowed)}")
        choose_int8(self.int8_weights, self.cpu_class)  # an unknown scheme or --cpu-class: before anything is built
        unknown = [engine for engine in self.engines if engine not in ENGINES]
        if unknown or not self.engines:
            raise InputError(f"unknown engine {unknown or '(none)'}; choose from {', '.join(ENGINES)}")
        if self.fuse not in FUSE_CHOICES:
            raise InputError(f"--fuse must be one of {', '.join(FUSE_CHOICES)}, got {self.fuse!r}")
        if not 13 <= self.opset <= 20:
            raise InputError(f"opset {self.opset} unsupported; use 13..20 (Ascend ATC reads up to {ATC_MAX_OPSET})")
        if not self.buckets and self.bucket_texts is None and "static" in self.shapes:
            raise InputError("static shapes need buckets: give --buckets BATCHxSEQ,… or --buckets auto --texts FILE")


def plan_variants(options: ConvertOptions) -> list[VariantPlan]:
    """The matrix {format} × {precision} × {shape}; int8 is ONNX dynamic quantization (static only if asked),
    bf16 is TorchScript-only. A precision named explicitly that none of the formats builds is an error."""
    for precision in options.precisions or ():
        only = ONLY_FORMAT.get(precision)
        if only and only[0] not in options.formats:
            raise InputError(f"{only[1]}; add {only[0]} to --formats or drop {precision} from --precisions")
    plans: list[VariantPlan] = []
    for fmt in options.formats:
        for precision in options.precisions or PRECISIONS:
            for shape in options.shapes:
                if ONLY_FORMAT.get(precision, (fmt,))[0] != fmt:
                    continue
                if precision == "int8" and shape == "static" and not options.int8_static:
                    continue
                if fmt in DYNAMIC_ONLY and shape == "static":
                    continue
                plans.append(VariantPlan(fmt, precision, shape, options.buckets if shape == "static" else ()))
    if not plans:
        raise InputError("the chosen formats/precisions/shapes leave nothing to build "
                              "(int8 without --int8-static is dynamic-only)")
    if "openvino" in options.engines and VariantPlan("onnx", "fp32", "dynamic") not in plans:
        raise InputError("--engines openvino runs the fp32 dynamic ONNX graph: add onnx, fp32 and dynamic to the matrix")
    return plans


def for_target(options: ConvertOptions, target: str) -> ConvertOptions:
    """`options` with the formats, precisions and shapes `target` builds (`core.targets`) (they replace the ones given); for the cpu target
    int8 is built for this machine's CPU class unless --cpu-class names another (it is validated here, on this class);
    for ascend the opset must be one ATC's ONNX parser reads (core.atc)."""
    if target not in TARGETS:
        raise InputError(f"unknown target {target!r}; choose from {', '.join(TARGETS)}")
    if target == "ascend" and options.opset > ATC_MAX_OPSET:
        raise InputError(f"--target ascend: opset {options.opset} is newer than ATC's ONNX parser reads "
                              f"(up to {ATC_MAX_OPSET}); give --opset {ATC_MAX_OPSET} or lower")
    formats, precisions, shapes = TARGETS[target].matrix()  # type: ignore[index]
    cpu_class = options.cpu_class or (NATIVE if target == "cpu" else None)
    return replace(options, formats=formats, precisions=precisions, shapes=shapes, cpu_class=cpu_class)


def fused(fuse: str, shape: str) -> bool:
    """Static ONNX stays standard ops by default: Ascend ATC and the CANN EP do not read ORT's contrib ops."""
    return fuse == "all" or (fuse == "dynamic" and shape == "dynamic")
