"""A logits-only module with a fixed positional input order, the shape every exporter wants."""

from __future__ import annotations

import torch


class LogitsOnly(torch.nn.Module):
    def __init__(self, model: torch.nn.Module, input_names: list[str], float32_logits: bool = False) -> None:
        super().__init__()
        self.model = model
        self.input_names = list(input_names)
        # bf16 programs hand back float32 logits: numpy, Triton and C++ callers have no bfloat16 type.
        self.float32_logits = float32_logits

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        logits = self.model(**dict(zip(self.input_names, inputs))).logits
        return logits.float() if self.float32_logits else logits
