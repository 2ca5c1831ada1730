"""`npuport report`: gather what was measured, draw the plot, write the page. Measures nothing itself: a benchmark
or an evaluation takes minutes on a large model and belongs to `npuport bench` / `npuport eval`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from npuport.core.devices import Device
from npuport.core.errors import InputError
from npuport.core.files import write_text_atomic
from npuport.core.reports.paths import PLOT_NAME, bench_devices, report_page, tradeoff_plot
from npuport.report.plot import Axes, plot_tradeoff
from npuport.report.render import html_page, markdown
from npuport.report.sources import Gathered, gather

FORMATS = ("md", "html")


@dataclass(frozen=True)
class ReportResult:
    gathered: Gathered
    axes: Axes
    page: Path
    plot: Path


def build_report(root: Path, fmt: str = "md", device: Device | None = None) -> ReportResult:
    """Write `reports/report.<fmt>` and `reports/tradeoff.png`. `device` picks whose speed and parity are shown
    (default: cpu when it was benchmarked, else the first benchmarked device, else cpu)."""
    if fmt not in FORMATS:
        raise InputError(f"--format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    root = Path(root)
    gathered = gather(root, str(device) if device else (bench_devices(root) or ["cpu"])[0])
    page, plot = report_page(root, fmt), tradeoff_plot(root)
    page.parent.mkdir(exist_ok=True)
    axes = plot_tradeoff(gathered, plot)
    text = markdown(gathered, axes, PLOT_NAME) if fmt == "md" else html_page(gathered, axes, plot.read_bytes())
    write_text_atomic(page, text)
    return ReportResult(gathered, axes, page, plot)
