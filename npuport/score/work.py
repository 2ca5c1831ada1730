"""The unit of work of both engines: a shard read, predicted in one call and encoded, by the same code in this
process and in a Ray actor, so their outputs are byte-identical."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from npuport.core.devices import Device
from npuport.core.progress import Progress
from npuport.runtime import Classifier, load
from npuport.score.rows import Shard, read_shard
from npuport.score.shards import encode_shard


@dataclass(frozen=True)
class ShardJob:
    """What every scorer of one run needs to turn a shard into its output file's bytes."""

    package: str
    variant: str
    device: Device
    threads: int | None
    source: str
    suffix: str  # the output's: .jsonl or .parquet
    batch_size: int

    def load(self) -> Classifier:
        return load(self.package, self.variant, self.device, self.threads)


def score_shard(classifier: Classifier, job: ShardJob, shard: Shard, progress: Progress | None = None) -> bytes:
    """One shard, read, predicted in one call and encoded: the unit of work of both engines."""
    rows = read_shard(Path(job.source), shard)
    predictions = classifier.predict([row.text for row in rows], batch_size=job.batch_size, progress=progress)
    return encode_shard(rows, predictions, classifier.labels, job.suffix)
