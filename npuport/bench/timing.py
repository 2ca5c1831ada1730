"""Pure arithmetic on recorded timings: percentiles, latency summaries, throughput and speed-up ratios.

No clocks here (the runner records seconds; this module only summarises them), so every number can be
checked against values computed by hand.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from npuport.core.errors import InputError
from npuport.core.reports.bench import Latency


def percentile(samples: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100) with linear interpolation between closest ranks (numpy's default):
    rank = q/100 · (n-1) over the sorted samples."""
    if not samples:
        raise InputError("percentile of no samples")
    if not 0.0 <= q <= 100.0:
        raise InputError(f"percentile must be within 0..100, got {q}")
    ordered = sorted(float(s) for s in samples)
    rank = q / 100.0 * (len(ordered) - 1)
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def latency_stats(seconds: Sequence[float]) -> Latency:
    """Summarise per-call durations given in seconds (as a bench record stores them)."""
    if not seconds:
        raise InputError("no timed calls to summarise")
    if any(s < 0 or not math.isfinite(s) for s in seconds):
        raise InputError("durations must be finite and non-negative")
    ms = [s * 1e3 for s in seconds]
    return Latency(
        calls=len(ms),
        mean_ms=sum(ms) / len(ms),
        p50_ms=percentile(ms, 50),
        p90_ms=percentile(ms, 90),
        p99_ms=percentile(ms, 99),
        min_ms=min(ms),
        max_ms=max(ms),
        total_s=float(sum(seconds)),
    )


def throughput(items: int, seconds: float) -> float:
    """Items per second; the time is the sum of the timed calls (warm-up excluded)."""
    if items < 0:
        raise InputError(f"item count must be non-negative, got {items}")
    if seconds <= 0:
        raise InputError(f"throughput needs a positive duration, got {seconds}")
    return items / seconds


def speedup(baseline: float, candidate: float) -> float:
    """How many times faster `candidate` is than `baseline`, both durations (or both latencies)."""
    if baseline <= 0 or candidate <= 0:
        raise InputError(f"speed-up needs positive durations, got baseline={baseline} candidate={candidate}")
    return baseline / candidate
