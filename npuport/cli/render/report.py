"""What report prints: each model's trade-off table."""

from __future__ import annotations

from typing import TYPE_CHECKING

from npuport.cli.render.base import emit_json, line, new_table, out

if TYPE_CHECKING:
    from npuport.report.build import ReportResult


def reports(results: list[ReportResult], as_json: bool) -> None:
    """The trade-off table of each report, computed once for the JSON or the rich table."""
    from npuport.report.render import missing, pick_line, tradeoff_table

    tables = [tradeoff_table(result.gathered) for result in results]
    if as_json:
        return emit_json([{"artifacts": str(r.gathered.root), "page": str(r.page), "plot": str(r.plot),
                           "device": r.gathered.device, "notes": r.gathered.notes,
                           "table": [dict(zip(data.headers, row)) for row in data.rows]}
                          for r, data in zip(results, tables)])
    for result, data in zip(results, tables):
        table = new_table(f"{result.gathered.root} — trade-off on {result.gathered.device}", data.headers,
                       right=data.headers[1:], no_wrap=data.headers[:1])
        for row in data.rows:
            table.add_row(*row)
        out.print(table)
        for note in filter(None, [pick_line(result.gathered), *missing(result.gathered), *result.gathered.notes]):
            line(note)
        line(f"written: {result.page}, {result.plot}")
