"""reports/eval.json: the record `npuport eval` writes and `npuport report` reads, with its writer and reader."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, ValidationError

from npuport.core.files import write_text_atomic
from npuport.core.reports.keep import still_current
from npuport.core.reports.paths import eval_path

if TYPE_CHECKING:
    from npuport.core.manifest import Variant

EVAL_SCHEMA = 1
ACCURACY_DEFINITION = "subset accuracy: share of texts whose predicted label set equals the gold set exactly"


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
    """reports/eval.json: the reference first, then the variants."""

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


def read_eval(root: Path) -> EvalReport | None:
    """The eval report of an artifacts directory, or None when absent or unreadable (it is only a cache)."""
    path = eval_path(root)
    if not path.is_file():
        return None
    try:
        report = EvalReport.model_validate_json(path.read_text(encoding="utf-8"))
    except (ValidationError, UnicodeDecodeError, ValueError):
        return None
    return report if report.schema_version == EVAL_SCHEMA else None


def write_eval(root: Path, variants: list[Variant], report: EvalReport) -> EvalReport:
    """Write `report`, keeping earlier records of variants not evaluated now when they were measured in the same
    context (data, threshold, device, reference) and their files are unchanged; anything else in the old file is
    dropped. Returns what was written."""
    previous = read_eval(root)
    if previous is not None and previous.context() == report.context():
        fresh = {r.variant for r in report.records}
        kept = [r for r in still_current(previous.records, variants) if not r.reference and r.variant not in fresh]
        order = {v.id: i for i, v in enumerate(variants)}
        merged = [report.records[0], *sorted(report.records[1:] + kept, key=lambda r: order.get(r.variant, len(order)))]
        report = report.model_copy(update={"records": merged})
    write_text_atomic(eval_path(root), json.dumps(report.model_dump(), ensure_ascii=False, indent=2) + "\n")
    return report
