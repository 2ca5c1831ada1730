"""The parity table validate and verify both print, one row per variant, then each failure."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from npuport.cli.render.base import line, new_table, out

if TYPE_CHECKING:
    from npuport.package.verify import VerifyResult
    from npuport.validate.gate import ValidationRun


_SHORT = {"cosine mean": "cos mean", "MAE": "MAE", "max abs error": "max |Δp|", "error rate": "err rate",
          "top-1 untied": "top-1*", "top-k untied": "top-k*", "flips real/borderline": "flips r/b"}


def parity_table(run: ValidationRun | VerifyResult, where: Path) -> None:
    """Seed 001's parity table, one row per variant (the Markdown report has every column), then each failure."""
    from npuport.validate.parity_report import COLUMNS, cell

    columns = [(short, key, style) for name, key, style in COLUMNS if (short := _SHORT.get(name))]
    table = new_table(f"parity on {run.device} — {where}", ["variant", "verdict", *(c[0] for c in columns)],
                   right=[c[0] for c in columns], no_wrap=True)
    for result in run.results:
        entry = result.as_dict()
        table.add_row(result.variant, "PASS" if result.passed else "[bold red]FAIL[/]",
                      *(cell(entry, key, style) for _, key, style in columns))
    out.print(table)
    for result in run.results:
        for failure in result.failures:
            line(f"FAIL {result.variant}: {failure}")
