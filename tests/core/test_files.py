"""The file layer: one run per output (a second is refused at once, naming the first's pid; a killed holder frees it),
temporary folders of killed runs reclaimed, directories replaced without a moment's absence, and no-room write
failures as one line."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from npuport.core.errors import NpuportError
from npuport.core.files import (
    OutputBusyError,
    output_lock,
    owned_temporary_directory,
    remove_orphaned_temporaries,
    replace_directory,
    staged_directory,
    write_text_atomic,
)

HOLD = """
import sys, time
from pathlib import Path
from npuport.core.files import output_lock
with output_lock(Path(sys.argv[1]), "x"):
    print("locked", flush=True)
    time.sleep(60)
"""


def test_a_second_run_is_refused_at_once_naming_the_holder(tmp_path):
    lock = tmp_path / ".out.lock"
    with output_lock(lock, "artifacts directory out"):
        assert lock.read_text().strip() == str(os.getpid())
        with pytest.raises(OutputBusyError, match=rf"^artifacts directory out is being written by another npuport run "
                                                  rf"\(pid {os.getpid()}\); wait for it to finish or stop it, then run again$"):
            with output_lock(lock, "artifacts directory out"):
                pass
    assert not lock.exists()  # released and removed
    with output_lock(lock, "artifacts directory out"):
        pass


def test_a_killed_holder_frees_the_output(tmp_path):
    lock = tmp_path / ".out.lock"
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(lock)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        with pytest.raises(OutputBusyError, match=f"pid {holder.pid}"):
            with output_lock(lock, "x"):
                pass
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    assert lock.exists()  # a killed run cannot remove it; the kernel released its lock all the same
    with output_lock(lock, "x"):
        assert lock.read_text().strip() == str(os.getpid())


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", ""])
    child.wait()
    return child.pid


def test_temporary_folders_of_dead_runs_are_removed_and_live_ones_kept(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    dead = tmp_path / f"npuport-job-{_dead_pid()}-abc"
    dead.mkdir()
    (dead / "job.json").write_text("{}")
    legacy = tmp_path / "npuport-job-k2j3h4"  # no pid: not provably orphaned, kept
    legacy.mkdir()
    with owned_temporary_directory("npuport-job-") as live:
        assert live.name.startswith(f"npuport-job-{os.getpid()}-")
        assert remove_orphaned_temporaries("npuport-job-") == 1
        assert live.is_dir() and legacy.is_dir() and not dead.exists()
    assert not live.exists()


def test_a_directory_is_replaced_without_a_moment_of_absence(tmp_path):
    final = tmp_path / "pkg"
    with staged_directory(final) as staging:
        (staging / "a").write_text("1")
    with staged_directory(final) as staging:
        (staging / "b").write_text("2")
        assert (final / "a").is_file()  # the old one stays until the swap
    assert sorted(p.name for p in final.iterdir()) == ["b"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pkg"]


def test_an_interrupted_two_rename_replace_is_undone(tmp_path, monkeypatch):
    """Where RENAME_EXCHANGE is unavailable: a crash between the two renames leaves .<name>.old; the next run restores it."""
    import npuport.core.files as files

    final = tmp_path / "pkg"
    final.mkdir()
    (final / "old").write_text("old")
    new = tmp_path / "new"
    new.mkdir()
    monkeypatch.setattr(files, "_exchange", lambda a, b: False)
    real_rename = os.rename

    def crash_second(src, dst):  # type: ignore[no-untyped-def]
        if Path(src) == new:
            raise KeyboardInterrupt
        return real_rename(src, dst)

    monkeypatch.setattr(files.os, "rename", crash_second)
    with pytest.raises(KeyboardInterrupt):
        replace_directory(new, final)
    monkeypatch.setattr(files.os, "rename", real_rename)
    assert not final.exists() and (tmp_path / ".pkg.old/old").is_file()
    with pytest.raises(RuntimeError):
        with staged_directory(final):
            raise RuntimeError("the next run fails too")
    assert (final / "old").read_text() == "old"


@pytest.mark.parametrize(("code", "words"), [(errno.ENOSPC, "disk full"), (errno.EDQUOT, "disk quota exceeded"),
                                             (errno.EFBIG, "file size limit reached")])
def test_no_room_is_one_line_and_leaves_nothing(tmp_path, monkeypatch, code, words):
    def full(self, data):  # type: ignore[no-untyped-def]
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(Path, "write_bytes", full)
    with pytest.raises(NpuportError, match=f"^{words} while writing {tmp_path / 'f.json'}; nothing was left behind$"):
        write_text_atomic(tmp_path / "f.json", "{}")
    assert list(tmp_path.iterdir()) == []
