"""Same-run speed of the zoo models against issue 5's targets, with PASS/MISS per target.

    python benchmarks/bench.py [--roberta artifacts/roberta-go-emotions] [--structbert artifacts/structbert-tiny-zh]
                               [--threads 2] [--repeat 1] [--no-validate]

Targets (2-core CPU, end to end: texts in → predictions out, ratios against hand-written transformers eager fp32
measured in the same run on the same batches):
- RoBERTa-base GoEmotions, batch 16: the fastest variant that passed its validation profile ≥ 5× the baseline's
  throughput; the fastest fp32 variant ≥ 1.4×.
- StructBERT-tiny, batch 1: the fastest variant that passed its validation profile has p50 ≤ 1.5 ms and ≥ 4× the
  baseline's p50.

"Passed" means a `npuport validate` record in the manifest for the variant's current files on cpu; variants
without one are validated first (unless --no-validate, which leaves them out of the "passing" targets).
fp16 variants are left out by default: this CPU has no native fp16 arithmetic (measure them with --variants).
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table

from npuport.bench import BenchOptions, bench_artifacts
from npuport.cli.render import bench_table
from npuport.core.devices import CPU
from npuport.core.errors import NpuportError
from npuport.core.manifest import Manifest
from npuport.core.reports.bench import BenchRecord


@dataclass(frozen=True)
class Target:
    model: str
    what: str
    batch_size: int
    fp32_only: bool
    min_speedup: float
    speedup_of: str  # "throughput" or "p50"
    max_p50_ms: float | None = None


TARGETS = [
    Target("roberta", "fastest passing variant, batch 16", 16, False, 5.0, "throughput"),
    Target("roberta", "fastest fp32 variant, batch 16", 16, True, 1.4, "throughput"),
    Target("structbert", "fastest passing variant, batch 1", 1, False, 4.0, "p50", max_p50_ms=1.5),
]


def default_variants(root: Path) -> tuple[str, ...]:
    return tuple(v.id for v in Manifest.load(root).variants if v.precision != "fp16")


def validate_missing(root: Path, variants: tuple[str, ...], threads: int | None, console: Console) -> None:
    """Run `npuport validate` on cpu for the variants whose current files have no verdict yet."""
    from npuport.validate.gate import validate_artifacts

    manifest = Manifest.load(root)
    missing = [v for v in variants if manifest.verdict(manifest.variant(v), "cpu") is None]
    if missing:
        console.print(f"validating {', '.join(missing)} in {root} on cpu …")
        validate_artifacts(root, CPU, missing, threads=threads)


def fastest(records: list[BenchRecord], target: Target) -> BenchRecord | None:
    eligible = [r for r in records if r.batch_size == target.batch_size
                and (r.precision == "fp32" if target.fp32_only else r.parity.verdict == "passed")]
    key = (lambda r: r.throughput) if target.speedup_of == "throughput" else (lambda r: -r.latency.p50_ms)
    return max(eligible, key=key, default=None)


def verdict_rows(model: str, records: list[BenchRecord]) -> list[list[str]]:
    rows = []
    for target in (t for t in TARGETS if t.model == model):
        best = fastest(records, target)
        if best is None:
            rows.append([model, target.what, "-", "no eligible variant measured", "MISS"])
            continue
        ratio = best.speedup[target.speedup_of]
        measured = f"{ratio:.2f}× baseline {target.speedup_of}"
        wanted = f"≥ {target.min_speedup}×"
        ok = ratio >= target.min_speedup
        if target.max_p50_ms is not None:
            p50 = best.latency.p50_ms
            measured = f"p50 {p50:.3f} ms, {measured}"
            wanted = f"p50 ≤ {target.max_p50_ms} ms, {wanted}"
            ok = ok and p50 <= target.max_p50_ms
        rows.append([model, f"{target.what}: {wanted}", best.variant, measured, "PASS" if ok else "MISS"])
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--roberta", type=Path, default=Path("artifacts/roberta-go-emotions"))
    parser.add_argument("--structbert", type=Path, default=Path("artifacts/structbert-tiny-zh"))
    parser.add_argument("--variants", help="comma list applied to both models (default: all but fp16)")
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--no-validate", action="store_true", help="do not validate variants lacking a verdict")
    args = parser.parse_args()
    console = Console(width=200)
    verdicts: list[list[str]] = []
    for model, root, sizes in (("structbert", args.structbert, (1,)), ("roberta", args.roberta, (16,))):
        variants = tuple(args.variants.split(",")) if args.variants else default_variants(root)
        if not args.no_validate:
            validate_missing(root, variants, args.threads, console)
        run = bench_artifacts(root, BenchOptions(variants=variants, batch_sizes=sizes, threads=args.threads,
                                                 repeat=args.repeat))
        console.print(bench_table(run.document, run.records))
        verdicts += verdict_rows(model, run.records)
    table = Table(title=f"issue 5 targets ({args.threads} threads, load average now "
                        f"{', '.join(f'{x:.2f}' for x in os.getloadavg())})")
    for column in ("model", "target", "variant", "measured", "verdict"):
        table.add_column(column)
    for row in verdicts:
        table.add_row(*row, style="green" if row[-1] == "PASS" else "red")
    console.print(table)


if __name__ == "__main__":
    try:
        main()
    except NpuportError as exc:  # e.g. artifacts not converted yet: `make demo` builds them
        raise SystemExit(f"error: {exc}") from None
