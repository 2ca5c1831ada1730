"""One convert step (see `steps.STEPS`) in its own process, so peak memory stays that of one step on one model.

Run as `python -m npuport.convert.worker JOB.json PARENT_PID`; events go to stdout as JSON lines:
{"event": "start"|"done", "label": …}, then {"event": "result", …} or {"event": "error", "message": …}.
A worker never outlives the convert that started it (`die_with_parent`): an orphan would keep writing into a
staging folder a later run owns.
"""

from __future__ import annotations

import ctypes
import json
import os
import resource
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

from npuport.convert.job import Job, StepContext
from npuport.core.errors import NpuportError
from npuport.core.progress import Progress


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
