"""One convert step (see `steps.STEPS`) in its own process, so peak memory stays that of one step on one model.

`run_in_child` starts `python -m npuport.convert.worker JOB.json PARENT_PID` and reads its events from stdout as
JSON lines: {"event": "start"|"done", "label": …}, then {"event": "result", …} or {"event": "error", "message": …}.
A worker never outlives the convert that started it (`die_with_parent`): an orphan would keep writing into a
staging folder a later run owns.
"""

from __future__ import annotations

import ctypes
import json
import os
import resource
import signal
import subprocess
import sys
import threading
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from npuport.convert.job import Job, StepContext
from npuport.core.errors import ConversionError, NpuportError
from npuport.core.files import owned_temporary_directory
from npuport.core.progress import Progress

JOB_PREFIX = "npuport-job-"  # temporary job folders: npuport-job-<pid of the convert>-<random>


def execute_job(job: Job, emit: Progress) -> dict[str, Any]:
    from npuport.convert.steps import STEPS  # torch and friends: after die_with_parent, in the worker

    started = time.perf_counter()
    group = StepContext(job, emit)
    variants = STEPS[job.step](group)
    return {
        "event": "result",
        "variants": variants,
        "source": group.facts,
        "seconds": time.perf_counter() - started,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def run_in_child(job: Job, progress: Progress, lock_fd: int | None = None) -> dict[str, Any]:
    """Run one job in a child process; its peak memory is its own, and a crash cannot corrupt ours.

    The worker dies with this process (see die_with_parent: it gets our pid and watches its stdin, which only
    we hold open) and inherits the output lock, so no other run can take the output while a worker of ours lives."""
    with owned_temporary_directory(JOB_PREFIX) as tmp:
        job_path = tmp / "job.json"
        job_path.write_text(json.dumps(asdict(job)), encoding="utf-8")
        stderr_path = tmp / "stderr.txt"
        with open(stderr_path, "wb") as stderr:
            child = subprocess.Popen(
                [sys.executable, "-m", "npuport.convert.worker", str(job_path), str(os.getpid())],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr, text=True, env=os.environ.copy(),
                pass_fds=() if lock_fd is None else (lock_fd,),
            )
            result: dict[str, Any] | None = None
            error: str | None = None
            assert child.stdout is not None and child.stdin is not None
            try:
                for line in child.stdout:
                    try:
                        event = json.loads(line)
                    except json.JSONDecodeError:
                        continue  # stray prints from libraries
                    if event.get("event") == "result":
                        result = event
                    elif event.get("event") == "error":
                        error = event["message"]
                    else:
                        progress(event)
                code = child.wait()
            finally:
                if child.poll() is None:  # interrupted (Ctrl-C, an error in progress): the worker goes with us
                    child.kill()
                    child.wait()
                child.stdin.close()
                child.stdout.close()
        if error:
            raise ConversionError(error)
        if result is None or code != 0:
            tail = stderr_path.read_text(errors="replace").strip().splitlines()[-1:] or ["no output"]
            hint = " (killed: out of memory?)" if code in (-9, 137) else ""
            raise ConversionError(f"convert step {job.step} died with exit code {code}{hint}: {tail[0][:300]}")
        return result


def die_with_parent(parent: int) -> None:
    """Exit when `parent` dies, however it dies (kill -9 included).

    Linux: the kernel sends SIGKILL when the parent goes (prctl PR_SET_PDEATHSIG) — immediate, even inside a long C++
    call that holds the GIL. If the parent died before that was set, we were already re-parented: getppid() tells.
    Everywhere: a thread reads stdin, whose only writer is the parent; end of file means it is gone."""
    if sys.platform.startswith("linux"):
        pr_set_pdeathsig = 1
        try:
            args = (ctypes.c_ulong(int(signal.SIGKILL)), ctypes.c_ulong(0), ctypes.c_ulong(0), ctypes.c_ulong(0))
            ctypes.CDLL(None, use_errno=True).prctl(ctypes.c_int(pr_set_pdeathsig), *args)
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent:
        os._exit(1)

    def watch() -> None:  # os.read, not sys.stdin: a daemon thread inside a buffered read aborts interpreter exit
        try:
            while os.read(0, 1 << 16):
                pass
        except OSError:
            pass
        os._exit(1)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def main(argv: list[str]) -> int:
    if len(argv) > 1:
        die_with_parent(int(argv[1]))
    job = Job(**json.loads(Path(argv[0]).read_text(encoding="utf-8")))

    def emit(event: dict[str, Any]) -> None:
        print(json.dumps(event), flush=True)

    try:
        emit(execute_job(job, emit))
    except NpuportError as exc:
        emit({"event": "error", "message": str(exc)})
        return 1
    except MemoryError:
        emit({"event": "error", "message": f"out of memory in convert step {job.step}"})
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
