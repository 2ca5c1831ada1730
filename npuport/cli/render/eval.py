"""What eval prints: accuracy and F1 per variant, and per label."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from rich.table import Table

from npuport.cli.render.base import emit_json, line, new_table, out, signed

if TYPE_CHECKING:
    from npuport.core.reports.evaluation import EvalReport
    from npuport.evaluate.summary import LabelSummary


def evaluation(report: EvalReport, written: Path, per_label: list[LabelSummary] | None, as_json: bool) -> None:
    if as_json:
        return emit_json(report.model_dump())
    out.print(_eval_table(report))
    if per_label is not None:
        out.print(_per_label_table(report, per_label))
    line(f"written to {written}")


def _eval_table(report: EvalReport) -> Table:
    table = new_table(f"{report.artifacts} — {report.data['texts']} labelled texts, {report.data['source']}, "
                   f"threshold {report.threshold}",
                   ("variant", "device", "accuracy", "Δ", "micro F1", "Δ", "macro F1", "Δ", "changed"),
                   right=("device", "accuracy", "Δ", "micro F1", "macro F1", "changed"), no_wrap=("variant",),
                   caption=f"reference: {report.reference['why']}\naccuracy = {report.accuracy_definition}; "
                           "Δ = variant - reference; changed = texts whose predicted label set differs from the reference's",
                   caption_justify="left")
    for r in report.records:
        delta = r.delta or {}
        table.add_row(r.variant + (" (reference)" if r.reference else ""), r.device, f"{r.accuracy:.4f}", signed(delta.get("accuracy")),
                      f"{r.micro_f1:.4f}", signed(delta.get("micro_f1")),
                      "n/a" if r.macro_f1 is None else f"{r.macro_f1:.4f}", signed(delta.get("macro_f1")),
                      "" if r.changed is None else f"{r.changed}/{report.data['texts']}", style="bold" if r.reference else None)
    return table


def _per_label_table(report: EvalReport, rows: list[LabelSummary]) -> Table:
    table = new_table(f"per label, reference {report.records[0].variant}; lowest F1 over the {len(report.records) - 1} variants",
                   ("label", "support", "predicted", "precision", "recall", "F1", "lowest F1", "in variant"),
                   right=("support", "predicted", "precision", "recall", "F1", "lowest F1"))
    for row in rows:
        worst = row.lowest_in
        where = (worst[0] + (f" (+{len(worst) - 1})" if len(worst) > 1 else "")) if worst else "—"
        table.add_row(row.label, str(row.support), str(row.predicted), f"{row.precision:.3f}", f"{row.recall:.3f}",
                      "n/a" if row.f1 is None else f"{row.f1:.3f}", "" if row.lowest_f1 is None else f"{row.lowest_f1:.3f}",
                      "" if row.lowest_f1 is None else where)
    return table
