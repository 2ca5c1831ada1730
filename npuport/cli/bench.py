"""`npuport bench`: speed and memory per variant, as ratios to hand-written transformers code."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from npuport.cli import render
from npuport.cli.options import ArtifactsDir, DeviceOpt, JsonOpt, SpinOpt, TextsOpt, ThreadsOpt, VariantsOpt
from npuport.cli.progress import ProgressBar
from npuport.core.devices import CPU


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
