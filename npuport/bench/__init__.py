"""Same-run benchmarks: every variant against the hand-written transformers baseline, as ratios."""

from npuport.bench.benchmark import BenchOptions, BenchRun, bench_artifacts
from npuport.bench.timing import latency_stats, percentile, speedup, throughput

__all__ = ["BenchOptions", "BenchRun", "bench_artifacts", "latency_stats", "percentile", "speedup",
           "throughput"]
