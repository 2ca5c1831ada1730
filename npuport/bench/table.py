"""The bench report as a rich table: one row per variant and batch size, ratios to the baseline beside it."""

from __future__ import annotations

import statistics
from typing import Any

from rich.table import Table

from npuport.bench.baseline import NAME

COLUMNS = ("variant", "batch", "p50 ms", "p90 ms", "p99 ms", "texts/s", "× base texts/s", "× base p50",
           "load s", "1st call ms", "peak MiB", "size MB", "parity")


def _parity(verdict: dict[str, Any] | None) -> str:
    if verdict is None:
        return "not validated"
    return f"{'passed' if verdict['passed'] else 'FAILED'} ({verdict['profile']})"


def bench_table(document: dict[str, Any], records: list[dict[str, Any]] | None = None) -> Table:
    """`records` (default: all in the document), grouped by batch size, each group led by the baseline's row."""
    records = document["records"] if records is None else records
    host = document["host"]
    title = f"{document['artifacts']} — {document['model']} on {document['device']}, {host['threads']} threads"
    load = ", ".join(f"{x:.2f}" for x in host["loadavg_start"])
    caption = (f"{document['texts']['count']} texts from {document['texts']['source']}, end to end (tokenization "
               f"included); ratios against the {NAME} baseline run beside each variant on the same batches; load "
               f"average at start {load}; memory: {records[0]['memory']['method'] if records else '-'} of each load")
    table = Table(title=title, caption=caption, caption_justify="left")
    for column in COLUMNS:
        table.add_column(column, justify="left" if column in ("variant", "parity") else "right",
                         no_wrap=column == "variant")
    baseline = document["baseline"]
    for size in sorted({r["batch_size"] for r in records}):
        group = [r for r in records if r["batch_size"] == size]
        p50 = [r["baseline"]["latency"] for r in group]
        table.add_row(
            f"{NAME} ({baseline['attn_implementation']})", str(size),
            f"{statistics.median(x['p50_ms'] for x in p50):.2f}", f"{statistics.median(x['p90_ms'] for x in p50):.2f}",
            f"{statistics.median(x['p99_ms'] for x in p50):.2f}",
            f"{statistics.median(r['baseline']['throughput'] for r in group):.1f}", "1.00", "1.00",
            f"{baseline['first_call']['load_s']:.2f}", f"{baseline['first_call']['first_predict_s'] * 1e3:.1f}",
            f"{baseline['memory']['mib']:.0f}", "", "reference", style="dim",
        )
        for r in group:
            latency, first = r["latency"], r["first_call"]
            table.add_row(
                r["variant"], str(size), f"{latency['p50_ms']:.2f}", f"{latency['p90_ms']:.2f}",
                f"{latency['p99_ms']:.2f}", f"{r['throughput']:.1f}", f"{r['speedup']['throughput']:.2f}",
                f"{r['speedup']['p50']:.2f}", f"{first['load_s']:.2f}",
                f"{first['first_predict_s'] * 1e3:.1f}", f"{r['memory']['mib']:.0f}", f"{r['bytes'] / 1e6:.1f}",
                _parity(r["parity"]),
            )
        table.add_section()
    return table
