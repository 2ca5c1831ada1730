"""`load`: an artifacts directory or a package (directory or .tar.gz) → a ready Classifier, with every file checked before anything runs.

What is checked is what load reads: the manifest (in a package, against SHA256SUMS: nothing else vouches for it; and
the package's contents, without hashing them: `core.contents`), then
the chosen variant's files, the tokenizer's and the golden data against the manifest's sha256 — in a package against
SHA256SUMS too, each file hashed once — and that the tokenizer's folder holds no file the manifest does not list.
Files load never reads (other variants, README, labels.json, reports, triton/, atc/) are `npuport verify`'s to check.

The device is explicit and activated here, so a missing accelerator fails at load time with a
BackendUnavailableError naming what is missing — never a silent CPU fallback. The npu paths (torch_npu,
CANNExecutionProvider, and with `om` the `.om` files ATC compiled, through ACL: runtime.om_runner) follow their
documented APIs but have NOT been run on Ascend hardware by this project.
"""

from __future__ import annotations

from pathlib import Path

from npuport.core.archive import unpacked
from npuport.core.buckets import sequence_limit
from npuport.core.contents import check_package
from npuport.core.devices import CPU, Device
from npuport.core.errors import InputError, IntegrityError, ManifestError, NpuportError
from npuport.core.extras import needs_extra
from npuport.core.manifest import MANIFEST_NAME, Bucket, Manifest, TensorSpec, Variant
from npuport.core.sums import SUMS_FILE, check_listed, find_sums
from npuport.core.targets import BY_DEVICE
from npuport.model.tokenizer import TextEncoder, saved_tokenizer
from npuport.runtime.classifier import Classifier
from npuport.runtime.export_runner import ExportedProgramRunner
from npuport.runtime.om_runner import om_default, om_runners
from npuport.runtime.openvino_runner import OpenVinoRunner
from npuport.runtime.ort_runner import OrtRunner
from npuport.runtime.runner import Runner
from npuport.runtime.torch_runner import TorchScriptRunner


def load(path: str | Path, variant: str | None = None, device: Device | str = CPU, threads: int | None = None,
         om: str | Path | None = None) -> Classifier:
    """Verify, then load `variant` (default: chosen for the device, see `classifier.chosen_because`) on `device`
    (a Device, or its name for library callers: this is the library's edge, where a name is parsed).

    `threads` sets ONNX Runtime's intra-op threads (default: every core); torch's thread pool is
    process-wide and left as it is. `om`: the folder the package's ATC scripts wrote their `.om` files to: on an NPU
    the variant then runs as compiled, through ACL (runtime.om_runner), not its ONNX file.
    """
    target = Device.parse(device)
    if threads is not None and threads < 1:
        raise InputError(f"threads must be at least 1, got {threads}")
    root = unpacked(Path(path))
    listed = find_sums(root)
    if listed is not None:
        check_listed(root, listed, MANIFEST_NAME)
    manifest = Manifest.load(root)
    if manifest.package is not None and listed is None:
        raise IntegrityError(f"{root} is a package (its manifest says so) without its {SUMS_FILE}: refusing to trust it")
    if listed is not None:
        check_package(root, manifest, listed)
    chosen, because = om_default(manifest, Path(om)) if om is not None and variant is None else \
        choose_variant(manifest, variant, target)
    manifest.verify_files(root, [chosen], listed)
    encoder = TextEncoder(saved_tokenizer(root, manifest), manifest.source.input_names, effective_max_length(manifest, chosen))
    runners = om_runners(Path(om), chosen, target) if om is not None else _runners(root, chosen, target, threads)
    _activate(list(dict.fromkeys(runners.values())))
    return Classifier(manifest, chosen, target, runners, encoder, because)


def choose_variant(manifest: Manifest, variant: str | None, device: Device) -> tuple[Variant, str]:
    """The named variant, or the device's default (`core.targets`) with the reason it was picked."""
    if variant is not None:
        return manifest.variant(variant), "asked for by name"
    found = BY_DEVICE[device.type].default(manifest.variants)
    if found is None:
        raise ManifestError("the manifest lists no variants")
    return found[0], f"default for {device.type}: {found[1]}"


def effective_max_length(manifest: Manifest, variant: Variant) -> int:
    """The model's limit, or the largest bucket's sequence for a static variant if that is shorter."""
    return sequence_limit(manifest.source.max_length, variant.buckets if variant.shape == "static" else [])


def _runners(root: Path, variant: Variant, device: Device, threads: int | None) -> dict[Bucket | None, Runner]:
    """One runner per file; a file shared by several buckets gets the variant's symbolic specs, so it
    accepts each of their shapes and is loaded once."""
    by_path: dict[str, list[Bucket | None]] = {}
    for record in variant.files:
        by_path.setdefault(record.path, []).append(record.bucket)
    runners: dict[Bucket | None, Runner] = {}
    for rel, buckets in by_path.items():
        inputs, outputs = variant.specs_at(buckets[0]) if len(buckets) == 1 else (variant.inputs, variant.outputs)
        runner = runner_for(root / rel, variant.format, inputs, outputs, device, threads, variant.engine, variant.precision,
                            variant.digest)
        runners.update(dict.fromkeys(buckets, runner))
    return runners


def runner_for(path: Path, fmt: str, inputs: list[TensorSpec], outputs: list[TensorSpec], device: Device = CPU,
               threads: int | None = None, engine: str | None = None, precision: str = "fp32",
               digest: str | None = None) -> Runner:
    """The runner of one variant file: ONNX Runtime for .onnx (OpenVINO at `precision` when `engine` says so), torch
    for TorchScript and .pt2 (not yet activated). `precision` and `digest` are the variant's: an accelerator's compiler
    settings and compile cache follow them."""
    if fmt == "onnx" and engine == "openvino":
        return OpenVinoRunner(path, inputs, outputs, precision, device, threads)
    if fmt == "onnx":
        return OrtRunner(path, inputs, outputs, device, threads, precision, digest)
    if fmt == "torchexport":
        return ExportedProgramRunner(path, inputs, outputs, device)
    return TorchScriptRunner(path, inputs, outputs, device)


def _activate(runners: list[Runner]) -> None:
    """Activate all now (errors belong to load time); on failure release the ones already active. A file the engine
    cannot load (its hash matched, so the manifest vouched for bad bytes) is one ManifestError line naming it; one whose
    engine is missing (torch, in the base install) names the extra that brings it."""
    try:
        for runner in runners:
            with needs_extra(runner.name):
                runner.activate()
    except BaseException as exc:
        for runner in runners:
            runner.deactivate()
        if isinstance(exc, Exception) and not isinstance(exc, NpuportError):
            reason = " ".join(str(exc).split())[:200] or type(exc).__name__
            raise ManifestError(f"{runner.name} cannot be loaded: {reason}") from exc
        raise
