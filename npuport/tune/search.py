"""`tune`: candidate after candidate until one passes the precision's profile on the golden texts.

Candidates start from the fp32 model re-exported in standard ops. Step 0 puts every weighted op in the target
precision; while the candidate fails, doctor examines it layer by layer and the nodes of the first block past the
budget that are still in the precision (else of the block that adds the most error) are kept in fp32 for the next
candidate. int8 runs that search for dynamic quantization and for calibrated static QDQ and keeps the smaller file. The first candidate that passes becomes the variant `onnx-<precision>-tuned`; its recipe
(calibration, the nodes kept in fp32, every step's size, speed and parity) goes into the manifest, and for fp16 the
kept nodes also go into an ATC `--keep_dtype` file, so an Ascend build keeps the same ops in fp32. The new variant is
then validated like any other (`npuport validate`).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import numpy as np

from npuport.convert.quantize import quantize_dynamic_int8
from npuport.core.buckets import by_length
from npuport.core.decisions import to_probabilities
from npuport.core.devices import Device
from npuport.core.errors import InputError, ParityError
from npuport.core.files import artifacts_lock, fresh_directory
from npuport.core.int8 import Int8Choice, choose_int8
from npuport.core.manifest import Manifest, Tuning, TuningStep, Variant
from npuport.core.progress import Progress, reporter, step, total
from npuport.doctor.localise import Examiner
from npuport.runtime.loader import runner_for
from npuport.tune.calibration import Feeds, calibration_texts, fingerprint
from npuport.tune.candidates import CALIBRATIONS, fp16_kept, int8_qdq
from npuport.tune.graph import next_block, weighted_nodes
from npuport.tune.publish import publish
from npuport.tune.smoothing import ALPHAS, Smoothing, activation_ranges, choose_alpha, smooth
from npuport.tune.speed import SpeedRatio
from npuport.validate.profiles import DEFAULT_PROFILES, Profile
from npuport.validate.validator import golden_reference, judge_file

PRECISIONS = ("int8", "fp16")
METHODS = ("auto", "dynamic", "static")  # int8: dynamic activation ranges, calibrated static QDQ, or both
MAX_STEPS = 12


@dataclass
class TuneResult:
    artifacts: Path
    precision: str
    base: str
    variant: str | None  # the tuned variant, None when no candidate passed
    steps: list[TuningStep]
    kept: list[str]
    calibration: str | None
    smoothing: str | None = None  # int8: the SmoothQuant α of the chosen method and how it was chosen
    keep_list: Path | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.variant is not None

    def raise_if_failed(self) -> None:
        if not self.passed:
            last = self.steps[-1].failures if self.steps else []
            raise ParityError(f"no {self.precision} candidate passed its profile after {len(self.steps)} step(s); "
                              f"the last failed: {'; '.join(last)}")


def tune(
    path: str | Path,
    precision: str,
    texts: list[str] | None = None,
    calibration: str = "minmax",
    int8_weights: str | None = None,
    method: str = "auto",
    smoothing: str = "auto",
    profiles: dict[str, Profile] | None = None,
    threads: int | None = None,
    progress: Progress | None = None,
    max_steps: int = MAX_STEPS,
    cpu_class: str | None = None,
) -> TuneResult:
    """Build `onnx-<precision>-tuned` in the artifacts at `path` (see module doc); `texts` calibrate int8 (ranges and
    smoothing); `smoothing` is auto (α chosen on those texts), off, or an α; at most `max_steps` candidates per method;
    int8 weights in `int8_weights`, else the scheme `cpu_class` runs fast and exactly (core.int8.choose_int8)."""
    if precision not in PRECISIONS:
        raise InputError(f"tune builds {' or '.join(PRECISIONS)}, not {precision!r} (bf16 is TorchScript-only; see README)")
    if method not in METHODS:
        raise InputError(f"--method must be one of {', '.join(METHODS)}, got {method!r}")
    if calibration not in CALIBRATIONS:
        raise InputError(f"--calibration must be one of {', '.join(CALIBRATIONS)}, got {calibration!r}")
    alphas = _alphas(smoothing)
    choice = choose_int8(int8_weights, cpu_class)
    root = Path(path)
    with artifacts_lock(root):  # tune writes a variant into the artifacts: one writer at a time (convert holds it too)
        tuner = _Tuner(root, precision, (profiles or DEFAULT_PROFILES)[precision], threads, reporter(progress), max_steps)
        return tuner.run(texts, calibration, choice, method, alphas)


class _Tuner:
    """One tuning run: the artifacts, the reference side set up once, the candidates built in a scratch folder."""

    def __init__(self, root: Path, precision: str, profile: Profile, threads: int | None, notify: Progress,
                 max_steps: int) -> None:
        self.root, self.precision, self.profile, self.threads, self.notify = root, precision, profile, threads, notify
        self.max_steps = max_steps
        self.manifest = Manifest.load(root)
        self.base = _base(self.manifest)
        self.manifest.verify_files(root, [self.base])
        notify(total(max_steps * (2 if precision == "int8" else 1) + 2))
        with step(notify, "reference and inputs"):
            self.examiner = Examiner(root, self.manifest, None, profile)
            self.reference = golden_reference(root, self.manifest).logits
        self.speed = SpeedRatio(root / self.base.files[0].path, self.base, self.examiner.golden, threads)

    def run(self, texts: list[str] | None, calibration: str, choice: Int8Choice, method: str,
            alphas: tuple[float, ...]) -> TuneResult:
        methods = {"int8": {"auto": ["dynamic", "static-qdq"], "dynamic": ["dynamic"], "static": ["static-qdq"]}[method],
                   "fp16": ["fp16-keep-fp32"]}[self.precision]
        chosen: list[str] = []
        source, feeds = None, None
        if self.precision == "int8":  # ranges for static QDQ and for smoothing, from texts the gate does not judge on
            chosen, source = calibration_texts(self.manifest.source.labels, texts)
            feeds = Feeds(self.root, self.manifest, chosen)
        scratch = fresh_directory(self.root / ".tune")
        try:
            with step(self.notify, "fp32 export in standard ops"):
                base = _export_unfused(self.manifest, self.base, self.examiner, scratch / "base.onnx")
            builders: dict[str, Callable[[Path, Path, list[str]], None]] = {
                "dynamic": lambda src, out, kept: quantize_dynamic_int8(src, out, kept, choice.scheme),
                "static-qdq": lambda src, out, kept: int8_qdq(src, out, feeds, kept, calibration, choice.scheme),
                "fp16-keep-fp32": lambda src, out, kept: fp16_kept(src, out, kept),
            }
            ranges = None  # per-channel activation maxima, measured once for every method's smoothing
            if feeds and alphas:
                with step(self.notify, "activation ranges on the calibration texts"):
                    ranges = activation_ranges(base, feeds.batches, self.threads)
            smoothed = {name: self._smooth(base, feeds, ranges, builders[name], alphas, scratch / name)
                        if feeds and ranges is not None else (base, Smoothing(None, {})) for name in methods}
            searches = {name: self._search(name, partial(builders[name], smoothed[name][0]), scratch) for name in methods}
            result = TuneResult(self.root, self.precision, self.base.id, None,
                                [s for name in methods for s in searches[name][0]], [],
                                f"{calibration}, {source}" if source else None)
            passing = [(name, found) for name, found in searches.items() if found[2] is not None]
            if passing:  # the fewest bytes wins, then the faster
                name, (tried, kept, candidate) = min(
                    passing, key=lambda item: (item[1][0][-1].bytes, -item[1][0][-1].speed_vs_fp32))
                static = name == "static-qdq"
                smoothing = smoothed[name][1].label if self.precision == "int8" else None
                calibrated = static or smoothed[name][1].alpha is not None
                recipe = Tuning(base=f"{self.base.id} (re-exported in standard ops)", method=name,  # type: ignore[arg-type]
                                calibration=calibration if static else None, calibration_texts=source if calibrated else None,
                                calibration_sha256=fingerprint(chosen) if calibrated else None, smoothing=smoothing,
                                kept_fp32=kept, steps=result.steps)
                assert candidate is not None
                result.kept, result.smoothing = kept, smoothing
                result.variant, result.keep_list = publish(self.root, self.precision, self.base, candidate, recipe, tried[-1],
                                                           choice)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
            self.speed.close()
        return result

    def _smooth(self, base: Path, feeds: Feeds, ranges: dict[str, np.ndarray], build: Callable[[Path, Path, list[str]], None],
                alphas: tuple[float, ...], scratch: Path) -> tuple[Path, Smoothing]:
        """The base this method quantizes: smoothed with the α (of `alphas`, or none) whose all-int8 file stays closest
        to fp32 on the calibration texts, or with the one α given."""
        scratch.mkdir()
        with step(self.notify, f"smoothing for {Path(scratch).name}: α of {', '.join(map(str, alphas))}"):
            if len(alphas) == 1:
                return smooth(base, scratch / "smoothed.onnx", ranges, alphas[0]), Smoothing(alphas[0], {})

            def probabilities(path: Path) -> np.ndarray:
                with runner_for(path, "onnx", self.base.inputs, self.base.outputs, Device("cpu"), self.threads) as runner:
                    logits = [runner.infer(feed) for feed in feeds.batches]
                return np.concatenate([to_probabilities(batch, self.manifest.source.activation) for batch in logits])

            return choose_alpha(base, ranges, lambda src, out: build(src, out, []), probabilities, scratch, alphas)

    def _search(self, method: str, build: Callable[[Path, list[str]], None],
                scratch: Path) -> tuple[list[TuningStep], list[str], Path | None]:
        """Candidates of one method until one passes: (steps, nodes kept in fp32, the passing file or None)."""
        source, examiner = self.manifest.source, self.examiner
        steps: list[TuningStep] = []
        kept: list[str] = []
        added = f"nothing (every weighted op in {self.precision})"
        for number in range(self.max_steps):
            candidate = scratch / f"{method}-{number}.onnx"
            with step(self.notify, f"{method} candidate {number}: {len(kept)} nodes kept in fp32"):
                build(candidate, kept)
                runner = runner_for(candidate, "onnx", self.base.inputs, self.base.outputs, Device("cpu"), self.threads)
                comparison, failures = judge_file(runner, examiner.golden, self.reference, self.profile,
                                                  source.activation, source.threshold, examiner.pad_token_id)
                speed = self.speed(candidate)
            steps.append(TuningStep(method=method, kept=len(kept), added=added, bytes=candidate.stat().st_size,
                                    speed_vs_fp32=speed, passed=not failures, failures=failures,
                                    cosine_min=comparison.cosine_min, max_abs_error=comparison.max_abs_error,
                                    top1_agreement=comparison.top1_agreement_untied, real_flips=comparison.real_flips))
            if not failures:
                return steps, kept, candidate
            side = examiner.onnx_file(candidate, threads=self.threads)
            block = next_block(examiner.examine(side, []), side, self.precision, kept)
            if block is None or len(block[1]) >= weighted_nodes(side, self.precision):
                break  # nothing left to keep, or keeping it would leave the whole model in fp32: no such variant
            label, nodes = block
            kept += nodes
            added = f"{label}: {len(nodes)} nodes"
        return steps, kept, None


def _export_unfused(manifest: Manifest, base: Variant, examiner: Examiner, path: Path) -> Path:
    """The fp32 model exported again with dynamic shapes and without ORT's fusions: quantization and fp16 blocking
    then reach every MatMul (fused Attention and EmbedLayerNormalization hide the QKV and embedding weights), and its
    node names are those of the static ONNX that ATC compiles, so a keep-list names the same ops there."""
    from npuport.convert.onnx import export_onnx
    from npuport.model.adapter import LogitsOnly
    from npuport.model.source import load_source

    golden = examiner.golden
    order = by_length(golden.lengths)
    model = load_source(Path(manifest.source.path)).model
    export_onnx(LogitsOnly(model, manifest.source.input_names), golden.rows([order[len(order) // 2], order[-1]]), path,
                base.opset or 17, dynamic=True)
    return path


def _alphas(smoothing: str) -> tuple[float, ...]:
    """--smoothing: auto → every α of ALPHAS (the best is chosen), off → none, a number → that α."""
    if smoothing == "auto":
        return ALPHAS
    if smoothing == "off":
        return ()
    try:
        alpha = float(smoothing)
    except ValueError:
        alpha = -1.0
    if not 0.0 < alpha < 1.0:
        raise InputError(f"--smoothing must be auto, off or an α between 0 and 1, got {smoothing!r}")
    return (alpha,)


def _base(manifest: Manifest) -> Variant:
    for variant in manifest.variants:
        if (variant.format, variant.precision, variant.shape) == ("onnx", "fp32", "dynamic"):
            return variant
    raise InputError("tune starts from onnx-fp32-dynamic, which these artifacts lack: "
                     "convert with --formats onnx --precisions fp32 --shapes dynamic")
