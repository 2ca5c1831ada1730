"""reports/bench-<device>.json: the records `npuport bench` writes, typed once, with the writer (merging with what is
still current) and the reader `npuport report` and `package --target cpu` share."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from npuport.core.files import write_text_atomic
from npuport.core.manifest import Parity
from npuport.core.reports.keep import still_current
from npuport.core.reports.paths import bench_path

if TYPE_CHECKING:
    from npuport.core.manifest import Variant

BENCH_SCHEMA = "npuport.bench/1"


class _Record(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class Latency(_Record):
    """Per-call milliseconds over `calls` timed calls (what bench.timing.latency_stats returns)."""

    calls: int
    mean_ms: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    min_ms: float
    max_ms: float
    total_s: float


class Timed(_Record):
    throughput: float  # texts per second
    latency: Latency


class Paired(Timed):
    """A variant's figures with the baseline's, timed beside them in the same run."""

    baseline: Timed
    speedup: dict[str, float]  # throughput, p50, p90, p99: baseline time over the variant's


class FirstCall(_Record):
    verify_s: float
    load_s: float
    first_predict_s: float
    note: str = "load_s includes its own hash check, tokenizer and session/module creation"


class MemoryUse(_Record):
    method: str
    mib: float
    covers: str


class BenchRecord(Paired):
    """One (variant, batch size) of a bench run, end to end (the top-level figures) and engine-only (token batches
    in, logits out), each beside the hand-written baseline timed in the same run."""

    variant: str
    sha256: str
    format: str
    precision: str
    shape: str
    device: str
    engine: str
    bytes: int
    max_length: int
    threads: int
    spinning: dict[str, Any]
    cpu_class: str | None = None  # the class the figures hold for
    loadavg_1min: list[float]  # before and after this variant's runs
    first_call: FirstCall
    memory: MemoryUse
    parity: Parity
    batch_size: int
    texts: int
    calls: int
    engine_only: Paired
    slower_than_baseline: bool  # engine-only throughput below the baseline's
    created: str
    text_source: str
    run: str  # when the bench run that measured it started: figures of two runs do not compare

    @property
    def engine_ratio(self) -> float:
        return self.engine_only.speedup["throughput"]

    @property
    def engine_throughput(self) -> float:
        return self.engine_only.throughput


class BenchDocument(_Record):
    """The whole file: what the run ran on and how, the baseline's own costs, and the records still current."""

    schema_: str = Field(BENCH_SCHEMA, alias="schema")
    model: str
    artifacts: str
    device: str
    created: str
    host: dict[str, Any]  # cpu, cores, threads, spinning, cpu_class, versions, load averages
    texts: dict[str, Any]  # source, count, order
    method: str
    baseline: dict[str, Any]  # HandWrittenBaseline.describe() with its first call and memory
    records: list[BenchRecord]

    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)


@dataclass
class BenchFile:
    """What `read_bench` found: the records that are bench records, and how many entries were not."""

    path: Path
    records: list[BenchRecord] = field(default_factory=list)
    unusable: int = 0
    error: str | None = None  # the file is there but is not JSON


def read_bench(root: Path, device: str) -> BenchFile | None:
    """The bench records of `device`, or None when it was never benchmarked (a report is a cache: damage is counted,
    never raised)."""
    path = bench_path(root, device)
    if not path.is_file():
        return None
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        return BenchFile(path, error=str(exc))
    found = raw.get("records") if isinstance(raw, dict) else None
    bench = BenchFile(path)
    for entry in found if isinstance(found, list) else []:
        try:
            bench.records.append(BenchRecord.model_validate(entry))
        except ValidationError:
            bench.unusable += 1
    return bench


def write_bench(root: Path, variants: list[Variant], document: BenchDocument) -> BenchDocument:
    """Write this run's `document`, keeping earlier records of (variant, batch size) pairs not measured now while the
    variant's files are unchanged. Returns what was written."""
    earlier = read_bench(root, document.device)
    measured = {(r.variant, r.batch_size) for r in document.records}
    kept = [r for r in still_current(earlier.records if earlier else [], variants)
            if (r.variant, r.batch_size) not in measured]
    written = document.model_copy(update={"records": kept + document.records})
    text = json.dumps(written.model_dump(by_alias=True), ensure_ascii=False, indent=2) + "\n"
    write_text_atomic(bench_path(root, document.device), text)
    return written
