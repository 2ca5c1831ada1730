"""The trade-off plot: task quality (or parity) against throughput, marker area = bytes shipped, every point labelled.

matplotlib (Agg backend, no display) is the optional `report` extra; it is imported here only.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from npuport.errors import BackendUnavailableError
from npuport.fsutil import atomic_path
from npuport.report.sources import Gathered, Row

COLOURS = {"fp32": "#1f77b4", "fp16": "#ff7f0e", "bf16": "#2ca02c", "int8": "#d62728"}
MARKERS = {"onnx": "o", "torchscript": "s"}
# Label offsets in points beyond the marker's edge, tried in order until a label overlaps none already placed.
OFFSETS = [(1, 0), (1, -1), (-1, 0), (-1, -1), (1, 1), (1, -2), (-1, 1), (-1, -2), (1, 2), (1, -3)]
LINE = 11  # points per label line


@dataclass(frozen=True)
class Axes:
    x: str  # "throughput" | "size"
    y: str  # "micro_f1" | "export_error"
    batch_size: int | None


def choose_axes(gathered: Gathered) -> Axes:
    """Throughput at the largest benchmarked batch size when there is any, else size; micro F1 when evaluated,
    else the export check's max |Δp| (always recorded by convert)."""
    sizes = sorted({b for row in gathered.rows for b in row.speed})
    y = "micro_f1" if any(row.micro_f1 is not None for row in gathered.rows) else "export_error"
    return Axes("throughput" if sizes else "size", y, sizes[-1] if sizes else None)


def _x(row: Row, axes: Axes) -> float | None:
    if axes.x == "size":
        return row.load_bytes / 1e6
    speed = row.speed.get(axes.batch_size) if axes.batch_size is not None else None
    return speed.throughput if speed else None


def _y(row: Row, axes: Axes) -> float | None:
    return row.micro_f1 if axes.y == "micro_f1" else row.variant.export_check.max_abs_prob_error


def _pyplot():  # type: ignore[no-untyped-def]
    try:
        import matplotlib
    except ImportError:
        raise BackendUnavailableError("the report plot needs matplotlib: pip install 'npuport[report]'") from None
    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def plot_tradeoff(gathered: Gathered, path: Path) -> Axes:
    """Write the PNG to `path` (atomically); return which axes it shows."""
    plt = _pyplot()
    axes = choose_axes(gathered)
    name = Path(gathered.manifest.source.path).name or gathered.root.name
    figure, ax = plt.subplots(figsize=(10, 6.5), dpi=110)
    placed = [(row, _x(row, axes), _y(row, axes)) for row in gathered.rows]
    shown = [(row, x, y) for row, x, y in placed if x is not None and y is not None and (axes.y != "export_error" or y > 0)]
    biggest = max((row.load_bytes for row, _, _ in shown), default=1) or 1
    area = {row.variant.id: 60 + 900 * row.load_bytes / biggest for row, _, _ in shown}
    for row, x, y in shown:
        v = row.variant
        ax.scatter([x], [y], s=area[v.id], c=COLOURS.get(v.precision, "#7f7f7f"),
                   marker=MARKERS.get(v.format, "o"), alpha=0.55, edgecolors="black", linewidths=0.8, zorder=3)
    _label_points(figure, ax, [(row.variant.id, x, y, area[row.variant.id] ** 0.5 / 2) for row, x, y in shown], axes)

    if axes.x == "throughput":
        ax.set_xscale("log")
        ax.set_xlabel(f"throughput, texts/s (batch {axes.batch_size}, {gathered.device}) — right is faster")
        baseline = gathered.baseline.get(axes.batch_size) if axes.batch_size is not None else None
        if baseline is not None:
            ax.axvline(baseline.throughput, color="grey", linestyle="--", linewidth=1)
            ax.annotate(f"eager fp32 baseline\n{baseline.throughput:,.0f}/s", (baseline.throughput, 0.02),
                        xycoords=("data", "axes fraction"), xytext=(4, 0), textcoords="offset points", fontsize=8, color="grey")
    else:
        ax.set_xlabel("size of the files loaded, MB (no benchmark found: run `npuport bench`)")
    if axes.y == "micro_f1":
        ax.set_ylabel("micro F1 on the labelled texts — up is better")
        reference = gathered.evaluation.records[0] if gathered.evaluation else None
        if reference is not None:
            ax.axhline(reference.micro_f1, color="grey", linestyle=":", linewidth=1)
            ax.annotate(f"reference {reference.variant}: {reference.micro_f1:.3f}", (0.01, reference.micro_f1),
                        xycoords=("axes fraction", "data"), xytext=(0, 3), textcoords="offset points", fontsize=8, color="grey")
        _pad_limits(ax, [y for _, _, y in shown])
    else:
        ax.set_yscale("log")
        ax.set_ylabel("export check: max |Δprobability| vs eager fp32 — down is better")
    ax.grid(True, which="both", alpha=0.25)
    title = "micro F1" if axes.y == "micro_f1" else "parity"
    ax.set_title(f"{name}: {title} vs {'throughput' if axes.x == 'throughput' else 'size'} (marker area = bytes loaded)")
    _legend(ax, plt)
    missing = [row.variant.id for row, x, y in placed if x is None or y is None]
    if missing:
        why = "not benchmarked" if axes.x == "throughput" else "not evaluated"
        figure.text(0.01, 0.01, f"{why}, not shown: {', '.join(missing)}", fontsize=7, color="dimgrey", wrap=True)
    figure.tight_layout(rect=(0, 0.04 if missing else 0, 1, 1))
    with atomic_path(path) as tmp:
        figure.savefig(tmp, format="png")
    plt.close(figure)
    return axes


def _pad_limits(ax, values: list[float]) -> None:  # type: ignore[no-untyped-def]
    if not values:
        return
    low, high = min(values), max(values)
    span = max(high - low, 0.01)
    ax.set_ylim(low - 0.35 * span, min(1.0, high) + 0.25 * span)


def _legend(ax, plt) -> None:  # type: ignore[no-untyped-def]
    from matplotlib.lines import Line2D

    handles = [Line2D([], [], marker="o", linestyle="", color=colour, label=precision, markersize=8, alpha=0.7)
               for precision, colour in COLOURS.items()]
    handles += [Line2D([], [], marker=marker, linestyle="", color="black", fillstyle="none", label=fmt, markersize=8)
                for fmt, marker in MARKERS.items()]
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)


def _label_points(figure, ax, points: list[tuple[str, float, float, float]], axes: Axes) -> None:  # type: ignore[no-untyped-def]
    """Annotate each point (label, x, y, marker radius in points), trying the next offset while the label
    overlaps one already drawn."""
    if not points:
        return
    if axes.x == "throughput":
        ax.set_xscale("log")
    if axes.y == "export_error":
        ax.set_yscale("log")
    xs, ys = [p[1] for p in points], [p[2] for p in points]
    ax.set_xlim(min(xs) / 1.6, max(xs) * 1.6) if axes.x == "throughput" else ax.set_xlim(0, max(xs) * 1.25)
    if axes.y == "micro_f1":
        _pad_limits(ax, ys)
    renderer = figure.canvas.get_renderer()
    boxes = []
    for label, x, y, radius in sorted(points, key=lambda p: (-p[2], p[1])):
        for side, line in OFFSETS:
            leader = {"arrowprops": {"arrowstyle": "-", "color": "grey", "linewidth": 0.6}} if line else {}
            text = ax.annotate(label, (x, y), xytext=(side * (radius + 3), line * LINE - 3), textcoords="offset points",
                               fontsize=7.5, ha="left" if side > 0 else "right", zorder=4, **leader)
            box = text.get_window_extent(renderer)
            if not any(box.overlaps(other) for other in boxes):
                break
            text.remove()
        else:  # every offset overlaps: keep the first
            text = ax.annotate(label, (x, y), xytext=(radius + 3, -3), textcoords="offset points", fontsize=7.5, zorder=4)
            box = text.get_window_extent(renderer)
        boxes.append(box)
