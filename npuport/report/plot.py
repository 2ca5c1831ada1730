"""The trade-off plot: task quality (or parity) against throughput, marker area = bytes loaded, every point labelled.

matplotlib (Agg backend, no display) is the optional `report` extra; it is imported here only.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from npuport.core.errors import BackendUnavailableError
from npuport.core.files import atomic_path
from npuport.core.manifest import Variant
from npuport.report.sources import Gathered, Row

COLOURS = {"fp32": "#1f77b4", "fp16": "#ff7f0e", "bf16": "#2ca02c", "int8": "#d62728"}
OTHER = "#7f7f7f"
MARKERS = {"onnx": "o", "torchscript": "s", "torchexport": "^"}
# Label positions beside a marker, (side, line): side ±1 = right/left of its edge, line = label heights up (+)
# or down (-); tried in order until the label overlaps no marker and no label already placed.
OFFSETS = [(1, 0), (-1, 0), (1, 1), (1, -1), (-1, 1), (-1, -1), (1, 2), (1, -2), (-1, 2), (-1, -2), (1, 3), (1, -3)]
LINE = 11  # points per label line
FONT = 7.5


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
    if axes.y == "micro_f1":
        return row.micro_f1
    error = row.variant.export_check.max_abs_prob_error
    return error if error > 0 else None  # a log axis cannot show an exact 0


def _pyplot() -> Any:
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
    figure, axes = draw_tradeoff(gathered)
    with atomic_path(path) as tmp:
        figure.savefig(tmp, format="png")
    plt.close(figure)
    return axes


def draw_tradeoff(gathered: Gathered) -> tuple[Any, Axes]:
    """The figure and its axes: every variant that has both coordinates, the reference lines inside the frame, and a
    legend naming only what is drawn (the precisions and formats of the points shown, and each line)."""
    from matplotlib.lines import Line2D
    from matplotlib.ticker import LogFormatter

    plt = _pyplot()
    axes = choose_axes(gathered)
    name = Path(gathered.manifest.source.path).name or gathered.root.name
    figure, ax = plt.subplots(figsize=(10, 6.5), dpi=110)
    points = [(row, _x(row, axes), _y(row, axes)) for row in gathered.rows]
    shown = [(row, x, y) for row, x, y in points if x is not None and y is not None]
    biggest = max((row.load_bytes for row, _, _ in shown), default=1) or 1
    area = {row.variant.id: 60 + 900 * row.load_bytes / biggest for row, _, _ in shown}
    for row, x, y in shown:
        ax.scatter([x], [y], s=area[row.variant.id], c=COLOURS.get(row.variant.precision, OTHER),
                   marker=MARKERS.get(row.variant.format, "o"), alpha=0.55, edgecolors="black", linewidths=0.8, zorder=3,
                   label=row.variant.id)

    lines: list[Any] = []  # reference lines, explained in the legend
    vertical = horizontal = None
    if axes.x == "throughput":
        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(LogFormatter())  # 300, not 3×10²
        ax.xaxis.set_minor_formatter(LogFormatter(labelOnlyBase=False, minor_thresholds=(2, 0.4)))
        ax.set_xlabel(f"throughput, texts/s (batch {axes.batch_size}, {gathered.device}) — right is faster")
        baseline = gathered.baseline.get(axes.batch_size) if axes.batch_size is not None else None
        if baseline is not None:
            vertical = baseline.throughput
            ax.axvline(vertical, color="grey", linestyle="--", linewidth=1)
            lines.append(Line2D([], [], color="grey", linestyle="--",
                                label=f"eager fp32 baseline\n{baseline.throughput:,.1f} texts/s"))
    else:
        ax.set_xlabel("size of the files loaded, MB (no benchmark found: run `npuport bench`)")
    if axes.y == "micro_f1":
        ax.set_ylabel("micro F1 on the labelled texts — up is better")
        reference = gathered.evaluation.records[0] if gathered.evaluation else None
        if reference is not None:
            horizontal = reference.micro_f1
            ax.axhline(horizontal, color="grey", linestyle=":", linewidth=1)
            lines.append(Line2D([], [], color="grey", linestyle=":",
                                label=f"reference {reference.variant}\nmicro F1 {reference.micro_f1:.4f}"))
    else:
        ax.set_yscale("log")
        ax.set_ylabel("export check: max |Δprobability| vs eager fp32 — down is better")
    _limits(ax, shown, axes, vertical, horizontal)
    ax.grid(True, which="both", alpha=0.25)
    what = "micro F1" if axes.y == "micro_f1" else "parity"
    ax.set_title(f"{name}: {what} vs {'throughput' if axes.x == 'throughput' else 'size'} (marker area = bytes loaded)")
    _legend(ax, [row.variant for row, _, _ in shown], lines)
    left_out = _left_out(points, axes)
    if left_out:
        figure.text(0.01, 0.01, left_out, fontsize=7, color="dimgrey", wrap=True)
    figure.tight_layout(rect=(0, 0.05 if left_out else 0, 1, 1))
    _label_points(figure, ax, [(row.variant.id, x, y, area[row.variant.id] ** 0.5 / 2) for row, x, y in shown])
    return figure, axes


def _left_out(points: list[tuple[Row, float | None, float | None]], axes: Axes) -> str:
    reasons = {"not benchmarked": [r.variant.id for r, x, _ in points if x is None],
               "not evaluated": [r.variant.id for r, x, y in points if x is not None and y is None]}
    return "; ".join(f"{why}, not shown: {', '.join(ids)}" for why, ids in reasons.items() if ids)


def _limits(ax: Any, shown: list[tuple[Row, float, float]], axes: Axes, vertical: float | None,
            horizontal: float | None) -> None:
    """Room around the points for their labels, and around the reference lines so they are drawn too."""
    if not shown:
        return
    xs = [x for _, x, _ in shown] + ([vertical] if vertical is not None else [])
    ys = [y for _, _, y in shown] + ([horizontal] if horizontal is not None else [])
    if axes.x == "throughput":
        ax.set_xlim(min(xs) / 1.8, max(xs) * 2.2)
    else:
        ax.set_xlim(0, max(xs) * 1.3)
    if axes.y == "micro_f1":
        span = max(max(ys) - min(ys), 0.01)
        ax.set_ylim(min(ys) - 0.35 * span, min(1.0, max(ys)) + 0.25 * span)
    else:
        ax.set_ylim(min(ys) / 3, max(ys) * 3)


def _legend(ax: Any, drawn: list[Variant], lines: list[Any]) -> None:
    from matplotlib.lines import Line2D

    precisions = sorted({v.precision for v in drawn}, key=lambda p: list(COLOURS).index(p) if p in COLOURS else 99)
    formats = sorted({v.format for v in drawn}, key=lambda f: list(MARKERS).index(f) if f in MARKERS else 99)
    handles = [Line2D([], [], marker="o", linestyle="", color=COLOURS.get(p, OTHER), label=p, markersize=8, alpha=0.7)
               for p in precisions]
    handles += [Line2D([], [], marker=MARKERS.get(f, "o"), linestyle="", color="black", fillstyle="none", label=f,
                       markersize=8) for f in formats]
    ax.legend(handles=handles + lines, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)


def _label_points(figure: Any, ax: Any, points: list[tuple[str, float, float, float]]) -> None:
    """Annotate each point (label, x, y, marker radius in points) at the first offset where the label stays inside
    the axes and overlaps no marker and no earlier label; run after the layout is final (judged on the canvas)."""
    from matplotlib.text import Text
    from matplotlib.transforms import Bbox

    def text_box(annotation: Any) -> Bbox:  # the text alone: an annotation's own extent includes its leader line
        annotation.update_positions(renderer)
        return Text.get_window_extent(annotation, renderer)

    if not points:
        return
    renderer = figure.canvas.get_renderer()
    frame = ax.get_window_extent(renderer)
    scale = figure.dpi / 72  # points → pixels
    obstacles = []
    for _, x, y, radius in points:
        cx, cy = ax.transData.transform((x, y))
        r = radius * scale
        obstacles.append(Bbox([[cx - r, cy - r], [cx + r, cy + r]]))
    for label, x, y, radius in sorted(points, key=lambda p: (-p[2], p[1])):
        placed = None
        for side, line in OFFSETS:
            leader = {"arrowprops": {"arrowstyle": "-", "color": "grey", "linewidth": 0.6}} if line else {}
            text = ax.annotate(label, (x, y), xytext=(side * (radius + 3), line * LINE - 3), textcoords="offset points",
                               fontsize=FONT, ha="left" if side > 0 else "right", zorder=4, **leader)
            box = text_box(text)
            inside = frame.x0 <= box.x0 and box.x1 <= frame.x1 and frame.y0 <= box.y0 and box.y1 <= frame.y1
            if inside and not any(box.overlaps(other) for other in obstacles):
                placed = box
                break
            text.remove()
        if placed is None:  # crowded everywhere: the first position, overlapping
            text = ax.annotate(label, (x, y), xytext=(radius + 3, -3), textcoords="offset points", fontsize=FONT, zorder=4)
            placed = text_box(text)
        obstacles.append(placed)
