"""torch.export writer: the logits-only wrapper as an ExportedProgram (`.pt2`) with dynamic batch and sequence.

TorchScript is deprecated upstream in favour of torch.export; an ExportedProgram is also what AOTInductor compiles
and what torch_npu loads. The example must have at least two rows of at least two tokens: torch.export specialises a
dimension seen as 0 or 1 to that size (convert's dynamic example is two texts of different lengths)."""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import numpy as np
import torch

from npuport.core.files import write_bytes_atomic
from npuport.core.manifest import MAX_BATCH
from npuport.model.adapter import LogitsOnly


def export_program(wrapper: LogitsOnly, example: dict[str, np.ndarray], max_length: int) -> torch.export.ExportedProgram:
    """Export with batch 1..MAX_BATCH and sequence 1..max_length (one range for every input: they share the dims)."""
    args = tuple(torch.from_numpy(example[name]) for name in wrapper.input_names)
    batch = torch.export.Dim("batch", min=1, max=MAX_BATCH)
    sequence = torch.export.Dim("sequence", min=1, max=max_length)
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        return torch.export.export(wrapper.eval(), args, dynamic_shapes=(tuple({0: batch, 1: sequence} for _ in args),))


def save(program: torch.export.ExportedProgram, path: Path) -> None:
    """Serialize in memory, then write with the atomic writer (as `torchscript.save`, for the same reasons)."""
    buffer = io.BytesIO()
    torch.export.save(program, buffer)
    with buffer.getbuffer() as view:
        write_bytes_atomic(path, view)
