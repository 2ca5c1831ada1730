"""Error across depth as a PNG, one point per probe on log scales, in two panels sharing the probe axis: 1 - cosine
of the worst token, which the profile's budget bounds (its line, and the points past it in red), and the relative
error, which no budget bounds (so no budget line crosses it). matplotlib (the `report` extra), Agg backend."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from npuport.core.files import atomic_path

if TYPE_CHECKING:
    from npuport.doctor.diagnosis import Diagnosis

FLOOR = 1e-9  # an exact match plots here (log scale)
PAST = "#d62728"


def plot_depth(diagnosis: Diagnosis, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure = draw_depth(diagnosis)
    with atomic_path(path) as tmp:
        figure.savefig(tmp, format="png")
    plt.close(figure)
    return path


def draw_depth(diagnosis: Diagnosis) -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    layers = diagnosis.layers
    x = list(range(len(layers)))
    gap = [max(1.0 - layer.cosine_min, FLOOR) if layer.cosine_min == layer.cosine_min else 1.0 for layer in layers]
    relative = [min(max(layer.max_rel_error, FLOOR), 1e3) for layer in layers]
    figure, (top, bottom) = plt.subplots(2, 1, sharex=True, figsize=(max(8, len(layers) * 0.45), 6.5), dpi=120)
    top.plot(x, gap, marker="o", label="1 - cosine (worst token)")
    past = [i for i, layer in enumerate(layers) if layer.past_budget]
    if past:
        top.scatter(past, [gap[i] for i in past], color=PAST, zorder=3, label="past the budget")
    if diagnosis.budget is not None:
        top.axhline(max(1.0 - diagnosis.budget, FLOOR), color="grey", linestyle="--", linewidth=1,
                    label=f"budget: cosine ≥ {diagnosis.budget:g} (above the line: past it)")
    first = diagnosis.first_past_budget
    for axes in (top, bottom):
        if first is not None:
            axes.axvline(layers.index(first), color=PAST, linewidth=1,
                         label=f"first past budget: {first.probe.label}" if axes is top else None)
        axes.set_yscale("log")
        axes.grid(True, which="major", alpha=0.3)
    top.set_ylabel("1 - cosine")
    bottom.plot(x, relative, marker="s", color="#ff7f0e", label="max |Δ| / max |reference| (no budget)")
    bottom.set_ylabel("relative error")
    bottom.set_xticks(x, [layer.probe.label for layer in layers], rotation=60, ha="right", fontsize=7)
    top.set_title(f"{diagnosis.variant} on {diagnosis.device}: error against the fp32 eager reference across depth",
                  fontsize=10)
    top.legend(fontsize=7)
    bottom.legend(fontsize=7)
    figure.tight_layout()
    return figure
