"""`diagnose`: run a variant and the fp32 eager CPU reference on the same token rows with every probe point exposed
(ONNX: the probe tensors added as graph outputs; the reference: forward hooks) and measure, per layer, how far the
variant is from the reference and how the error grows with depth.

Both sides see exactly the same rows — a static variant's rows padded to its bucket, the reference run on the same
padded rows — and only real tokens (attention mask 1) are compared. For a TorchScript variant the traced program has no
hooks: its layer outputs come from the source model rebuilt in the variant's precision on the device (the program
the trace recorded) and only its logits from the artifact itself; the report says so.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from npuport.core.buckets import BucketPolicy, length_batches, pad_to_bucket
from npuport.core.decisions import to_probabilities
from npuport.core.devices import CPU, Device
from npuport.core.errors import InputError, ModelLoadError
from npuport.core.files import write_text_atomic
from npuport.core.golden import GoldenInputs
from npuport.core.manifest import Bucket, Manifest
from npuport.core.progress import Progress, reporter, step, total
from npuport.core.reports.paths import doctor_stem
from npuport.doctor.diagnosis import Diagnosis, LayerError
from npuport.doctor.probes import LOGITS, Probe, probes
from npuport.doctor.sides import Hooked, OnnxSide, TorchSide, variant_side
from npuport.model.tokenizer import TextEncoder, golden_inputs, saved_tokenizer
from npuport.validate.profiles import DEFAULT_PROFILES, Profile
from npuport.validate.validator import golden_reference

BATCH = 16
Feed = dict[str, np.ndarray]


@dataclass
class _Tally:
    """Running error figures of one probe over the batches."""

    cosine_min: float = 1.0
    cosine_sum: float = 0.0
    vectors: int = 0
    max_abs: float = 0.0
    scale: float = 0.0  # the reference's largest magnitude, for the relative error

    def add(self, want: np.ndarray, got: np.ndarray) -> None:
        want, got = want.astype(np.float64), got.astype(np.float64)
        if not np.isfinite(got).all():
            self.cosine_min, self.max_abs = float("nan"), float("inf")
            return
        dot = (want * got).sum(axis=1)
        norms = np.linalg.norm(want, axis=1) * np.linalg.norm(got, axis=1)
        cosine = np.where(norms > 0, dot / np.maximum(norms, 1e-30), 1.0)
        self.cosine_min = min(self.cosine_min, float(cosine.min()))
        self.cosine_sum += float(cosine.sum())
        self.vectors += len(cosine)
        self.max_abs = max(self.max_abs, float(np.abs(want - got).max()))
        self.scale = max(self.scale, float(np.abs(want).max()))


class Examiner:
    """The reference side of an examination, set up once and reused for every candidate (tune examines many): the
    source model hooked at its probe points, the token rows, the budget."""

    def __init__(self, root: Path, manifest: Manifest, texts: list[str] | None, profile: Profile) -> None:
        from npuport.model.source import load_source

        source_dir = Path(manifest.source.path)
        if not source_dir.is_dir():
            raise ModelLoadError(f"doctor needs the source model to expose its layers, but {source_dir} is not here")
        self.manifest, self.budget = manifest, profile.min_cosine
        self.golden, self.origin = _inputs(root, manifest, texts)
        self.pad_token_id = int(saved_tokenizer(root, manifest).pad_token_id or 0)  # as TextEncoder pads
        source = load_source(source_dir).model
        self.points = probes(source)
        self.reference = Hooked(source, self.points, manifest.source.input_names)

    def examine(self, side: OnnxSide | TorchSide, buckets: list[Bucket]) -> list[LayerError]:
        """Every probe point of `side` against the reference, on the same rows (padded to `buckets` if any)."""
        tallies = {p.module: _Tally() for p in self.points if p.module in side.tensors}
        for feed, rows in _batches(self.golden, buckets, self.pad_token_id):
            want, got = self.reference.run(feed), side.run(feed)
            mask = feed["attention_mask"][:rows].astype(bool)
            for module, tally in tallies.items():
                tally.add(*(self._values(module, outputs[module][:rows], mask) for outputs in (want, got)))
        return _layers(self.points, tallies, side.tensors, self.budget)

    def _values(self, module: str, values: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """What is compared at a point: real tokens' hidden states, or at the output the probabilities the gate judges."""
        if module == LOGITS:
            return to_probabilities(values, self.manifest.source.activation)
        return _vectors(values, mask)

    def onnx_file(self, path: Path, device: Device = CPU, threads: int | None = None) -> OnnxSide:
        """A dynamic-shape ONNX file (a tune candidate) with its probe points exposed."""
        return OnnxSide({None: path}, device, self.points, threads)


def diagnose(
    path: str | Path,
    variant: str,
    device: Device = CPU,
    texts: list[str] | None = None,
    profiles: dict[str, Profile] | None = None,
    threads: int | None = None,
    progress: Progress | None = None,
) -> Diagnosis:
    """Localise where `variant` departs from the fp32 eager reference; writes reports/doctor-<variant>-<device>.json
    (and .png when matplotlib is installed)."""
    notify = reporter(progress)
    root = Path(path)
    manifest = Manifest.load(root)
    chosen = manifest.variant(variant)
    if chosen.engine is not None:  # its probes would run on ONNX Runtime, not on the engine its verdict is about
        raise InputError(f"doctor runs ONNX Runtime and torch variants, not {chosen.engine}'s {chosen.id}")
    manifest.verify_files(root, [chosen])
    notify(total(3))
    with step(notify, "reference (fp32 eager, cpu)"):
        examiner = Examiner(root, manifest, texts, (profiles or DEFAULT_PROFILES)[chosen.precision])
    with step(notify, f"{chosen.id} on {device}"):
        side = variant_side(root, manifest, chosen, device, examiner.points, threads)
    with step(notify, "comparing layer by layer"):
        layers = examiner.examine(side, chosen.buckets if chosen.shape == "static" else [])
    diagnosis = Diagnosis(root, chosen.id, str(device), side.engine, examiner.origin, examiner.budget, layers, [], side.notes)
    culprit = diagnosis.first_past_budget
    if culprit is None or culprit.probe.module == LOGITS:  # past budget only at the output: where the error grew most
        culprit = diagnosis.largest_growth if culprit else None
    diagnosis.suspects = side.suspects(culprit.probe) if culprit else []
    return _write(diagnosis, root)


def _inputs(root: Path, manifest: Manifest, texts: list[str] | None) -> tuple[GoldenInputs, str]:
    if not texts:
        golden = golden_reference(root, manifest).golden
        return golden, f"{len(golden.ids)} golden texts recorded by convert"
    encoder = TextEncoder(saved_tokenizer(root, manifest), manifest.source.input_names, manifest.golden.seq_len)
    return golden_inputs(encoder, [f"text-{i + 1}" for i in range(len(texts))], texts), f"{len(texts)} texts from the user"


def _batches(golden: GoldenInputs, buckets: list[Bucket], pad: int) -> list[tuple[Feed, int]]:
    """(feed as the variant runs it, real rows in it): length-sorted batches; padded to a bucket when there are any."""
    policy = BucketPolicy(buckets or None)
    batches = []
    for rows in length_batches(golden.lengths, BATCH):
        feed = golden.rows(rows)
        for chunk in policy.plan(len(rows), feed["input_ids"].shape[1]):
            part = {name: array[chunk.start : chunk.stop] for name, array in feed.items()}
            count = chunk.stop - chunk.start
            batches.append((pad_to_bucket(part, chunk.bucket, pad) if chunk.bucket else part, count))
    return batches


def _vectors(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Hidden states of real tokens as rows [tokens, hidden]; pooler outputs and logits stay [texts, width]."""
    if values.ndim == 3:
        return values[:, : mask.shape[1]][mask[:, : values.shape[1]]]
    return values


def _layers(points: list[Probe], tallies: dict[str, _Tally], tensors: dict[str, str], budget: float | None) -> list[LayerError]:
    layers: list[LayerError] = []
    previous: float | None = None
    for probe in points:
        tally = tallies.get(probe.module)
        if tally is None or tally.vectors == 0:
            continue
        relative = tally.max_abs / tally.scale if tally.scale > 0 else float("inf")
        growth = relative / previous if previous else None
        past = budget is not None and not tally.cosine_min >= budget
        layers.append(LayerError(probe, tensors[probe.module], tally.cosine_min, tally.cosine_sum / tally.vectors,
                                 tally.max_abs, relative, growth, past))
        previous = relative
    return layers


def _write(diagnosis: Diagnosis, root: Path) -> Diagnosis:
    """reports/doctor-<variant>-<device>.json, and the PNG of error across depth when matplotlib is there."""
    if not diagnosis.layers:
        raise InputError(f"doctor found no probe point of {diagnosis.variant} in its files")
    stem = doctor_stem(root, diagnosis.variant, diagnosis.device)
    try:
        from npuport.doctor.plot import plot_depth

        diagnosis.plot_path = plot_depth(diagnosis, stem.with_suffix(".png"))
    except ImportError:
        diagnosis.notes.append("no PNG: matplotlib is not installed (pip install 'npuport[report]')")
    diagnosis.json_path = stem.with_suffix(".json")
    write_text_atomic(diagnosis.json_path, json.dumps(diagnosis.as_dict(), ensure_ascii=False, indent=2) + "\n")
    return diagnosis
