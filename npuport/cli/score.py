"""Corpus scoring (score): every row of a .txt / .jsonl / .parquet file, on this machine or on Ray."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from npuport.cli import render
from npuport.cli.options import BatchSizeOpt, DeviceOpt, JsonOpt, Loadable, ThreadsOpt, VariantOpt, output_option
from npuport.cli.progress import ProgressBar
from npuport.core.devices import CPU


def score(
    package: Loadable,
    source: Annotated[Path, typer.Argument(metavar="INPUT", help='Texts: .txt one per line, .jsonl objects with "text" '
                                           '(and an optional "id"), or .parquet with a "text" column (and "id").')],
    output: Annotated[Path, output_option("Where the scored rows go: .jsonl or .parquet.")],
    engine: Annotated[str, typer.Option("--engine", help="local (this process) or ray (a Ray Data job).")] = "local",
    workers: Annotated[int, typer.Option("--workers", help="Ray actors, one Classifier each.")] = 2,
    variant: VariantOpt = None,
    device: DeviceOpt = CPU,
    batch_size: BatchSizeOpt = 16,
    threads: ThreadsOpt = None,
    shard_rows: Annotated[int, typer.Option("--shard-rows", help="Rows per shard file: the work a crash can lose.")] = 2000,
    ray_address: Annotated[str | None, typer.Option("--ray-address", help="The Ray cluster to run on (default: "
                                                   "RAY_ADDRESS, else a local Ray).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Score every row of INPUT into OUTPUT, keyed by row (and id); run it again to resume after a crash.

    Memory stays bounded: the input is read and written in shards (OUTPUT.parts/), merged into OUTPUT at the end."""
    from npuport.score import ScoreOptions, score_corpus

    options = ScoreOptions(variant, device, batch_size, shard_rows, engine, workers, threads, ray_address)
    with ProgressBar("scoring", quiet=as_json) as progress:
        result = score_corpus(package, source, output, options, progress)
    render.scored(result, as_json)
