"""`npuport zoo build|list`: the offline stand-in models the demo and the tests stand on."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from npuport.cli import render
from npuport.cli.options import JsonOpt
from npuport.cli.progress import ProgressBar
from npuport.core.progress import step, total


def build(
    name: Annotated[str, typer.Argument(help="A zoo model name, or 'all'.")],
    root: Annotated[Path, typer.Option(help="Where zoo models are built (and cached).")] = Path("artifacts/zoo"),
    force: Annotated[bool, typer.Option("--force", help="Rebuild even when cached.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Build offline stand-ins (cached, deterministic) and show how decisive each is."""
    from npuport import zoo

    names = list(zoo.ZOO) if name == "all" else [name]
    rows = []
    with ProgressBar("building", quiet=as_json) as progress:
        progress(total(len(names)))
        for model_name in names:
            with step(progress, model_name):
                path, built = zoo.build(model_name, root, force)
                rows.append({"name": model_name, "path": str(path), "built": built, "weights": zoo.ZOO[model_name].weights}
                            | zoo.build_record(path))
    render.zoo_built(rows, as_json)


def models() -> None:
    """The zoo's models and their architectures."""
    from npuport import zoo

    render.zoo_models(list(zoo.ZOO.values()))
