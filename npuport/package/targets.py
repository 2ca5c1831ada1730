"""`package --target`: of the variants that passed, the one a deployment target runs best — and, for every other
variant, why it stays out. A target's package is then one model's worth of weights, not the whole matrix."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from npuport.core.devices import DeployTarget
from npuport.core.errors import ParityError
from npuport.core.manifest import Manifest, Variant
from npuport.core.reports.bench import read_bench
from npuport.core.reports.keep import still_current
from npuport.core.targets import TARGETS
from npuport.package.atc import atc_readable


@dataclass(frozen=True)
class TargetChoice:
    variant: str
    chosen: bool
    why: str


def choose_for_target(root: Path, manifest: Manifest, target: DeployTarget, passed: list[Variant], device: str) -> list[TargetChoice]:
    """One choice per variant of `manifest`: the best of `passed` for `target` is chosen, every other says why not."""
    best, why = _best(root, manifest, target, passed, device)
    choices = []
    for variant in manifest.variants:
        if variant.id == best.id:
            choices.append(TargetChoice(variant.id, True, why))
        elif variant not in passed:
            choices.append(TargetChoice(variant.id, False, f"no passing validation on {device}"))
        else:
            choices.append(TargetChoice(variant.id, False, f"{target} runs {best.id} better"))
    return choices


def _best(root: Path, manifest: Manifest, target: DeployTarget, passed: list[Variant], device: str) -> tuple[Variant, str]:
    candidates = [v for v in passed if target != "ascend" or atc_readable(v)]
    skipped = ""
    if target == "cpu":
        fastest, slower = _fastest(root, manifest, device, [v for v in candidates if v.format == "onnx"])
        if fastest is not None:
            return fastest
        candidates = [v for v in candidates if v.id not in slower]
        skipped = f"; never chosen, slower than eager fp32: {', '.join(sorted(slower))}" if slower else ""
    found = TARGETS[target].best(candidates)
    if found is not None:
        variant, choice = found
        return variant, (f"no bench records: {choice.why}" if target == "cpu" else choice.why) + skipped
    wanted = ", ".join(c.name for c in TARGETS[target].choices)
    raise ParityError(f"nothing that passed on {device} suits --target {target} (wants one of {wanted}; "
                      f"passed: {', '.join(v.id for v in passed) or 'none'})")


def _fastest(root: Path, manifest: Manifest, device: str,
             candidates: list[Variant]) -> tuple[tuple[Variant, str] | None, set[str]]:
    """The candidate with the highest engine-only throughput (token batches in, logits out: end to end would also
    count the padding length grouping avoids) at the largest batch size every benchmarked candidate shares; one
    slower than the eager fp32 baseline of its own run is never chosen (returned apart, for the fallback to skip too).
    Only figures measured on the CPU class the variant's verdict was reached on count: speed, like parity, is a
    property of the class."""
    bench = read_bench(root, device)
    records = bench.records if bench is not None else []
    classes = {v.id: _verdict_class(manifest, v, device) for v in candidates}
    current = [r for r in still_current(records, candidates) if None in (r.cpu_class, classes[r.variant])
               or r.cpu_class == classes[r.variant]]
    slower = {r.variant for r in current if r.engine_ratio < 1}
    faster = [v for v in candidates if v.id not in slower and any(r.variant == v.id for r in current)]
    sizes = [{r.batch_size for r in current if r.variant == v.id} for v in faster]
    common = set.intersection(*sizes) if sizes else set()
    if not common:
        return None, slower
    size = max(common)
    measured = {r.variant: r for r in current if r.batch_size == size}
    best = max(faster, key=lambda v: measured[v.id].engine_throughput)
    shown = lambda v: f"{v.id} {measured[v.id].engine_throughput:.0f} ({measured[v.id].engine_ratio:.2f}× eager, "\
                      f"{measured[v.id].speedup['throughput']:.2f}× end to end)"  # noqa: E731
    assert bench is not None  # `common` holds a batch size: some record was read
    return (best, f"fastest engine-only in {bench.path.name} at batch {size}: {shown(best)} texts/s"
                  + "".join(f"; {shown(v)}" for v in faster if v is not best)
                  + (f"; never chosen, slower than eager fp32: {', '.join(sorted(slower))}" if slower else "")), slower


def _verdict_class(manifest: Manifest, variant: Variant, device: str) -> str | None:
    verdict = manifest.verdict(variant, device)
    return verdict.platform.cpu_class if verdict is not None and verdict.platform is not None else None
