"""Measuring commands: accuracy (eval), speed (bench), and the trade-off page that shows both (report)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from npuport.cli import render
from npuport.cli.options import (
    ArtifactsDir,
    ArtifactsDirs,
    BatchSizeOpt,
    DeviceOpt,
    JsonOpt,
    ShownDeviceOpt,
    SpinOpt,
    TextsOpt,
    ThreadsOpt,
    ThresholdOpt,
    VariantsOpt,
)
from npuport.cli.progress import ProgressBar
from npuport.core.devices import CPU


def eval_command(
    artifacts: ArtifactsDir,
    data: Annotated[Path | None, typer.Option(help='Labelled texts: .jsonl objects {"text": …, "labels": […]} '
                                                   "(default: the bundled corpus of the model's labels).")] = None,
    variants: VariantsOpt = None,
    device: DeviceOpt = CPU,
    threshold: ThresholdOpt = None,
    batch_size: BatchSizeOpt = 16,
    per_label: Annotated[bool, typer.Option("--per-label", help="Also print per-label precision/recall/F1 of the reference.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Accuracy, micro/macro F1 and per-label P/R/F1 of every variant beside the fp32 reference; writes reports/eval.json.

    The reference runs on the CPU."""
    from npuport.core.reports.paths import eval_path
    from npuport.evaluate.accuracy import evaluate
    from npuport.evaluate.summary import per_label_summary

    with ProgressBar("evaluating", quiet=as_json) as progress:
        report = evaluate(artifacts, data, variants or None, device, threshold, batch_size, progress=progress)
    render.evaluation(report, eval_path(artifacts), per_label_summary(report) if per_label else None, as_json)


def report(
    artifacts: ArtifactsDirs,
    fmt: Annotated[str, typer.Option("--format", help="md or html (the html page embeds the plot).")] = "md",
    device: ShownDeviceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """The trade-off page per model: size, latency, throughput, parity, F1 per variant, and reports/tradeoff.png.

    Reads what `npuport bench`, `npuport validate` and `npuport eval` recorded; measures nothing itself."""
    from npuport.report.build import build_report

    render.reports([build_report(root, fmt, device) for root in artifacts], as_json)


def bench(
    artifacts: ArtifactsDir,
    device: DeviceOpt = CPU,
    variants: VariantsOpt = None,
    batch_sizes: Annotated[str, typer.Option("--batch-sizes", help="Comma list of batch sizes.")] = "1,16",
    texts: TextsOpt = None,
    threads: ThreadsOpt = None,
    spin: SpinOpt = False,
    source: Annotated[Path | None, typer.Option(help="Model dir for the baseline (default: the manifest's source).")] = None,
    repeat: Annotated[int, typer.Option(help="Timed passes over the texts per variant and batch size.")] = 1,
    warmup: Annotated[int, typer.Option(help="Untimed calls before each pass.")] = 2,
    max_batches: Annotated[int | None, typer.Option("--max-batches", help="At most this many calls per pass.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Latency, throughput, first-call cost and memory per variant, as ratios to hand-written transformers code.

    The baseline runs on the same device; the default texts are the bundled corpus."""
    from npuport.bench.benchmark import BenchOptions, bench_artifacts, parse_batch_sizes

    options = BenchOptions(device=device, variants=variants or (), batch_sizes=parse_batch_sizes(batch_sizes),
                           texts_file=texts, threads=threads, source=source, repeat=repeat, warmup=warmup,
                           max_batches=max_batches)
    with ProgressBar("measuring", quiet=as_json) as progress:
        run = bench_artifacts(artifacts, options, progress=progress)
    render.benchmarked(run, as_json)
