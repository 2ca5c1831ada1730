"""Peak resident memory of one benchmarked thing inside a process that holds others too.

Linux keeps the process's peak RSS (VmHWM) and lets a process reset it (`echo 5 > /proc/self/clear_refs`),
so each variant's peak is measured from its own load onwards: reported as the peak minus the RSS right
before its load ("peak RSS delta"). Where the reset is not possible the figure is the RSS after minus the
RSS before ("RSS delta", a lower bound on the peak); `method` says which one a number is.
"""

from __future__ import annotations

import ctypes
import gc
from dataclasses import dataclass
from pathlib import Path

_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")
PEAK = "peak-rss-delta"
CURRENT = "rss-delta"


def _status_kb(field: str) -> int | None:
    try:
        for line in _STATUS.read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def rss_mib() -> float:
    """Current resident memory of this process in MiB (the peak so far where /proc is unavailable)."""
    kb = _status_kb("VmRSS")
    if kb is None:
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return kb / 1024


def release_memory() -> None:
    """Collect garbage and hand freed heap back to the OS, so the next measurement starts from what is live."""
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc
        pass


def _reset_peak() -> bool:
    try:
        _CLEAR_REFS.write_text("5")
    except OSError:
        return False
    return _status_kb("VmHWM") is not None


@dataclass
class MemoryProbe:
    """`start()` before loading, `stop()` after the last call: MiB above the level before the load."""

    method: str = CURRENT
    before_mib: float = 0.0
    delta_mib: float = 0.0

    def start(self) -> MemoryProbe:
        release_memory()
        self.method = PEAK if _reset_peak() else CURRENT
        self.before_mib = rss_mib()
        return self

    def stop(self) -> float:
        if self.method == PEAK:
            peak_kb = _status_kb("VmHWM")
            after = peak_kb / 1024 if peak_kb is not None else rss_mib()
        else:
            after = rss_mib()
        self.delta_mib = max(0.0, after - self.before_mib)
        return self.delta_mib
