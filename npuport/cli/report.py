"""`npuport report`: the trade-off page of what bench, validate and eval recorded."""

from __future__ import annotations

from typing import Annotated

import typer

from npuport.cli import render
from npuport.cli.options import ArtifactsDirs, JsonOpt, ShownDeviceOpt


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
