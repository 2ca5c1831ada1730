"""kill -9 of a running `npuport convert`: its worker dies with it and writes nothing more, a second run into the same
directory is refused while the first runs (naming its pid), and afterwards the output is free and the killed run's
temporary job folder is recognisably orphaned. (A re-run over a killed run's leftovers: test_publish.)"""

from __future__ import annotations

import signal
import subprocess
import tempfile
import time
from pathlib import Path

import psutil
import pytest
from cli_runner import NPUPORT, cli_env  # type: ignore[import-not-found]

from npuport.convert.pipeline import convert_model
from npuport.convert.plan import ConvertOptions
from npuport.convert.worker import JOB_PREFIX
from npuport.core.files import OutputBusyError, artifacts_lock, remove_orphaned_temporaries

SMALL = ConvertOptions(formats=("onnx",), precisions=("fp32",), shapes=("dynamic",))


def _wait_for(condition, timeout: float, what: str):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")


def _workers(parent: subprocess.Popen) -> list[psutil.Process]:  # type: ignore[type-arg]
    assert parent.poll() is None, parent.stderr.read() if parent.stderr else ""
    children = psutil.Process(parent.pid).children(recursive=True)
    return [c for c in children if "npuport.convert.worker" in " ".join(c.cmdline())]


def _running(process: psutil.Process) -> bool:
    """Alive and not a zombie (a dead process whose new parent has not reaped it yet has finished all the same)."""
    try:
        return process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    return {p.relative_to(folder).as_posix(): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in folder.rglob("*") if p.is_file()}


def test_kill_9_of_convert_takes_its_worker_along(tiny_model, tmp_path, monkeypatch):
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))  # this process's temp folder is the CLI run's
    out = tmp_path / "out"
    parent = subprocess.Popen([*NPUPORT, "convert", str(tiny_model("bert")), "-o", str(out), "--formats", "onnx",
                               "--precisions", "fp32", "--shapes", "dynamic"],
                              env=cli_env({"TMPDIR": str(scratch)}), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        workers = _wait_for(lambda: _workers(parent), 120, "the first worker")
        time.sleep(1.0)  # into its step (importing torch, loading the model): before the fix it ran on for ~10 s
        with pytest.raises(OutputBusyError, match=rf"artifacts directory {out} is being written by another npuport run "
                                                  rf"\(pid {parent.pid}\)"):
            convert_model(tiny_model("bert"), out, SMALL, isolate=False)
        assert [p.name.startswith(f"npuport-job-{parent.pid}-") for p in scratch.glob("npuport-job-*")] == [True]
    finally:
        parent.send_signal(signal.SIGKILL)
        parent.wait()
    staged = _snapshot(out / ".staging")
    _wait_for(lambda: not [w.pid for w in workers if _running(w)], 5, "the workers to die with their parent")
    time.sleep(0.3)
    assert _snapshot(out / ".staging") == staged  # nothing written after the kill

    with artifacts_lock(out):  # the output is free again: no worker of the killed run holds it
        pass
    assert remove_orphaned_temporaries(JOB_PREFIX) == 1 and not list(scratch.glob("npuport-job-*"))  # the next run's sweep
