"""What `diagnose` found: the error at each probe point against the fp32 eager reference, and where it first passes
the profile's budget; the report and the plot both read it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from npuport.doctor.probes import LOGITS, Probe


@dataclass(frozen=True)
class LayerError:
    probe: Probe
    tensor: str  # where the variant's side was read: an ONNX tensor, or the hooked module
    cosine_min: float  # the worst token (hidden states) or text (pooler, logits)
    cosine_mean: float
    max_abs_error: float
    max_rel_error: float  # max |Δ| over the reference's largest magnitude at that point
    growth: float | None  # max_rel_error over the previous point's
    past_budget: bool

    def as_dict(self) -> dict[str, Any]:
        return {"module": self.probe.module, "point": self.probe.label, "role": self.probe.role, "layer": self.probe.layer,
                "tensor": self.tensor, "cosine_min": self.cosine_min, "cosine_mean": self.cosine_mean,
                "max_abs_error": self.max_abs_error, "max_rel_error": self.max_rel_error, "growth": self.growth,
                "past_budget": self.past_budget}


@dataclass
class Diagnosis:
    artifacts: Path
    variant: str
    device: str
    engine: str
    inputs: str  # which texts, how many rows
    budget: float | None  # the profile's min cosine, applied at every point
    layers: list[LayerError]
    suspects: list[tuple[str, str]]  # (op type, node) computing the first block past the budget
    notes: list[str] = field(default_factory=list)
    json_path: Path | None = None
    plot_path: Path | None = None

    @property
    def first_past_budget(self) -> LayerError | None:
        return next((layer for layer in self.layers if layer.past_budget), None)

    @property
    def largest_growth(self) -> LayerError | None:
        """The point whose relative error grows most over the one before, up to the first past the budget: where the
        error enters when no layer is past the budget before the output."""
        first = self.first_past_budget
        upto = self.layers[: self.layers.index(first) + 1] if first else self.layers
        grown = [layer for layer in upto if layer.growth is not None and layer.probe.module != LOGITS]
        return max(grown, key=lambda layer: layer.growth or 0.0, default=None)

    def as_dict(self) -> dict[str, Any]:
        first = self.first_past_budget
        return {"artifacts": str(self.artifacts), "variant": self.variant, "device": self.device, "engine": self.engine,
                "inputs": self.inputs, "budget_min_cosine": self.budget,
                "first_past_budget": first.probe.label if first else None,
                "largest_growth": self.largest_growth.probe.label if self.largest_growth else None,
                "layers": [layer.as_dict() for layer in self.layers],
                "suspects": [{"op": op, "node": node} for op, node in self.suspects], "notes": self.notes,
                "plot": str(self.plot_path) if self.plot_path else None}
