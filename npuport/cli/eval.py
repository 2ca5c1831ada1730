"""`npuport eval`: accuracy and F1 of every variant beside the fp32 reference."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from npuport.cli import render
from npuport.cli.options import ArtifactsDir, BatchSizeOpt, DeviceOpt, JsonOpt, ThresholdOpt, VariantsOpt
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
