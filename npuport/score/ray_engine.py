"""The Ray engine: the pending shards as a Ray Data job, `map_batches` over an actor pool, one Classifier per actor.

Each actor reads its shards from the input itself (the input must be readable where the actors run: on a cluster,
shared storage) and returns each shard's output bytes, made by the same `score_shard` the local engine runs; the
driver writes them, so the output only needs to be writable by the driver. Ray is joined at `address` (default:
RAY_ADDRESS, else a local Ray started here and stopped after); an already initialised Ray is used as it is.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import pickle
import socket
from collections.abc import Iterator
from types import ModuleType
from typing import TYPE_CHECKING

from npuport.core.errors import BackendUnavailableError, InputError, NpuportError
from npuport.score.rows import Shard
from npuport.score.work import ShardJob, score_shard

if TYPE_CHECKING:
    import pyarrow as pa
    import ray.data


class ShardScorer:
    """A Ray actor's callable: loads the Classifier once, then turns batches of shard descriptions into shard bytes.

    An npuport error (the device missing where the actor runs, say) travels back as data, pickled, and the driver
    raises it: Ray hands the driver only the text of an exception raised in an actor, wrapped in its own."""

    def __init__(self, job: ShardJob) -> None:
        self.job = job
        self.failure: NpuportError | None = None
        try:
            self.classifier = job.load()
        except NpuportError as exc:
            self.failure = exc

    def __call__(self, batch: pa.Table) -> pa.Table:
        import pyarrow as pa

        shards = [Shard(**row) for row in batch.to_pylist()]
        try:
            if self.failure is not None:
                raise self.failure
            data, failed = [score_shard(self.classifier, self.job, shard) for shard in shards], False
        except NpuportError as exc:
            data, failed = [pickle.dumps(exc)] * len(shards), True
        return pa.table({"index": pa.array([s.index for s in shards], pa.int64()), "data": pa.array(data, pa.binary()),
                         "failed": pa.array([failed] * len(shards), pa.bool_())})


def run_on_ray(job: ShardJob, pending: list[Shard], workers: int, address: str | None) -> Iterator[tuple[int, bytes]]:
    """(shard index, output bytes) of every pending shard, in the order they finish."""
    import ray

    started = not ray.is_initialized()
    if started:
        reachable(address or os.environ.get("RAY_ADDRESS"))
        ray.init(address=address, include_dashboard=False, logging_level="ERROR", log_to_driver=False)
    try:
        _quiet(ray.data)
        # One CPU reserved per actor (Ray's default), whatever --threads: a pool larger than the cluster never waits.
        scored = ray.data.from_items([dataclasses.asdict(shard) for shard in pending]).map_batches(
            ShardScorer, fn_constructor_args=(job,), batch_size=1, batch_format="pyarrow",
            compute=ray.data.ActorPoolStrategy(size=workers))
        for batch in _batches(scored):
            for index, data, failed in zip(*(batch.column(name).to_pylist() for name in ("index", "data", "failed"))):
                if failed:
                    raise pickle.loads(data)
                yield index, data
    finally:
        if started:
            ray.shutdown()


def reachable(address: str | None, timeout_s: float = 5.0) -> None:
    """`ray.init` retries an address nothing answers at for minutes: a bounded TCP connect first, so an unreachable
    cluster is one line in seconds. No address (or "auto"/"local") starts or finds a local Ray: nothing to check."""
    if not address or address in ("auto", "local"):
        return
    host, sep, port = address.removeprefix("ray://").rpartition(":")
    if not sep or not host or not port.isdigit():
        raise InputError(f"Ray address {address!r} is not HOST:PORT or ray://HOST:PORT")
    try:
        socket.create_connection((host, int(port)), timeout=timeout_s).close()
    except OSError as exc:
        raise BackendUnavailableError(f"cannot reach the Ray cluster at {address}: {exc.strerror or exc} "
                                      f"(tried for up to {timeout_s:g} s)") from None


def _quiet(data: ModuleType) -> None:
    """No Ray Data progress bars (npuport's counts the rows) and nothing of its log on the console: its log files keep
    it, and a failure is npuport's one `error: …` line."""
    data.DataContext.get_current().enable_progress_bars = False
    for handler in logging.getLogger("ray.data").handlers:
        if isinstance(handler, logging.StreamHandler):
            handler.setLevel(logging.CRITICAL)


def _batches(scored: ray.data.Dataset) -> Iterator[pa.Table]:
    """The job's output blocks as they come; a failure of Ray itself (an actor killed, a node lost) is one line."""
    try:
        yield from scored.iter_batches(batch_size=None, batch_format="pyarrow")
    except Exception as exc:
        lines = [line.strip() for line in str(exc).splitlines() if line.strip()] or [type(exc).__name__]
        raise NpuportError(f"the Ray job failed: {lines[-1][:300]}") from None
