"""`npuport buckets plan`: shape buckets chosen from the token lengths of the user's own texts."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from npuport.cli import render
from npuport.cli.options import TEXTS_HELP, JsonOpt


def plan(
    source: Annotated[Path, typer.Argument(metavar="MODEL_OR_ARTIFACTS", help="A model directory, or artifacts written "
                                           "by `npuport convert` (their saved tokenizer).")],
    texts: Annotated[Path, typer.Option("--texts", help="Your traffic. " + TEXTS_HELP)],
    max_buckets: Annotated[int, typer.Option("--max-buckets", "--max-gears", help="At most this many BATCHxSEQ buckets (--max-gears: its old name).")] = 4,
    max_truncated: Annotated[float, typer.Option("--max-truncated", help="Largest share of texts the longest bucket "
                                                 "may cut (0.0-1.0; texts over the model's max length are cut anyway).")] = 0.0,
    batch_sizes: Annotated[str, typer.Option("--batch-sizes", help="Comma list: the smallest at every planned sequence, "
                                             "the others at the longest.")] = "1,16",
    as_json: JsonOpt = False,
) -> None:
    """Choose buckets that pad your texts least, and show padding and truncation before (defaults) and after."""
    from npuport.bench.benchmark import parse_batch_sizes
    from npuport.model.traffic import plan_from_texts

    render.bucket_plan(plan_from_texts(source, texts, max_buckets, max_truncated, parse_batch_sizes(batch_sizes)), as_json)
