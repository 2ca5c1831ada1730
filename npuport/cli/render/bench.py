"""What bench prints: latency, throughput and memory per variant beside the baseline."""

from __future__ import annotations

import statistics
from typing import TYPE_CHECKING

from rich.table import Table

from npuport.cli.render.base import emit_json, line, new_table, out

if TYPE_CHECKING:
    from npuport.bench.benchmark import BenchRun
    from npuport.core.manifest import Parity
    from npuport.core.reports.bench import BenchDocument, BenchRecord


BENCH_COLUMNS = ("variant", "batch", "p50 ms", "p90 ms", "p99 ms", "texts/s", "× base texts/s", "× base p50",
                 "engine texts/s", "× base engine", "load s", "1st call ms", "peak MiB", "size MB", "parity")


def benchmarked(run: BenchRun, as_json: bool) -> None:
    if as_json:
        return emit_json(run.document.model_copy(update={"records": run.records}).model_dump(by_alias=True))
    out.print(bench_table(run.document, run.records))
    line(f"written to {run.path}")


def _bench_parity(parity: Parity) -> str:
    """`Manifest.parity`'s verdict word, with the profile it was reached under."""
    return parity.verdict + (f" ({parity.profile})" if parity.profile else "")


def _engine_cells(record: BenchRecord) -> tuple[str, str]:
    """Engine-only texts/s and its ratio, flagged when slower than the baseline."""
    ratio = record.engine_ratio
    return f"{record.engine_throughput:.1f}", f"{ratio:.2f}" + (" SLOWER" if ratio < 1 else "")


def bench_table(document: BenchDocument, records: list[BenchRecord] | None = None) -> Table:
    """`records` (default: all in the document), grouped by batch size, each group led by the baseline's row."""
    records = document.records if records is None else records
    host, baseline = document.host, document.baseline
    load = ", ".join(f"{x:.2f}" for x in host["loadavg_start"])
    caption = (f"{document.texts['count']} texts from {document.texts['source']}, end to end (tokenization "
               "included, npuport grouping texts by length) and engine-only (the baseline's padded token batches, no "
               f"tokenizer); ratios against the {baseline['name']} baseline run beside each variant on the same batches "
               "in the same run; SLOWER: engine-only below the baseline; "
               f"load average at start {load}; memory: {records[0].memory.method if records else '-'} of each load")
    table = new_table(f"{document.artifacts} — {document.model} on {document.device}, {host['threads']} threads",
                   BENCH_COLUMNS, right=BENCH_COLUMNS[1:-1], no_wrap=("variant",), caption=caption, caption_justify="left")
    for size in sorted({r.batch_size for r in records}):
        group = [r for r in records if r.batch_size == size]
        latency = [r.baseline.latency for r in group]
        table.add_row(
            f"{baseline['name']} ({baseline['attn_implementation']})", str(size),
            f"{statistics.median(x.p50_ms for x in latency):.2f}", f"{statistics.median(x.p90_ms for x in latency):.2f}",
            f"{statistics.median(x.p99_ms for x in latency):.2f}",
            f"{statistics.median(r.baseline.throughput for r in group):.1f}", "1.00", "1.00",
            f"{statistics.median(r.engine_only.baseline.throughput for r in group):.1f}", "1.00",
            f"{baseline['first_call']['load_s']:.2f}", f"{baseline['first_call']['first_predict_s'] * 1e3:.1f}",
            f"{baseline['memory']['mib']:.0f}", "", "reference", style="dim",
        )
        for r in group:
            table.add_row(
                r.variant, str(size), f"{r.latency.p50_ms:.2f}", f"{r.latency.p90_ms:.2f}",
                f"{r.latency.p99_ms:.2f}", f"{r.throughput:.1f}", f"{r.speedup['throughput']:.2f}",
                f"{r.speedup['p50']:.2f}", *_engine_cells(r), f"{r.first_call.load_s:.2f}",
                f"{r.first_call.first_predict_s * 1e3:.1f}", f"{r.memory.mib:.0f}", f"{r.bytes / 1e6:.1f}",
                _bench_parity(r.parity),
            )
        table.add_section()
    return table
