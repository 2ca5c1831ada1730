"""One convert step (see `steps.STEPS`) in its own process, so peak memory stays that of one step on one model.

Run as `python -m npuport.convert.worker JOB.json`; events go to stdout as JSON lines:
{"event": "start"|"done", "label": …}, then {"event": "result", …} or {"event": "error", "message": …}.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path
from typing import Any

from npuport.convert.job import Job, StepContext
from npuport.convert.steps import STEPS
from npuport.core.errors import NpuportError
from npuport.core.progress import Progress


def execute_job(job: Job, emit: Progress) -> dict[str, Any]:
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


def main(argv: list[str]) -> int:
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
