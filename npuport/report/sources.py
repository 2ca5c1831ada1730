"""Gather what earlier commands measured about each variant, ignoring records of files that changed since.

Reads only: the manifest (size, export check, validations), `reports/bench-<device>.json` (written by
`npuport bench`) and `reports/eval.json` (written by `npuport eval`), through the readers of
`npuport.core.reports`. Nothing is measured here. A record whose digest is not the variant's current one is stale,
is ignored and is counted so the page can say so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from npuport.core.manifest import Manifest, Variant
from npuport.core.reports.bench import BenchRecord, Timed, read_bench
from npuport.core.reports.evaluation import EvalReport, read_eval
from npuport.core.reports.keep import still_current


@dataclass(frozen=True)
class Speed:
    batch_size: int
    throughput: float  # texts per second
    p50_ms: float | None
    p90_ms: float | None
    p99_ms: float | None
    ratio: float | None  # throughput over the eager fp32 baseline's, end to end, same run and batch size
    engine_throughput: float | None = None  # engine-only texts/s (token batches in, logits out), same record
    engine_ratio: float | None = None  # engine-only over the baseline's engine-only, same run and batch size


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


def _speed(timed: Timed, batch_size: int, ratio: float | None) -> Speed:
    latency = timed.latency
    engine = timed.engine_only if isinstance(timed, BenchRecord) else None
    return Speed(batch_size, timed.throughput, latency.p50_ms, latency.p90_ms, latency.p99_ms, ratio,
                 engine.throughput if engine else None, engine.speedup["throughput"] if engine else None)


def _bench(root: Path, device: str, rows: dict[str, Row], notes: list[str]) -> tuple[dict[int, Speed], str | None]:
    """Records of `npuport bench` (one per variant and batch size, each with the baseline timed beside it) of its
    newest run only, so every texts/s and ratio on the page is from one run; the baseline line is the median of that
    run's baselines per batch size."""
    bench = read_bench(root, device)
    if bench is None:
        return {}, None
    name = bench.path.name
    if bench.error is not None:
        notes.append(f"{name} is not valid JSON ({bench.error}); speed not shown")
        return {}, None
    current = still_current(bench.records, [row.variant for row in rows.values()])
    newest = max((record.run for record in current), default="")
    earlier = sorted({record.variant for record in current if record.run != newest})
    if earlier:  # each run has its own baseline figures: rows from two runs would not compare
        notes.append(f"speed of {', '.join(earlier)} not shown: measured in an earlier bench run than the others "
                     f"(bench them again together to compare)")
    baselines: dict[int, list[Speed]] = {}
    for record in (record for record in current if record.run == newest):
        rows[record.variant].speed[record.batch_size] = _speed(record, record.batch_size, record.speedup.get("throughput"))
        baselines.setdefault(record.batch_size, []).append(_speed(record.baseline, record.batch_size, None))
    if len(bench.records) > len(current):
        notes.append(f"{len(bench.records) - len(current)} record(s) in {name} ignored: their variant is gone or its "
                     "files changed since the benchmark")
    if bench.unusable:
        notes.append(f"{bench.unusable} record(s) in {name} are not bench records and were skipped")
    baseline = {size: sorted(found, key=lambda b: b.throughput)[len(found) // 2] for size, found in baselines.items()}
    return baseline, name


def _parity(manifest: Manifest, device: str, rows: dict[str, Row], notes: list[str]) -> None:
    """The verdict of each variant's current files on the device (`Manifest.verdict`)."""
    for row in rows.values():
        record = manifest.verdict(row.variant, device)
        if record is not None:
            row.parity_passed = record.passed
            row.parity = f"{record.word} ({record.profile}, {record.device})"
    digests = {row.variant.id: row.variant.digest for row in rows.values()}
    stale = sum(v.device == device and digests.get(v.variant) != v.sha256 for v in manifest.validations)
    if stale:
        notes.append(f"{stale} validation record(s) ignored: made for files that changed since")


def _eval(root: Path, manifest: Manifest, rows: dict[str, Row], notes: list[str]) -> EvalReport | None:
    report = read_eval(root)
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


def gather(root: Path, device: str = "cpu") -> Gathered:
    root = Path(root)
    manifest = Manifest.load(root)
    rows = {v.id: Row(v, manifest.owned_bytes(v), v.load_bytes) for v in manifest.variants}
    notes: list[str] = []
    baseline, bench_file = _bench(root, device, rows, notes)
    _parity(manifest, device, rows, notes)
    evaluation = _eval(root, manifest, rows, notes)
    return Gathered(root, manifest, device, list(rows.values()), baseline, bench_file, evaluation, notes)
