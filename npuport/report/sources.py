"""Gather what earlier commands measured about each variant, ignoring records of files that changed since.

Reads only: the manifest (size, export check, validations), `reports/bench-<device>.json` (written by
`npuport bench`) and `reports/eval.json` (written by `npuport eval`). Nothing is measured here. Every record
carries the variant id and its sha256; a record whose sha256 is not the variant's current one is stale, is
ignored and is counted so the page can say so. Bench files are read defensively (their writer evolves on its own):
a record is used when it names a variant, its sha256, a batch size and a throughput.
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


def digest(variant: Variant) -> str:
    return getattr(variant, "digest", None) or variant.files[0].sha256


def _number(record: dict[str, Any], *keys: str) -> float | None:
    for key in keys:
        value = record.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    return None


def _records(raw: Any) -> list[dict[str, Any]]:
    if isinstance(raw, list):
        return [r for r in raw if isinstance(r, dict)]
    if isinstance(raw, dict):
        for key in ("records", "results", "rows", "variants"):
            if isinstance(raw.get(key), list):
                return [r for r in raw[key] if isinstance(r, dict)]
    return []


def _speed(record: dict[str, Any]) -> Speed | None:
    batch = _number(record, "batch_size", "batch")
    throughput = _number(record, "throughput", "texts_per_s", "throughput_per_s")
    if batch is None or throughput is None:
        return None
    return Speed(int(batch), throughput, _number(record, "p50_ms"), _number(record, "p90_ms"), _number(record, "p99_ms"),
                 _number(record, "ratio", "ratio_vs_baseline", "speedup", "vs_baseline"))


def _is_baseline(record: dict[str, Any]) -> bool:
    kind = str(record.get("kind", record.get("role", ""))).lower()
    name = str(record.get("variant", "")).lower()
    return bool(record.get("baseline")) or kind == "baseline" or name in ("baseline", "eager", "eager-fp32", "transformers-eager")


def _bench(root: Path, device: str, rows: dict[str, Row], notes: list[str]) -> tuple[dict[int, Speed], str | None]:
    path = root / REPORTS_DIR / f"bench-{device}.json"
    if not path.is_file():
        return {}, None
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        notes.append(f"{path.name} is not valid JSON ({exc}); speed not shown")
        return {}, None
    baseline: dict[int, Speed] = {}
    stale, unusable = 0, 0
    for record in _records(raw):
        speed = _speed(record)
        if speed is None:
            unusable += 1
        elif _is_baseline(record):
            baseline[speed.batch_size] = speed
        elif (row := rows.get(str(record.get("variant")))) is None or record.get("sha256") != digest(row.variant):
            stale += 1
        else:
            row.speed[speed.batch_size] = speed
    if stale:
        notes.append(f"{stale} record(s) in {path.name} ignored: their variant is gone or its files changed since the benchmark")
    if unusable:
        notes.append(f"{unusable} record(s) in {path.name} lack a batch size or throughput and were skipped")
    return baseline, path.name


def _parity(manifest: Manifest, device: str, rows: dict[str, Row], notes: list[str]) -> None:
    """The latest validation of each variant on the device (cpu matches cpu; cuda matches cuda:N too)."""
    kind = device.split(":")[0]
    stale = 0
    for validation in sorted(manifest.validations, key=lambda v: v.created):
        if validation.device.split(":")[0] != kind:
            continue
        row = rows.get(validation.variant)
        if row is None or validation.sha256 != digest(row.variant):
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
        if row is None or record.sha256 != digest(row.variant):
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
    """Devices with a bench file, cpu first."""
    found = sorted(p.name.removeprefix("bench-").removesuffix(".json") for p in (Path(root) / REPORTS_DIR).glob("bench-*.json"))
    return sorted(found, key=lambda d: d != "cpu")
