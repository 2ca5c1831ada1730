"""`bench_artifacts`: time variants end to end (texts in → Predictions out) and engine-only (token batches in →
logits out) against the hand-written baseline, both in the same run.

For every variant: the first-call cost (hash check, load incl. session creation, first predict) apart from steady
state, and its peak memory; then for every batch size, the texts are cut into batches in file order and the
baseline and the variant run the same batches in alternating blocks (see _Pairing), so every ratio comes from
samples taken side by side under the same machine load. Threads are pinned
for both (torch.set_num_threads and ONNX Runtime intra-op threads) and recorded with whether idle threads spin (see
runtime.backends), the CPU class and the load average: every figure says what it was measured under.

Results go to `<artifacts>/reports/bench-<device>.json`: one record per (variant, batch size), each with the
variant id and sha256 so a stale record can be recognised; records of variants not run now are kept while their
files are unchanged.
"""

from __future__ import annotations

import math
import os
import platform
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from npuport.bench.baseline import HandWrittenBaseline
from npuport.bench.timing import latency_stats, speedup, throughput
from npuport.core.clock import utc_now, utc_now_precise
from npuport.core.corpus import language_of, load_corpus
from npuport.core.devices import CPU, Device, cpu_class
from npuport.core.errors import InputError
from npuport.core.manifest import Manifest, Variant
from npuport.core.memory import MemoryProbe, release_memory
from npuport.core.progress import Progress, done, reporter, start, total
from npuport.core.reports.bench import BenchDocument, BenchRecord, FirstCall, MemoryUse, Paired, Timed, write_bench
from npuport.core.reports.paths import bench_path
from npuport.core.texts import read_texts
from npuport.runtime.backends import spinning, torch_wait_policy

PAUSE_S = 0.05  # between timed blocks, so the previous engine's threads stop spinning
BLOCKS = 8  # blocks per pass over the texts, alternating baseline and variant


@dataclass(frozen=True)
class BenchOptions:
    device: Device = CPU
    variants: tuple[str, ...] = ()  # empty: every variant in the manifest
    batch_sizes: tuple[int, ...] = (1, 16)
    texts_file: Path | None = None  # default: the bundled corpus in the model's language
    threads: int | None = None  # default: every core
    source: Path | None = None  # the baseline's model directory (default: manifest.source.path)
    repeat: int = 1  # timed passes over the texts per variant and batch size
    warmup: int = 2  # untimed calls per variant and batch size (and as many for the baseline)
    max_batches: int | None = None  # cap on timed calls per pass (quick runs)

    def __post_init__(self) -> None:
        if not self.batch_sizes or any(b < 1 for b in self.batch_sizes):
            raise InputError(f"batch sizes must be positive integers, got {list(self.batch_sizes)}")
        if self.threads is not None and self.threads < 1:
            raise InputError(f"threads must be at least 1, got {self.threads}")
        if self.repeat < 1 or self.warmup < 0 or (self.max_batches is not None and self.max_batches < 1):
            raise InputError("repeat and max_batches must be at least 1, warmup at least 0")


@dataclass
class BenchRun:
    path: Path  # the JSON written
    document: BenchDocument  # as written: this run's records and the earlier ones still current
    records: list[BenchRecord] = field(default_factory=list)  # this run's records


def parse_batch_sizes(text: str) -> tuple[int, ...]:
    """The CLI's '1,16' → (1, 16)."""
    try:
        sizes = tuple(dict.fromkeys(int(part) for part in text.split(",") if part.strip()))
    except ValueError:
        raise InputError(f"bad --batch-sizes {text!r}: expected positive integers like 1,16") from None
    if not sizes or any(size < 1 for size in sizes):
        raise InputError(f"bad --batch-sizes {text!r}: expected positive integers like 1,16")
    return sizes


def corpus_texts(labels: list[str]) -> tuple[list[str], str]:
    """The bundled corpus in the model's language (by its label set); both languages for other label sets."""
    lang = language_of(labels)
    if lang is not None:
        return [e.text for e in load_corpus(lang)], f"bundled corpus ({lang})"
    return [e.text for lang in ("zh", "en") for e in load_corpus(lang)], "bundled corpus (zh+en)"


def pin_threads(threads: int | None) -> int:
    """torch's intra-op pool for the baseline and TorchScript; the same number goes to ONNX Runtime sessions."""
    torch_wait_policy()
    import torch

    count = threads or os.cpu_count() or 1
    torch.set_num_threads(count)
    return count


def batches_of(texts: Sequence[str], size: int, limit: int | None) -> list[list[str]]:
    """Consecutive batches in file order (the last one may be short), at most `limit` of them."""
    cut = [list(texts[i : i + size]) for i in range(0, len(texts), size)]
    return cut[:limit] if limit else cut


def _timed(call: Callable[[], object]) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def _host(threads: int) -> dict[str, Any]:
    import onnxruntime
    import torch

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), **thread_settings(threads), "torch": torch.__version__,
            "onnxruntime": onnxruntime.__version__, "python": platform.python_version()}


def thread_settings(threads: int) -> dict[str, Any]:
    """How the engines' threads ran: how many, whether idle ones spin, and the CPU class the figures hold for."""
    return {"threads": threads, "spinning": {"onnxruntime": spinning(), "torch_wait_policy": torch_wait_policy()},
            "cpu_class": cpu_class().name}


class _Pairing:
    """Timed calls of the baseline and one variant over the same batches, in alternating blocks.

    The batches are cut into BLOCKS blocks; each block is run by one engine and then the other (the first
    engine alternating from block to block), so both see the same machine load over the run (other work on a
    shared machine comes and goes within seconds). Not alternated call by call: torch's and ONNX Runtime's
    thread pools keep spinning for a while after a call, and alternating the engines per call makes each one's
    spinning threads steal the cores the other needs (measured here: 10x slower both ways); a short pause
    between blocks lets them settle. The same pairing times end to end (texts) and engine-only (token batches)."""

    def __init__(self, baseline: Callable[[Any], object], mine: Callable[[Any], object]) -> None:
        self.baseline = baseline
        self.mine = mine

    def run(self, batches: list[Any], warmup: int, repeat: int) -> tuple[list[float], list[float]]:
        base: list[float] = []
        mine: list[float] = []
        engines = [(self.baseline, base), (self.mine, mine)]
        for call, _ in engines:
            for batch in (batches * warmup)[:warmup]:
                call(batch)
        size = max(1, math.ceil(len(batches) / BLOCKS))
        blocks = [batches[i : i + size] for i in range(0, len(batches), size)]
        for turn in range(repeat):
            for number, block in enumerate(blocks):
                for call, into in engines if (turn + number) % 2 == 0 else engines[::-1]:
                    into.extend(_timed(partial(call, batch)) for batch in block)
                    time.sleep(PAUSE_S)
        return base, mine


def _result(texts: int, seconds: list[float], base: list[float]) -> Paired:
    mine_stats, base_stats = latency_stats(seconds), latency_stats(base)
    return Paired(
        latency=mine_stats, throughput=throughput(texts, mine_stats.total_s),
        baseline=Timed(latency=base_stats, throughput=throughput(texts, base_stats.total_s)),
        speedup={
            "throughput": speedup(base_stats.total_s, mine_stats.total_s),
            "p50": speedup(base_stats.p50_ms, mine_stats.p50_ms),
            "p90": speedup(base_stats.p90_ms, mine_stats.p90_ms),
            "p99": speedup(base_stats.p99_ms, mine_stats.p99_ms),
        },
    )


def bench_artifacts(path: str | Path, options: BenchOptions | None = None, progress: Progress | None = None) -> BenchRun:
    """Benchmark the chosen variants of an artifacts directory on a device; write and return the report."""
    options = options or BenchOptions()
    notify = reporter(progress)
    root = Path(path)
    manifest = Manifest.load(root)
    device = options.device
    chosen = [manifest.variant(v) for v in options.variants] if options.variants else list(manifest.variants)
    threads = pin_threads(options.threads)
    if options.texts_file is not None:
        texts, text_source = read_texts(options.texts_file), str(options.texts_file)
    else:
        texts, text_source = corpus_texts(manifest.source.labels)
    plans = {bs: batches_of(texts, bs, options.max_batches) for bs in options.batch_sizes}
    notify(total(1 + len(chosen) * (1 + len(plans))))
    load_start = os.getloadavg()

    notify(start("baseline: load"))
    baseline = HandWrittenBaseline(options.source or Path(manifest.source.path), device, manifest.source.max_length,
                                   manifest.source.activation, manifest.source.threshold, manifest.source.labels)
    baseline_probe = MemoryProbe().start()
    baseline_load = _timed(baseline.load)
    baseline_first = _timed(lambda: baseline.predict(plans[options.batch_sizes[0]][0]))
    baseline.predict(_heaviest(plans)[1])  # memory: the largest activations it will see
    baseline_memory = baseline_probe.stop()
    notify(done("baseline: load"))

    # Every record of this run carries when it started (to the microsecond: runs follow each other within a second in
    # scripts), so `report` shows figures of one run only.
    run = utc_now_precise()
    records: list[BenchRecord] = []
    for variant in chosen:
        records += _bench_variant(root, manifest, variant, device, threads, baseline, plans, options, notify,
                                  {"text_source": text_source, "run": run})
    baseline.close()

    document = BenchDocument(
        model=manifest.source.architecture,
        artifacts=str(root),
        device=str(device),
        created=utc_now(),
        host=_host(threads) | {"loadavg_start": list(load_start), "loadavg_end": list(os.getloadavg())},
        texts={"source": text_source, "count": len(texts), "order": "file order, consecutive batches"},
        method="end to end: texts in → predictions out, tokenization included (npuport groups a batch's texts by "
                  "length, the baseline pads them to the longest); engine_only: the baseline's padded token batches "
                  "straight into the model and into the variant, no tokenizer; each pairs baseline and variant on the "
                  f"same batches in {BLOCKS} alternating blocks per pass, in this run; warm-up calls excluded; "
                  "throughput = texts / sum of timed calls; slower_than_baseline: engine-only throughput below the "
                  "baseline's",
        baseline=baseline.describe() | {
            "first_call": {"load_s": baseline_load, "first_predict_s": baseline_first},
            "memory": {"method": baseline_probe.method, "mib": baseline_memory,
                       "covers": "load, first call and the heaviest planned batch"},
        },
        records=records,
    )
    written = write_bench(root, list(manifest.variants), document)
    return BenchRun(bench_path(root, str(device)), written, records)


def _heaviest(plans: dict[int, list[list[str]]]) -> tuple[int, list[str]]:
    """The planned batch with the most characters (a proxy for tokens) and its batch size."""
    return max(((size, batch) for size, batches in plans.items() for batch in batches),
               key=lambda item: sum(map(len, item[1])))


def _bench_variant(root: Path, manifest: Manifest, variant: Variant, device: Device, threads: int,
                   baseline: HandWrittenBaseline, plans: dict[int, list[list[str]]], options: BenchOptions,
                   notify: Progress, run: dict[str, str]) -> list[BenchRecord]:
    """First-call cost and memory of one variant, then its timed batches beside the baseline's."""
    from npuport.runtime import load
    from npuport.runtime.loader import effective_max_length

    notify(start(f"{variant.id}: load"))
    load_before = os.getloadavg()[0]
    probe = MemoryProbe().start()
    verify = _timed(lambda: [record.verify(root) for record in {r.path: r for r in variant.files}.values()])
    started = time.perf_counter()
    classifier = load(root, variant.id, device, threads)
    load_s = time.perf_counter() - started
    try:
        first_size = options.batch_sizes[0]
        first = _timed(lambda: classifier.predict(plans[first_size][0], batch_size=first_size))
        heaviest_size, heaviest = _heaviest(plans)
        classifier.predict(heaviest, batch_size=heaviest_size)  # memory: the largest activations it will see
        memory = probe.stop()
        notify(done(f"{variant.id}: load"))
        names = [spec.name for spec in variant.inputs]
        engine_only = _Pairing(baseline.logits, lambda feed: classifier.logits({name: feed[name] for name in names}))
        timed = []
        for size, batches in plans.items():
            notify(start(f"{variant.id}: batch {size}"))
            end_to_end = _Pairing(baseline.predict, lambda batch, bs=size: classifier.predict(batch, batch_size=bs))
            base, mine = end_to_end.run(batches, options.warmup, options.repeat)
            feeds = [baseline.encode(batch) for batch in batches]  # the same padded token batches for both engines
            engine_base, engine_mine = engine_only.run(feeds, options.warmup, options.repeat)
            notify(done(f"{variant.id}: batch {size}"))
            count = sum(len(b) for b in batches) * options.repeat
            timed.append((size, count, mine, base, _result(count, engine_mine, engine_base)))
        engine = classifier.engine
    finally:
        classifier.close()  # releases its sessions / modules; release_memory hands the heap back
        release_memory()
    common = {
        "variant": variant.id, "sha256": variant.digest, "format": variant.format, "precision": variant.precision,
        "shape": variant.shape, "device": str(device), "engine": engine,
        "bytes": variant.load_bytes,
        "max_length": effective_max_length(manifest, variant), **thread_settings(threads),
        "loadavg_1min": [load_before, os.getloadavg()[0]],  # before and after this variant's runs
        "first_call": FirstCall(verify_s=verify, load_s=load_s, first_predict_s=first),
        "memory": MemoryUse(method=probe.method, mib=memory,
                            covers="load, first call and the heaviest planned batch; the baseline's memory is not in it"),
        "parity": manifest.parity(variant, str(device)),
    } | run
    return [BenchRecord.model_validate(common | dict(_result(count, mine, base)) | {
                "batch_size": size, "texts": count, "calls": len(mine), "engine_only": engine_only,
                "slower_than_baseline": engine_only.speedup["throughput"] < 1, "created": utc_now()})
            for size, count, mine, base, engine_only in timed]
