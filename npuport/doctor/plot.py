"""Error across depth as a PNG: one point per probe, 1 - cosine of the worst token and the relative error, on log
scales, with the profile's budget and the first point past it marked. matplotlib (the `report` extra), Agg backend."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from npuport.core.files import atomic_path

if TYPE_CHECKING:
    from npuport.doctor.localise import Diagnosis

FLOOR = 1e-9  # an exact match plots here (log scale)


def plot_depth(diagnosis: Diagnosis, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    layers = diagnosis.layers
    x = list(range(len(layers)))
    gap = [max(1.0 - layer.cosine_min, FLOOR) if layer.cosine_min == layer.cosine_min else 1.0 for layer in layers]
    relative = [min(max(layer.max_rel_error, FLOOR), 1e3) for layer in layers]
    figure, axes = plt.subplots(figsize=(max(8, len(layers) * 0.45), 5), dpi=120)
    axes.plot(x, gap, marker="o", label="1 - cosine (worst token)")
    axes.plot(x, relative, marker="s", label="max |Δ| / max |reference|")
    if diagnosis.budget is not None:
        axes.axhline(max(1.0 - diagnosis.budget, FLOOR), color="grey", linestyle="--", linewidth=1,
                     label=f"budget: cosine ≥ {diagnosis.budget:g}")
    first = diagnosis.first_past_budget
    if first is not None:
        axes.axvline(layers.index(first), color="#d62728", linewidth=1, label=f"first past budget: {first.probe.label}")
    axes.set_yscale("log")
    axes.set_xticks(x, [layer.probe.label for layer in layers], rotation=60, ha="right", fontsize=7)
    axes.set_ylabel("error against the fp32 eager reference")
    axes.set_title(f"{diagnosis.variant} on {diagnosis.device}: error across depth", fontsize=10)
    axes.grid(True, which="major", alpha=0.3)
    axes.legend(fontsize=7)
    figure.tight_layout()
    with atomic_path(path) as tmp:
        figure.savefig(tmp, format="png")
    plt.close(figure)
    return path
