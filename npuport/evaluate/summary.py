"""Analysis of an eval report beyond its records: per label, the reference beside the weakest variant."""

from __future__ import annotations

from dataclasses import dataclass

from npuport.core.reports.evaluation import EvalReport


@dataclass(frozen=True)
class LabelSummary:
    """One label: the reference's scores, and the lowest F1 any other variant reached on it."""

    label: str
    support: int
    predicted: int
    precision: float
    recall: float
    f1: float | None  # the reference's; None: the label is neither in the gold data nor predicted
    lowest_f1: float | None  # over the other variants; None: no variant has a defined F1 for the label
    lowest_in: list[str]  # the variants at lowest_f1 when it is below the reference's F1; empty otherwise


def per_label_summary(report: EvalReport) -> list[LabelSummary]:
    """Per label of the reference (the report's first record), the lowest F1 over the other records."""
    reference, others = report.records[0], report.records[1:]
    rows = []
    for j, row in enumerate(reference.per_label):
        scores = {r.variant: r.per_label[j]["f1"] for r in others if r.per_label[j]["f1"] is not None}
        low = min(scores.values(), default=None)
        below = low is not None and (row["f1"] is None or low < row["f1"])
        rows.append(LabelSummary(row["label"], row["support"], row["predicted"], row["precision"], row["recall"], row["f1"],
                                 low, [name for name, f1 in scores.items() if f1 == low] if below else []))
    return rows
