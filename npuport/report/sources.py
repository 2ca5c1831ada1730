"""Gather what earlier commands measured about each variant, ignoring records of files that changed since.

Reads only: the manifest (size, export check, validations), `reports/bench-<device>.json` (written by
`npuport bench`) and `reports/eval.json` (written by `npuport eval`). Nothing is measured here. Every record
carries the variant id and its sha256; a record whose sha256 is not the variant's current one is stale, is
ignored and is counted so the page can say so. Bench files are read defensively (their writer evolves on its own):
a record is used when it names a variant, its sha256, a batch size and a throughput; latency percentiles and the
ratio to the baseline are shown where present.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from npuport.evaluate.run import EvalReport, load_eval
from npuport.manifest import Manifest, Variant

REPORTS_DIR = "reports"


@dataclass(frozen=True)
class Speed:
    batch_size: int
    throughput: float  # texts per second
    p50_ms: float | None
    p90_ms: float | None
    p99_ms: float | None
    ratio: float | None  # throughput over the eager fp32 baseline's, same run and batch size


@dataclass
class Row:
    """One variant with everything known about it."""

    variant: Variant
    owned_bytes: int  # bytes of files it is the first to list (0: shares another variant's file)
    load_bytes: int  # bytes of the distinct files it loads (what a deployment ships)
    speed: dict[int, Speed] = field(default_factory=dict)  # by batch size, on the report's device
    parity: str = "not validated"
    parity_passed: bool | None = None
    accuracy: float | None = None
    micro_f1: float | None = None
    macro_f1: float | None = None
    delta_micro_f1: float | None = None
    changed: int | None = None


@dataclass
class Gathered:
    root: Path
    manifest: Manifest
    device: str
    rows: list[Row]
    baseline: dict[int, Speed]  # the eager fp32 baseline of the bench run, by batch size
    bench_file: str | None
    evaluation: EvalReport | None
    notes: list[str]  # stale or unreadable records, in words


def _number(record: Any, *paths: str) -> float | None:
    """The first numeric value found at one of the dotted `paths` ("latency.p50_ms") of a JSON object."""
    for path in paths:
        value = record
        for key in path.split("."):
            value = value.get(key) if isinstance(value, dict) else None
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    return None


def _speed(record: dict[str, Any], side: str = "") -> Speed | None:
    """A record's own figures, or (side="baseline.") those of the baseline timed beside it."""
    batch = _number(record, "batch_size")
    rate = _number(record, f"{side}throughput")
    if batch is None or rate is None:
        return None
    latency = [_number(record, f"{side}latency.{key}_ms", f"{side}{key}_ms") for key in ("p50", "p90", "p99")]
    ratio = None if side else _number(record, "speedup.throughput", "ratio")
    return Speed(int(batch), rate, *latency, ratio)


def bench_path(root: Path, device: str) -> Path:
    return root / REPORTS_DIR / f"bench-{device.replace(':', '-')}.json"


def _bench(root: Path, device: str, rows: dict[str, Row], notes: list[str]) -> tuple[dict[int, Speed], str | None]:
    """Records of `npuport bench` (schema npuport.bench/1: one per variant and batch size, each with the
    baseline timed beside it); the baseline line is the median of those baselines per batch size."""
    path = bench_path(root, device)
    if not path.is_file():
        return {}, None
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        notes.append(f"{path.name} is not valid JSON ({exc}); speed not shown")
        return {}, None
    records = raw.get("records") if isinstance(raw, dict) else None
    baselines: dict[int, list[Speed]] = {}
    stale, unusable = 0, 0
    for record in records if isinstance(records, list) else []:
        speed = _speed(record) if isinstance(record, dict) else None
        if speed is None:
            unusable += 1
            continue
        row = rows.get(str(record.get("variant")))
        if row is None or record.get("sha256") != row.variant.digest:
            stale += 1
            continue
        row.speed[speed.batch_size] = speed
        if (base := _speed(record, "baseline.")) is not None:
            baselines.setdefault(base.batch_size, []).append(base)
    if stale:
        notes.append(f"{stale} record(s) in {path.name} ignored: their variant is gone or its files changed since the benchmark")
    if unusable:
        notes.append(f"{unusable} record(s) in {path.name} lack a batch size or throughput and were skipped")
    baseline = {size: sorted(found, key=lambda b: b.throughput)[len(found) // 2] for size, found in baselines.items()}
    return baseline, path.name


def _parity(manifest: Manifest, device: str, rows: dict[str, Row], notes: list[str]) -> None:
    """The latest validation of each variant on the device (cpu matches cpu; cuda matches cuda:N too)."""
    kind = device.split(":")[0]
    stale = 0
    for validation in sorted(manifest.validations, key=lambda v: v.created):
        if validation.device.split(":")[0] != kind:
            continue
        row = rows.get(validation.variant)
        if row is None or validation.sha256 != row.variant.digest:
            stale += 1
            continue
        row.parity_passed = validation.passed
        row.parity = f"{'passed' if validation.passed else 'FAILED'} ({validation.profile}, {validation.device})"
    if stale:
        notes.append(f"{stale} validation record(s) ignored: made for files that changed since")


def _eval(root: Path, manifest: Manifest, rows: dict[str, Row], notes: list[str]) -> EvalReport | None:
    report = load_eval(root)
    if report is None:
        return None
    stale = 0
    for record in report.records:
        row = rows.get(record.variant)
        if record.reference and row is None:
            continue  # the eager reference: not a variant
        if row is None or record.sha256 != row.variant.digest:
            stale += 1
            continue
        row.accuracy, row.micro_f1, row.macro_f1 = record.accuracy, record.micro_f1, record.macro_f1
        row.delta_micro_f1 = (record.delta or {}).get("micro_f1")
        row.changed = record.changed
    if stale:
        notes.append(f"{stale} eval record(s) ignored: their variant is gone or its files changed since the evaluation")
    return report


def _load_bytes(variant: Variant) -> int:
    return sum({record.path: record.bytes for record in variant.files}.values())


def gather(root: Path, device: str = "cpu") -> Gathered:
    root = Path(root)
    manifest = Manifest.load(root)
    rows = {v.id: Row(v, manifest.owned_bytes(v), _load_bytes(v)) for v in manifest.variants}
    notes: list[str] = []
    baseline, bench_file = _bench(root, device, rows, notes)
    _parity(manifest, device, rows, notes)
    evaluation = _eval(root, manifest, rows, notes)
    return Gathered(root, manifest, device, list(rows.values()), baseline, bench_file, evaluation, notes)


def bench_devices(root: Path) -> list[str]:
    """Devices with a bench file (as its name spells them: cuda-0 for cuda:0), cpu first."""
    names = sorted(p.name.removeprefix("bench-").removesuffix(".json") for p in (Path(root) / REPORTS_DIR).glob("bench-*.json"))
    return sorted((name.replace("-", ":") for name in names), key=lambda d: d != "cpu")
