"""`score_corpus`: a package's predictions for every row of a corpus of any size, into one .jsonl or .parquet file.

Memory stays bounded by a shard (`shard_rows` rows): the input is read shard by shard, each shard scored in one
`Classifier.predict` call and written as its own file, the files merged at the end (see `shards`). A killed run is
resumed by running it again: finished shards are kept, the others scored, nothing twice. Both engines score a shard
with the same `work.score_shard`, so their outputs are byte-identical: "local" in this process, "ray" as a Ray Data job
with one Classifier per actor (`ray_engine`).
"""

from __future__ import annotations

import importlib
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from npuport.core.archive import unpacked
from npuport.core.devices import CPU, Device
from npuport.core.errors import InputError
from npuport.core.extras import needs_extra
from npuport.core.files import directory_lock
from npuport.core.manifest import Manifest, Variant
from npuport.core.progress import Event, Progress, done, reporter, start, total
from npuport.runtime.loader import choose_variant
from npuport.score.rows import InputPlan, Shard, check_input, plan_input
from npuport.score.shards import check_output, merge, open_parts, write_shard
from npuport.score.work import ShardJob, score_shard

ENGINES = ("local", "ray")


@dataclass(frozen=True)
class ScoreOptions:
    variant: str | None = None  # default: chosen for the device, as `load` does
    device: Device = CPU
    batch_size: int = 16
    shard_rows: int = 2000  # rows per shard: what a crash can cost, what one predict call holds
    engine: str = "local"
    workers: int = 2  # ray: actors, one Classifier each
    threads: int | None = None  # ONNX Runtime threads per Classifier (ray default: 1 per actor)
    ray_address: str | None = None  # ray: a cluster to join (default: RAY_ADDRESS, else a local Ray)


@dataclass(frozen=True)
class ScoreResult:
    output: Path
    rows: int
    shards: int
    resumed_shards: int  # finished by an earlier run, kept as they were
    scored_rows: int  # scored by this run
    seconds: float  # this run's scoring, from the first pending shard to the merged output
    engine: str
    workers: int
    variant: str
    device: str

    @property
    def rows_per_s(self) -> float:
        return self.scored_rows / self.seconds if self.seconds > 0 else 0.0


def score_corpus(package: Path, source: Path, output: Path, options: ScoreOptions = ScoreOptions(),
                 progress: Progress | None = None) -> ScoreResult:
    """Score every row of `source` (.txt, .jsonl, .parquet) with the package (or artifacts) into `output`
    (.jsonl, .parquet), resuming what a killed run into the same output left. `progress` hears the rows."""
    notify = reporter(progress)
    job, manifest, variant = _prepare(package, source, output, options)
    with directory_lock(output, f"score output {output}"):
        notify(start(source.name))  # the first pass: every row checked, the bytes hashed
        plan = plan_input(source, options.shard_rows)
        finished = open_parts(output, _fingerprint(plan, manifest, variant, options, output.suffix))
        pending = [shard for shard in plan.shards if shard.index not in finished]
        notify(total(plan.rows))
        notify(done(source.name, steps=plan.rows - sum(shard.rows for shard in pending)))  # rows scored before
        began = time.perf_counter()
        if pending:
            _run(job, pending, output, options, notify)
        notify(start(f"→ {output.name}"))
        merge(output, len(plan.shards))
        seconds = time.perf_counter() - began
    return ScoreResult(output, plan.rows, len(plan.shards), len(plan.shards) - len(pending),
                       sum(shard.rows for shard in pending), seconds, options.engine,
                       options.workers if options.engine == "ray" else 1, variant.id, str(options.device))


def _prepare(package: Path, source: Path, output: Path, options: ScoreOptions) -> tuple[ShardJob, Manifest, Variant]:
    """Every option checked and the variant chosen before anything is read or started."""
    if options.engine not in ENGINES:
        raise InputError(f"unknown engine {options.engine!r}; use local or ray")
    for name in ("batch_size", "shard_rows", "workers"):
        if getattr(options, name) < 1:
            raise InputError(f"{name.replace('_', ' ')} must be at least 1, got {getattr(options, name)}")
    source, output = check_input(source), check_output(output)
    if output.resolve() == source.resolve():
        raise InputError(f"{output} is the input: choose another output")
    _import_extras(source, output, options.engine)
    # The manifest alone names the variant: on a cluster the driver need not have the device its workers have.
    manifest = Manifest.load(unpacked(Path(package)))
    variant, _ = choose_variant(manifest, options.variant, options.device)
    threads = options.threads if options.threads is not None or options.engine == "local" else 1
    job = ShardJob(str(Path(package).resolve()), variant.id, options.device, threads, str(source.resolve()), output.suffix,
                   options.batch_size)
    return job, manifest, variant


def _import_extras(source: Path, output: Path, engine: str) -> None:
    """The optional libraries this run needs, imported now: a missing one is one line naming its extra."""
    wanted = {"--engine ray": ("ray", "pyarrow")} if engine == "ray" else {}
    for path, verb in ((source, "reading"), (output, "writing")):
        if path.suffix == ".parquet":
            wanted[f"{verb} .parquet"] = ("pyarrow",)
    for what, modules in wanted.items():
        with needs_extra(what):
            for module in modules:
                importlib.import_module(module)


def _fingerprint(plan: InputPlan, manifest: Manifest, variant: Variant, options: ScoreOptions, suffix: str) -> dict[str, Any]:
    """What a shard's contents depend on: a resume against anything else is refused."""
    return {
        "input": {"sha256": plan.sha256, "bytes": plan.bytes, "rows": plan.rows},
        "model": {"variant": variant.id, "files": [f.sha256 for f in variant.records],  # the shared weights file too
                  "tokenizer": [f.sha256 for f in manifest.tokenizer.files], "labels": manifest.source.labels,
                  "threshold": manifest.source.threshold},
        "device": str(options.device),
        "shard_rows": options.shard_rows,
        "format": suffix,
    }


def _run(job: ShardJob, pending: list[Shard], output: Path, options: ScoreOptions, notify: Progress) -> None:
    if options.engine == "ray":
        from npuport.score.ray_engine import run_on_ray

        rows = {shard.index: shard.rows for shard in pending}
        for index, data in run_on_ray(job, pending, options.workers, options.ray_address):
            write_shard(output, index, data)
            notify(done(steps=rows[index]))
        return

    def rows_done(event: Event) -> None:  # predict announces each shard's total: the bar counts the whole input
        if event.get("event") == "done":
            notify(event)

    with job.load() as classifier:
        for shard in pending:
            write_shard(output, shard.index, score_shard(classifier, job, shard, rows_done))
