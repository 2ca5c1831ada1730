"""The report page in Markdown or HTML, and the trade-off table shared with the CLI."""

from __future__ import annotations

import base64
import html
from dataclasses import dataclass
from pathlib import Path

from npuport import __version__
from npuport.core.clock import utc_now
from npuport.core.reports.paths import EVAL_FILE, REPORTS_DIR
from npuport.core.sizes import megabytes
from npuport.report.plot import Axes
from npuport.report.sources import Gathered, Row, Speed


@dataclass(frozen=True)
class Table:
    headers: list[str]
    rows: list[list[str]]


NOT_MEASURED = "—"


def _size(row: Row) -> str:
    return megabytes(row.owned_bytes) if row.owned_bytes else "shared"


def latency_batch(gathered: Gathered) -> int | None:
    sizes = sorted({b for row in gathered.rows for b in row.speed})
    return sizes[0] if sizes else None


def throughput_batch(gathered: Gathered) -> int | None:
    sizes = sorted({b for row in gathered.rows for b in row.speed})
    return sizes[-1] if sizes else None


def tradeoff_table(gathered: Gathered) -> Table:
    small, large = latency_batch(gathered), throughput_batch(gathered)
    headers = ["variant", "size",
               f"p50 ms (batch {small})" if small else "p50 ms",
               f"texts/s (batch {large})" if large else "texts/s",
               "× eager engine", "× eager e2e", f"parity ({gathered.device})", "accuracy", "micro F1", "Δ micro F1"]
    rows = []
    for row in gathered.rows:
        latency = row.speed.get(small) if small else None
        speed = row.speed.get(large) if large else None
        bench = NOT_MEASURED
        rows.append([
            row.variant.id, _size(row),
            f"{latency.p50_ms:.2f}" if latency and latency.p50_ms is not None else bench if not row.speed else "",
            f"{speed.throughput:,.1f}" if speed else bench if not row.speed else "",
            _engine_ratio(speed),
            f"{speed.ratio:.2f}×" if speed and speed.ratio is not None else "",
            row.parity,
            NOT_MEASURED if row.accuracy is None else f"{row.accuracy:.4f}",
            "" if row.micro_f1 is None else f"{row.micro_f1:.4f}",
            "" if row.delta_micro_f1 is None else f"{row.delta_micro_f1:+.4f}",
        ])
    return Table(headers, rows)


def _engine_ratio(speed: Speed | None) -> str:
    """Engine-only × eager (what ranks variants), flagged where it is slower than eager fp32; "" before issue 23."""
    if speed is None or speed.engine_ratio is None:
        return ""
    return f"{speed.engine_ratio:.2f}×" + (" SLOWER than eager" if speed.engine_ratio < 1 else "")


def missing(gathered: Gathered) -> list[str]:
    """What the "—" marks stand for, and the command that fills them in."""
    lines = []
    if any(not row.speed for row in gathered.rows):
        lines.append(f"{NOT_MEASURED} in speed columns: not benchmarked on {gathered.device} "
                     f"(`npuport bench {gathered.root} --device {gathered.device}`)")
    if any(row.accuracy is None for row in gathered.rows):
        lines.append(f"{NOT_MEASURED} accuracy: not evaluated (`npuport eval {gathered.root}`)")
    if any(row.parity_passed is None for row in gathered.rows):
        lines.append(f"not validated: no validation on {gathered.device} for the current files "
                     f"(`npuport validate {gathered.root} --device {gathered.device}`)")
    return lines


def _facts(gathered: Gathered) -> list[str]:
    source = gathered.manifest.source
    facts = [f"model: {source.architecture} ({source.model_type}), {source.parameters / 1e6:.1f}M parameters, "
             f"{source.num_labels} labels, {source.problem_type} ({source.activation}, threshold {source.threshold:g})",
             f"artifacts: {gathered.root}, {len(gathered.rows)} variants"]
    if gathered.bench_file:
        facts.append(f"speed: {REPORTS_DIR}/{gathered.bench_file} (`npuport bench`); p50 at the smallest batch size, throughput "
                     "at the largest, and its ratios to the eager fp32 baseline timed beside it in the same run: "
                     "engine-only (the same padded token batches, no tokenizer; what variants are ranked by) and end "
                     "to end (texts in, predictions out; includes the padding npuport's length grouping avoids)")
    if gathered.evaluation is not None:
        e = gathered.evaluation
        facts.append(f"accuracy / F1: {EVAL_FILE} (`npuport eval`) on {e.data['texts']} texts of {e.data['source']}, "
                     f"threshold {e.threshold}; reference {e.reference['variant']} ({e.reference['why']}); "
                     f"accuracy = {e.accuracy_definition}. If the model was fitted on these texts (the zoo stand-ins "
                     "are), absolute scores are in-sample: read the Δ column")
    facts.append("parity: the latest `npuport validate` verdict for the variant's current files on this device; size: "
                 "bytes of the files the variant is first to list, \"shared\" when it reuses another variant's file")
    return facts + missing(gathered)


def pick_line(gathered: Gathered) -> str | None:
    """The fastest variant that passed validation at the throughput batch size, if any."""
    large = throughput_batch(gathered)
    passed = [r for r in gathered.rows if r.parity_passed and large in r.speed]
    if not passed or large is None:
        return None
    best = max(passed, key=lambda r: r.speed[large].engine_throughput or r.speed[large].throughput)
    speed = best.speed[large]
    engine = f"{speed.engine_ratio:.2f}× engine-only, " if speed.engine_ratio is not None else ""
    ratio = f", {engine}{speed.ratio:.2f}× end to end against the eager baseline" if speed.ratio is not None else ""
    f1 = f", micro F1 {best.micro_f1:.4f}" if best.micro_f1 is not None else ""
    return (f"fastest validated variant on {gathered.device} at batch {large} (engine-only): {best.variant.id} "
            f"({speed.throughput:,.1f} texts/s end to end{ratio}{f1})")


def _plot_caption(axes: Axes) -> str:
    x = f"throughput at batch {axes.batch_size}" if axes.x == "throughput" else "size (no benchmark found)"
    y = "micro F1" if axes.y == "micro_f1" else "export-check max |Δp| (not evaluated)"
    return f"{y} against {x}; marker area = bytes loaded, colour = precision, square = TorchScript, circle = ONNX"


def markdown(gathered: Gathered, axes: Axes, plot_name: str) -> str:
    table = tradeoff_table(gathered)
    name = Path(gathered.manifest.source.path).name
    lines = [f"# {name}: accuracy / speed / size trade-off", "",
             f"npuport {__version__}, {utc_now()}", ""]
    lines += [f"- {fact}" for fact in _facts(gathered)]
    pick = pick_line(gathered)
    if pick:
        lines += ["", f"**{pick}**"]
    lines += ["", f"![trade-off plot]({plot_name})", "", f"*{_plot_caption(axes)}*", ""]
    escape = lambda cell: cell.replace("|", "\\|")  # noqa: E731
    lines.append("| " + " | ".join(table.headers) + " |")
    lines.append("|" + "|".join("---" if i == 0 else "---:" for i in range(len(table.headers))) + "|")
    lines += ["| " + " | ".join(escape(c) for c in row) + " |" for row in table.rows]
    if gathered.notes:
        lines += ["", "Ignored records:", ""] + [f"- {note}" for note in gathered.notes]
    return "\n".join(lines) + "\n"


def html_page(gathered: Gathered, axes: Axes, png: bytes) -> str:
    """A self-contained page: the plot is embedded, so the file can be mailed or opened from a package."""
    table = tradeoff_table(gathered)
    name = html.escape(Path(gathered.manifest.source.path).name)
    e = html.escape
    head = "".join(f"<th>{e(h)}</th>" for h in table.headers)
    body = "".join("<tr>" + "".join(f"<td>{e(c)}</td>" for c in row) + "</tr>" for row in table.rows)
    facts = "".join(f"<li>{e(f)}</li>" for f in _facts(gathered))
    notes = "".join(f"<li>{e(n)}</li>" for n in gathered.notes)
    pick = pick_line(gathered)
    image = base64.b64encode(png).decode("ascii")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{name}: trade-off</title>
<style>body{{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;color:#222}}
table{{border-collapse:collapse;font-size:14px}}td,th{{border:1px solid #ccc;padding:4px 8px}}
td:not(:first-child),th:not(:first-child){{text-align:right}}th{{background:#f3f3f3}}img{{max-width:100%}}</style>
</head><body>
<h1>{name}: accuracy / speed / size trade-off</h1>
<p>npuport {e(__version__)}, {e(utc_now())}</p>
<ul>{facts}</ul>
{f"<p><strong>{e(pick)}</strong></p>" if pick else ""}
<figure><img alt="trade-off plot" src="data:image/png;base64,{image}"><figcaption>{e(_plot_caption(axes))}</figcaption></figure>
<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>
{f"<p>Ignored records:</p><ul>{notes}</ul>" if notes else ""}
</body></html>
"""
