"""TorchScript writer: trace the logits-only wrapper (fp32 or half) on real golden tokens, device-portable."""

from __future__ import annotations

import hashlib
import io
import re
import warnings
from pathlib import Path

import numpy as np
import torch

from npuport.convert.portable import follow_input_device
from npuport.core.files import write_bytes_atomic
from npuport.model.adapter import LogitsOnly

_MANGLE = re.compile(r"___torch_mangle_\d+")


def trace(wrapper: LogitsOnly, example: dict[str, np.ndarray]) -> torch.jit.ScriptModule:
    """Trace at the example's shape. Where the model's size arithmetic traces symbolically, the program
    accepts other shapes too; convert's post-export check proves it on a different shape. The devices the model named
    while tracing (the CPU) are rewritten to follow the inputs' device (convert.portable), so the file runs anywhere."""
    args = tuple(torch.from_numpy(example[name]) for name in wrapper.input_names)
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        traced = torch.jit.trace(wrapper.eval(), args, check_trace=False, strict=False)
    follow_input_device(traced)
    return traced


def program_fingerprint(traced: torch.jit.ScriptModule) -> str:
    """A digest of the traced program and its weights, blind to the random serialization id and to the
    class-name mangling that tracing twice in one process introduces. Equal digests ⇒ the files would
    hold the same program, so a static bucket can share the dynamic file."""
    digest = hashlib.sha256()
    for name, module in traced.named_modules():
        digest.update(name.encode())
        try:
            code = module.code
        except (AttributeError, RuntimeError):  # containers without a forward have no code
            code = ""
        digest.update(_MANGLE.sub("", code).encode())
    for name, tensor in traced.state_dict().items():
        digest.update(name.encode())
        tensor = tensor.detach().contiguous().cpu()
        if tensor.dtype == torch.bfloat16:  # numpy has no bfloat16: hash the same bits as int16
            tensor = tensor.view(torch.int16)
        digest.update(tensor.numpy().tobytes())
    return digest.hexdigest()


def save(traced: torch.jit.ScriptModule, path: Path) -> None:
    """Serialize in memory, then write with the atomic writer.

    torch.jit.save to a path writes from C++: a full disk there aborts the process ("frame #24: _start …"). From a
    buffer, the write is Python's, so ENOSPC is an OSError that `atomic_path` turns into the one-line "disk full
    while writing …" the ONNX writers give. The cost is one copy of the file in memory (the buffer is handed over
    without another). The bytes are those of a path save under the name `archive.pt` (the archive's top folder is
    named after the file; a buffer's is "archive"), deterministic, and no longer depend on the file's own name."""
    buffer = io.BytesIO()
    torch.jit.save(traced, buffer)
    with buffer.getbuffer() as view:
        write_bytes_atomic(path, view)
