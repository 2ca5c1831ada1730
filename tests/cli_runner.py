"""The one way the tests run the command line: `python -m npuport.cli` in a subprocess, as a user runs it.

Every run gets the same environment: this process's, wide (COLUMNS=200, so rich wraps nothing a test looks for) and
without NPUPORT_DEBUG (so an unexpected error stays one `error: …` line, as users see it). stdout and stderr come
back apart: data and tables on stdout, `error: …` lines on stderr.

(Importable as `cli_runner` from any test: tests/ is on sys.path because tests/conftest.py lives there.)
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

NPUPORT = (sys.executable, "-m", "npuport.cli")
TIMEOUT = 600  # seconds: the upper bound of one command in these tests


def cli_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment every command runs in, plus `extra`."""
    env = {name: value for name, value in os.environ.items() if name != "NPUPORT_DEBUG"}
    return env | {"COLUMNS": "200"} | dict(extra or {})


def npuport(*args: str | Path, env: Mapping[str, str] | None = None, timeout: float = TIMEOUT,
            cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """`npuport ARGS…` run to completion; never raises on a non-zero exit (tests assert the code)."""
    return subprocess.run([*NPUPORT, *map(str, args)], capture_output=True, text=True, timeout=timeout, cwd=cwd,
                          env=cli_env(env))
