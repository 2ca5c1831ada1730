"""`npuport inspect`: what npuport reads from a model directory, before converting it."""

from __future__ import annotations

from npuport.cli import render
from npuport.cli.options import JsonOpt, ModelDir


def inspect(model_dir: ModelDir, as_json: JsonOpt = False) -> None:
    """Architecture, labels, problem type, parameters, tokenizer and max length of a model directory."""
    from npuport.model.source import load_source

    render.source_info(model_dir, load_source(model_dir), as_json)
