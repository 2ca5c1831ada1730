"""What the stages record about variants, and where: the reports/ layout, the typed records other stages read back
(eval, bench), and the one rule for keeping earlier records: only while the variant's files are unchanged.

Every record names its variant and the variant's digest (`Variant.digest`, stored as "sha256"); a record whose
digest is not the variant's current one was measured on other bytes and is dropped or ignored, never shown.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

if TYPE_CHECKING:
    from npuport.core.manifest import Variant

R = TypeVar("R")
REPORTS_DIR = "reports"
EVAL_FILE = f"{REPORTS_DIR}/eval.json"
EVAL_SCHEMA = 1
BENCH_SCHEMA = "npuport.bench/1"
ACCURACY_DEFINITION = "subset accuracy: share of texts whose predicted label set equals the gold set exactly"


def utc_now() -> str:
    """The timestamp every record carries: UTC, ISO 8601, whole seconds."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def megabytes(size: int) -> str:
    return f"{size / 1e6:,.1f} MB"


def device_slug(device: str) -> str:
    """A device as a file name part: cuda:0 → cuda-0."""
    return device.replace(":", "-")


def validation_paths(report_dir: Path, device: str) -> tuple[Path, Path]:
    stem = f"validation-{device_slug(device)}"
    return report_dir / f"{stem}.json", report_dir / f"{stem}.md"


def bench_path(root: Path, device: str) -> Path:
    return Path(root) / REPORTS_DIR / f"bench-{device_slug(device)}.json"


def bench_devices(root: Path) -> list[str]:
    """Devices with a bench file (as its name spells them: cuda-0 for cuda:0), cpu first."""
    names = sorted(p.name.removeprefix("bench-").removesuffix(".json") for p in (Path(root) / REPORTS_DIR).glob("bench-*.json"))
    return sorted((name.replace("-", ":") for name in names), key=lambda d: d != "cpu")


def _field(record: Any, name: str) -> Any:
    return record.get(name) if isinstance(record, dict) else getattr(record, name, None)


def still_current(records: Iterable[R], variants: Iterable[Variant]) -> list[R]:
    """The records (dicts or models with `variant` and `sha256`) whose variant still exists with the same files."""
    digests = {v.id: v.digest for v in variants}
    return [r for r in records if _field(r, "variant") in digests and digests[_field(r, "variant")] == _field(r, "sha256")]


def read_json_list(path: Path, key: str) -> list[dict[str, Any]]:
    """The objects under `key` in a JSON report; [] when the file is absent or unreadable (a report is a cache of
    measurements, never trusted when damaged)."""
    try:
        found = json.loads(path.read_text(encoding="utf-8")).get(key, [])
    except (OSError, UnicodeDecodeError, ValueError, AttributeError):
        return []
    return [entry for entry in found if isinstance(entry, dict)] if isinstance(found, list) else []


class _Record(BaseModel):
    model_config = ConfigDict(extra="ignore")


class SystemRecord(_Record):
    """One system `npuport eval` scored: a variant, or the eager reference (variant = "eager-fp32", sha256 = weights')."""

    variant: str
    sha256: str
    reference: bool
    precision: str
    format: str
    shape: str
    device: str
    engine: str
    seconds: float
    accuracy: float
    micro_precision: float
    micro_recall: float
    micro_f1: float
    macro_f1: float | None
    per_label: list[dict[str, Any]]
    delta: dict[str, float | None] | None = None  # metric minus the reference's; None for the reference itself
    changed: int | None = None  # texts whose predicted label set differs from the reference's


class EvalReport(_Record):
    """reports/eval.json, written by `npuport eval`, read by `npuport report`."""

    schema_version: int = EVAL_SCHEMA
    created: str
    artifacts: str
    data: dict[str, Any]  # source, sha256, texts
    threshold: str
    device: str
    accuracy_definition: str = ACCURACY_DEFINITION
    reference: dict[str, str]  # variant, kind (eager | variant), why
    records: list[SystemRecord]

    def context(self) -> tuple[str, str, str, str]:
        """Records are comparable only when measured on the same data, threshold, device and reference."""
        return self.data["sha256"], self.threshold, self.device, self.reference["variant"]


def load_eval(root: Path) -> EvalReport | None:
    """The eval report of an artifacts directory, or None when absent or unreadable (it is only a cache)."""
    path = Path(root) / EVAL_FILE
    if not path.is_file():
        return None
    try:
        report = EvalReport.model_validate_json(path.read_text(encoding="utf-8"))
    except (ValidationError, UnicodeDecodeError, ValueError):
        return None
    return report if report.schema_version == EVAL_SCHEMA else None


class Latency(_Record):
    p50_ms: float
    p90_ms: float
    p99_ms: float


class Timed(_Record):
    throughput: float  # texts per second
    latency: Latency


class Paired(Timed):
    """A variant's figures with the baseline's, timed beside them in the same run."""

    baseline: Timed
    speedup: dict[str, float]  # throughput, p50, p90, p99: baseline time over the variant's


class BenchRecord(Paired):
    """One (variant, batch size) of reports/bench-<device>.json as `npuport bench` writes it, with the hand-written
    baseline timed beside it: end to end (the top-level figures) and engine-only; the fields `npuport report` and
    `package --target cpu` read (the file holds more)."""

    variant: str
    sha256: str
    batch_size: int
    engine_only: Paired | None = None  # token batches in, logits out; None in records written before issue 23
    cpu_class: str | None = None  # the class the figures hold for
    run: str | None = None  # when the bench run that measured it started; None in records written before issue 24

    @property
    def engine_ratio(self) -> float:
        """× the baseline engine-only where measured, else end to end (older records)."""
        return (self.engine_only or self).speedup["throughput"]

    @property
    def engine_throughput(self) -> float:
        return (self.engine_only or self).throughput
