"""The options and arguments several commands share, declared once (typer `Annotated` aliases).

An option used by one command only stays beside that command."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from npuport.core.devices import Device


class CommaList(tuple[str, ...]):
    """A comma-separated option value, split once: `--variants a,b` → ("a", "b")."""


def comma_list(value: str) -> CommaList:
    return CommaList(item.strip() for item in value.split(",") if item.strip())


TEXTS_HELP = 'Texts: .txt one per line, or .jsonl objects with a "text" field.'

# Arguments
ModelDir = Annotated[Path, typer.Argument(help="A local Hugging Face or ModelScope model directory.")]
ArtifactsDir = Annotated[Path, typer.Argument(help="A directory written by `npuport convert`.")]
ArtifactsDirs = Annotated[list[Path], typer.Argument(help="One or more directories written by `npuport convert`.")]
Loadable = Annotated[Path, typer.Argument(help="Artifacts written by `npuport convert`, or a package (directory or .tar.gz).")]
PackagePath = Annotated[Path, typer.Argument(metavar="PACKAGE", help="A package directory or .tar.gz.")]

# Options
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable JSON on stdout.")]
def device_option(what: str) -> Any:
    """`--device DEVICE`, parsed here into a Device (core.devices): cpu, cuda[:N], npu[:N]."""
    return typer.Option("--device", parser=Device.parse, metavar="DEVICE", help=what)


def output_option(what: str) -> Any:
    """`-o/--output PATH`, one spelling for every command that writes; `what` says what it writes."""
    return typer.Option("-o", "--output", metavar="PATH", help=what)


DeviceOpt = Annotated[Device, device_option("Where the variants run: cpu, cuda[:N] or npu[:N]; never silently replaced "
                                            "by the CPU.")]
TargetDeviceOpt = Annotated[Device, device_option("The target device: only variants with a passing validation there "
                                                  "are packaged.")]
DeployTargetOpt = Annotated[str | None, typer.Option("--target", help="cpu, ascend or cuda: only what that target runs best "
                                                                      "(replaces the formats/precisions/shapes chosen).")]
DeployOpt = Annotated[bool, typer.Option("--deploy", help="Also write deploy/Dockerfile (npuport serve on the package, base "
                                                         "install, CPU) and deploy/inferenceservice.yaml (KServe, v2).")]
ImageOpt = Annotated[str | None, typer.Option("--image", help="The image the KServe InferenceService runs, e.g. "
                                                             "registry.example.com/team/NAME:1 (default: NAME:latest).")]
Int8WeightsOpt = Annotated[str | None, typer.Option("--int8-weights", help="int8 weights' scheme: uint8 (exact on any CPU, "
                                                  "slow on VNNI/AMX), int8-7bit (exact on any x86, fast), int8 (exact and "
                                                  "fastest on VNNI/AMX only). Default: chosen for --cpu-class.")]
CpuClassOpt = Annotated[str | None, typer.Option("--cpu-class", help="The CPU class(es) int8 will run on: portable (unknown "
                                                 "or mixed), native (this machine), or names like x86-64-avx512-vnni, "
                                                 "x86-64-amx, x86-64-avx2 (comma list). Default: portable; native with "
                                                 "--target cpu.")]
ShownDeviceOpt = Annotated[Device | None, device_option("Whose speed and parity to show (default: cpu if benchmarked "
                                                       "there).")]
ArtifactsOutput = Annotated[Path, output_option("Artifacts directory to write.")]
OmOpt = Annotated[Path | None, typer.Option("--om", help="With --device npu: run the .om files the package's atc/ scripts "
                                          "wrote to this folder (through ACL: ais_bench), not the ONNX files.")]
ThreadsOpt = Annotated[int | None, typer.Option("--threads", help="Intra-op threads for ONNX Runtime and torch (default: every "
                                                                  "core; serve leaves one to HTTP).")]
def _spin(value: bool) -> bool:
    """Applied while the command line is parsed, before the command imports torch (whose wait policy is read then)."""
    from npuport.runtime.backends import set_spinning

    set_spinning(value)
    return value


SpinOpt = Annotated[bool, typer.Option("--spin", callback=_spin, help="Let idle ONNX Runtime and torch threads spin (busy-wait) "
                                                                      "for work: a little faster on an idle machine, much "
                                                                      "slower on a busy one (default: off; NPUPORT_SPIN=1).")]
VariantOpt = Annotated[str | None, typer.Option("--variant", help="Variant id (default: chosen for the device; the output "
                                                                  "says which).")]
VariantsOpt = Annotated[CommaList | None, typer.Option("--variants", parser=comma_list, metavar="IDS",
                                                       help="Comma list of variant ids (default: all).")]
TextsOpt = Annotated[Path | None, typer.Option("--texts", help=TEXTS_HELP)]
TextsOrFileOpt = Annotated[Path | None, typer.Option("--texts", "--file", "-f", help=TEXTS_HELP)]  # predict's --file/-f of old
def _threshold(text: str) -> Any:
    from npuport.core.decisions import parse_threshold  # numpy: not for `--help`

    return parse_threshold(text)


# A Threshold (core.decisions: a number, or one per label); typer takes no union, hence Any.
ThresholdOpt = Annotated[Any, typer.Option("--threshold", parser=_threshold, metavar="THRESHOLD",
                         help="0.3 for every label, or LABEL=P,… per label, each label once (default: the model's).")]
BatchSizeOpt = Annotated[int, typer.Option("--batch-size", help="Texts per batch.")]
ProfileOpt = Annotated[list[str] | None, typer.Option("--profile", metavar="LIMIT", help="Override a limit of a precision's "
                       "profile: PRECISION.FIELD=VALUE (repeatable; none switches a check off), e.g. "
                       "fp16.max_abs_error=0.005. A limit no variant can meet (nan, -1, min_cosine=2) is refused.")]
