"""TorchScript files are serialized in memory and written by the atomic writer: a full disk is the same one-line error
the ONNX writers give, not a C++ abort inside torch.jit.save; and the bytes are deterministic and name-independent."""

from __future__ import annotations

import errno
import os
import resource
import signal
from pathlib import Path

import pytest
import torch

from npuport.convert.pipeline import convert_model
from npuport.convert.plan import ConvertOptions
from npuport.convert.torchscript import program_fingerprint, save
from npuport.core.errors import NpuportError


def _traced(size: int = 4) -> torch.jit.ScriptModule:
    torch.manual_seed(0)
    return torch.jit.trace(torch.nn.Linear(size, 2 * size).eval(), torch.randn(1, size))


def test_saved_bytes_are_a_path_saves_deterministic_and_name_independent(tmp_path):
    traced = _traced()
    save(traced, tmp_path / "a" / "fp32-dynamic.pt")
    save(traced, tmp_path / "b" / "fp32-b1s32.pt")
    torch.jit.save(traced, str(tmp_path / "archive.pt"))  # torch names a buffer's archive "archive"
    first = (tmp_path / "a" / "fp32-dynamic.pt").read_bytes()
    assert first == (tmp_path / "b" / "fp32-b1s32.pt").read_bytes() == (tmp_path / "archive.pt").read_bytes()
    loaded = torch.jit.load(str(tmp_path / "a" / "fp32-dynamic.pt"))
    assert program_fingerprint(loaded) == program_fingerprint(torch.jit.load(str(tmp_path / "archive.pt")))
    x = torch.randn(3, 4)
    assert torch.equal(loaded(x), traced(x))


def test_disk_full_in_torchscript_export_is_one_line(tiny_model, tmp_path, monkeypatch):
    """ENOSPC injected where the bytes reach the disk (a real full disk is not made here)."""
    real_write = Path.write_bytes

    def full_disk(self, data):  # type: ignore[no-untyped-def]
        if self.suffix == ".pt":
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(self, data)

    monkeypatch.setattr(Path, "write_bytes", full_disk)
    out = tmp_path / "out"
    options = ConvertOptions(formats=("torchscript",), precisions=("fp32",), shapes=("dynamic",))
    with pytest.raises(NpuportError) as info:
        convert_model(tiny_model("bert"), out, options, isolate=False)
    assert str(info.value) == f"disk full while writing {out}/.staging/torchscript/fp32-dynamic.pt; nothing was left behind"
    assert not [p for p in out.rglob("*") if p.is_file()]


def test_a_write_the_kernel_refuses_is_an_error_not_an_abort(tmp_path):
    """A real write failure without filling a disk: a file size limit (EFBIG). torch.jit.save to a path hit it in C++
    and aborted the process (exit -6, "frame #21: _start"); written by Python, it is one line."""
    traced = _traced(200)  # ~160 KB of weights
    previous_handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # else the kernel's signal kills us first
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024, hard))
    try:
        with pytest.raises(NpuportError, match=r"^file size limit reached while writing .*fp32-dynamic\.pt; nothing was left behind$"):
            save(traced, tmp_path / "fp32-dynamic.pt")
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, previous_handler)
    assert os.listdir(tmp_path) == []
