"""`npuport predict`: classify texts with a converted variant."""

from __future__ import annotations

from typing import Annotated

import typer

from npuport.cli import render
from npuport.cli.options import (
    BatchSizeOpt,
    DeviceOpt,
    JsonOpt,
    Loadable,
    OmOpt,
    SpinOpt,
    TextsOrFileOpt,
    ThreadsOpt,
    ThresholdOpt,
    VariantOpt,
)
from npuport.cli.progress import ProgressBar
from npuport.core.devices import CPU


def predict(
    artifacts: Loadable,
    text: Annotated[list[str] | None, typer.Option("--text", "-t", help="A text to classify; repeatable.")] = None,
    texts: TextsOrFileOpt = None,
    variant: VariantOpt = None,
    device: DeviceOpt = CPU,
    om: OmOpt = None,
    threshold: ThresholdOpt = None,
    top_k: Annotated[int | None, typer.Option("--top-k", help="List only the k most probable labels per text.")] = None,
    batch_size: BatchSizeOpt = 16,
    threads: ThreadsOpt = None,
    spin: SpinOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Classify texts with a converted variant on cpu, cuda or npu: labels over threshold and every score.

    With --json: one JSON object per text per line."""
    from npuport.core.texts import gather_texts
    from npuport.runtime import load

    chosen = gather_texts(text, texts)
    with load(artifacts, variant, device, threads, om) as classifier, ProgressBar("classifying", quiet=texts is None) as progress:
        predictions = classifier.predict(chosen, threshold, top_k, batch_size, progress=progress)
    render.predictions(classifier.describe(), classifier.max_length, predictions, as_json)
