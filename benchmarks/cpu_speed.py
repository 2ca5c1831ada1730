"""Every engine a user could pick on this CPU, in one run: eager fp32 and bf16, Optimum's int8, every npuport variant.

    python benchmarks/cpu_speed.py ARTIFACTS [--optimum-int8 model_quantized.onnx] [--rounds 3] [--threads 2]
                                   [--batch-sizes 1,16] [--bs1-texts 48] [--targets roberta|structbert|none]

Engines: transformers eager fp32 (the seeds' code, SDPA attention: the baseline of every ratio) and eager bf16
(`model.to(torch.bfloat16)`), Optimum's int8 file where given (made by benchmarks/optimum_int8.sh, run by an ONNX
Runtime session as Optimum's ORTModel runs it), and every dynamic npuport variant in ARTIFACTS. The texts are the
bundled corpus in the model's language, in file order, cut into batches; every engine sees the same batches.

Two timings per engine and batch size: **engine-only** (the same padded token batches — padding to the longest
text of each batch, as the hand-written code tokenizes — straight into the model, no tokenizer) and **end to end**
(texts in → probabilities out, each engine's own tokenization and batching; npuport groups texts by length, so its
end-to-end ratio at batch 16 also measures padding it avoids). Rounds are interleaved (each round times every
engine once, the order rotated), and a ratio is the median over rounds of (eager fp32's time / the engine's time)
in the same round, so machine load that comes and goes cancels. Parity: max |Δp|, worst-text cosine and top-1
agreement against eager fp32 on the same batches (engine-only outputs); "gate" is npuport's verdict for the
variant's current files on cpu (`npuport validate`) and the CPU class it was reached on. An engine slower than
eager fp32 engine-only is flagged.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from npuport.bench.baseline import HandWrittenBaseline
from npuport.bench.benchmark import corpus_texts, pin_threads
from npuport.core.decisions import to_probabilities
from npuport.core.devices import Device, cpu_class
from npuport.core.manifest import Manifest
from npuport.runtime import load

Feed = dict[str, np.ndarray]


@dataclass
class Engine:
    name: str
    logits: Callable[[Feed], np.ndarray]  # engine-only: an encoded batch → logits
    predict: Callable[[list[str]], object]  # end to end: texts → predictions
    inputs: list[str] | None = None  # the feed names it takes (None: all the tokenizer gives)
    gate: str = "-"
    times: dict[tuple[int, str], list[float]] = field(default_factory=dict)  # (batch, mode) → seconds per round
    calls: dict[tuple[int, str], list[float]] = field(default_factory=dict)  # (batch, mode) → seconds per call

    def feed(self, feed: Feed) -> Feed:
        return feed if self.inputs is None else {name: feed[name] for name in self.inputs}


def eager_engines(source: Path, manifest: Manifest, threads: int) -> tuple[HandWrittenBaseline, list[Engine]]:
    engines = []
    for precision in ("fp32", "bf16"):
        eager = HandWrittenBaseline(source, Device("cpu"), manifest.source.max_length, manifest.source.activation,
                                    manifest.source.threshold, manifest.source.labels)
        eager.load()
        if precision == "bf16":
            eager.to_bfloat16()
        else:
            baseline = eager
        engines.append(Engine(f"transformers eager {precision} ({eager.attn_implementation})", eager.logits,
                              eager.probabilities))
    return baseline, engines


def optimum_engine(path: Path, baseline: HandWrittenBaseline, threads: int, activation: str) -> Engine:
    """Optimum's int8 file in an ONNX Runtime session with default options and `threads` intra-op threads, the way
    `ORTModelForSequenceClassification` creates it, on the seeds' tokenization."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    names = [i.name for i in session.get_inputs()]

    def logits(feed: Feed) -> np.ndarray:
        return session.run(None, {name: feed[name] for name in names})[0]

    return Engine(f"Optimum int8 ({path.name})", logits, lambda texts: to_probabilities(logits(baseline.encode(texts)), activation),
                  inputs=names)


def npuport_engines(root: Path, threads: int, wanted: list[str] | None, label: str = "") -> list[Engine]:
    """Every dynamic variant of the artifacts at `root` (or the `wanted` ones), engine-only through
    `Classifier.logits` (the validation entry: no tokenizer) and end to end through `predict`."""
    here = cpu_class().name
    manifest = Manifest.load(root)
    engines = []
    for variant in manifest.variants:
        if variant.shape != "dynamic" or (wanted and variant.id not in wanted):
            continue
        classifier = load(root, variant.id, "cpu", threads)
        verdict = manifest.verdict(variant, "cpu")
        gate = "not validated" if verdict is None else ("PASS" if verdict.passed else "FAIL")
        if verdict is not None and verdict.platform is not None and verdict.platform.cpu_class != here:
            gate += f" (on {verdict.platform.cpu_class})"
        engines.append(Engine(f"npuport {variant.id}{label}", classifier.logits,
                              lambda texts, c=classifier: c.predict(texts, batch_size=len(texts)),
                              inputs=[s.name for s in variant.inputs], gate=gate))
    return engines


def parity(reference: list[np.ndarray], got: list[np.ndarray], activation: str) -> tuple[float, float, float]:
    want, have = (np.concatenate([to_probabilities(x, activation) for x in side]) for side in (reference, got))
    cosine = (want * have).sum(1) / np.maximum(np.linalg.norm(want, axis=1) * np.linalg.norm(have, axis=1), 1e-12)
    return float(np.abs(want - have).max()), float(cosine.min()), float((want.argmax(1) == have.argmax(1)).mean())


def run(engines: list[Engine], plans: dict[int, tuple[list[list[str]], list[Feed]]], rounds: int) -> None:
    for engine in engines:  # warm-up: every shape class once
        for texts, feed in zip(*plans[max(plans)]):
            engine.logits(engine.feed(feed))
            engine.predict(texts)
            break
    for turn in range(rounds):
        order = engines[turn % len(engines):] + engines[: turn % len(engines)]
        for size, (batches, feeds) in plans.items():
            for mode in ("engine-only", "end to end"):
                for engine in order:
                    calls = []
                    for texts, feed in zip(batches, feeds):
                        started = time.perf_counter()
                        engine.logits(engine.feed(feed)) if mode == "engine-only" else engine.predict(texts)
                        calls.append(time.perf_counter() - started)
                    engine.times.setdefault((size, mode), []).append(sum(calls))
                    engine.calls.setdefault((size, mode), []).extend(calls)
                    time.sleep(0.05)


def ratio(base: Engine, engine: Engine, key: tuple[int, str]) -> float:
    return statistics.median(b / e for b, e in zip(base.times[key], engine.times[key]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("artifacts", type=Path)
    parser.add_argument("--source", type=Path, help="the model directory (default: the manifest's source path)")
    parser.add_argument("--optimum-int8", type=Path, help="Optimum's quantized model.onnx (benchmarks/optimum_int8.sh)")
    parser.add_argument("--variants", help="comma list (default: every dynamic variant)")
    parser.add_argument("--extra", action="append", default=[], metavar="ARTIFACTS:VARIANT",
                        help="a variant of other artifacts of the same model, e.g. the portable int8 build")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch-sizes", default="1,16")
    parser.add_argument("--bs1-texts", type=int, default=48, help="texts timed one by one (batch 1)")
    parser.add_argument("--max-batches", type=int, help="batches of 16 timed per round (default: every text)")
    parser.add_argument("--targets", choices=("roberta", "structbert", "none"), default="none")
    args = parser.parse_args()
    load_start = os.getloadavg()
    threads = pin_threads(args.threads)
    manifest = Manifest.load(args.artifacts)
    baseline, engines = eager_engines(args.source or Path(manifest.source.path), manifest, threads)
    if args.optimum_int8:
        engines.append(optimum_engine(args.optimum_int8, baseline, threads, manifest.source.activation))
    engines += npuport_engines(args.artifacts, threads, args.variants.split(",") if args.variants else None)
    for extra in args.extra:
        root, _, variant = extra.rpartition(":")
        engines += npuport_engines(Path(root), threads, [variant], f" ({Path(root).name})")  # not [..]: rich markup
    texts, source = corpus_texts(manifest.source.labels)
    plans = {}
    for size in (int(part) for part in args.batch_sizes.split(",")):
        chosen = texts[: args.bs1_texts] if size == 1 else texts[: size * args.max_batches] if args.max_batches else texts
        batches = [chosen[i : i + size] for i in range(0, len(chosen), size)]
        plans[size] = (batches, [baseline.encode(batch) for batch in batches])
    run(engines, plans, args.rounds)
    base = engines[0]
    console = Console(width=220)
    table = Table(title=f"{manifest.source.architecture} on {cpu_class().name} ({threads} threads), {source}: "
                        f"{sum(map(len, plans[max(plans)][0]))} texts at batch {max(plans)}, {args.bs1_texts} at batch 1; {args.rounds} interleaved rounds; "
                        f"load average {load_start[0]:.2f} at start, {os.getloadavg()[0]:.2f} at end")
    for column in ("engine", "batch", "engine-only texts/s", "× eager fp32", "end-to-end texts/s", "× eager fp32 ",
                   "p50 ms e2e", "max |Δp|", "min cos", "top-1", "gate (cpu)", "note"):
        table.add_column(column, justify="left" if column in ("engine", "gate (cpu)", "note") else "right")
    summary: dict[tuple[str, int], float] = {}
    for size, (batches, feeds) in plans.items():
        count = sum(map(len, batches))
        reference = [base.logits(base.feed(feed)) for feed in feeds]
        for engine in engines:
            engine_only, e2e = ratio(base, engine, (size, "engine-only")), ratio(base, engine, (size, "end to end"))
            summary[(engine.name, size)] = engine_only
            delta, cosine, top1 = parity(reference, [engine.logits(engine.feed(feed)) for feed in feeds], manifest.source.activation)
            table.add_row(engine.name, str(size), f"{count / statistics.median(engine.times[(size, 'engine-only')]):.1f}",
                          f"{engine_only:.2f}", f"{count / statistics.median(engine.times[(size, 'end to end')]):.1f}",
                          f"{e2e:.2f}", f"{statistics.median(engine.calls[(size, 'end to end')]) * 1e3:.2f}",
                          f"{delta:.4f}", f"{cosine:.4f}", f"{top1:.1%}", engine.gate,
                          "SLOWER than eager fp32 (engine-only)" if engine_only < 1 else "")
    console.print(table)
    targets(console, engines, summary, args.targets)


def targets(console: Console, engines: list[Engine], speed: dict[tuple[str, int], float], which: str) -> None:
    """Issue 23's targets on this class, from this run's figures."""
    passing = [e for e in engines if e.gate.startswith("PASS")]
    optimum = next((e for e in engines if e.name.startswith("Optimum")), None)
    lines = []
    if which == "roberta" and passing:
        best = max(passing, key=lambda e: speed[(e.name, 16)])
        vnni = cpu_class().name in ("x86-64-amx", "x86-64-avx512-vnni", "x86-64-avx-vnni")
        want = 8.0 if vnni else 3.0
        lines.append(f"best passing variant engine-only at batch 16: {best.name} {speed[(best.name, 16)]:.2f}× eager fp32 "
                     f"(target ≥ {want}× on {'AMX/VNNI' if vnni else 'AVX2'}): "
                     f"{'PASS' if speed[(best.name, 16)] >= want else 'MISS'}")
        if optimum is not None:
            versus = speed[(best.name, 16)] / speed[(optimum.name, 16)]
            lines.append(f"… against Optimum's int8: {versus:.2f}× (target ≥ 1.5×): {'PASS' if versus >= 1.5 else 'MISS'}")
    if which == "structbert" and passing:
        best = min(passing, key=lambda e: statistics.median(e.calls[(1, "end to end")]))
        p50 = statistics.median(best.calls[(1, "end to end")]) * 1e3
        lines.append(f"fastest passing variant at batch 1 end to end: {best.name} p50 {p50:.3f} ms (target ≤ 0.5 ms on an "
                     f"idle AVX-512 machine): {'PASS' if p50 <= 0.5 else 'MISS'}")
    for line in lines:
        console.print(line)


if __name__ == "__main__":
    main()
