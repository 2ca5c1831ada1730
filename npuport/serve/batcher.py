"""Micro-batching: concurrent requests wait in one bounded queue and are coalesced into batches that run off the
event loop, one at a time, in a dedicated inference thread.

A batch leaves when it holds `max_batch_size` texts or when its oldest request has waited `max_wait_ms`. While a
batch runs, new requests pile up, and the next batch takes them at once (their oldest has waited long enough):
batches grow with the load even at max_wait_ms=0. Whole requests are taken in arrival order (one larger than
the batch runs on its own, split by the classifier). Each batch is one `Classifier.predict` call with the
model's defaults; every request then gets its own threshold and top_k applied (`Classifier.redecide`) to its own slice.
A batch that fails is retried one request at a time: only a request that fails on its own gets an error.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from npuport.runtime.classifier import Prediction
from npuport.serve.request import PredictRequest

if TYPE_CHECKING:
    from npuport.runtime.classifier import Classifier
    from npuport.serve.metrics import ServeMetrics

log = logging.getLogger("npuport.serve")
T = TypeVar("T")


class QueueFull(Exception):
    """The queue holds as many texts as it may: the client should retry later (429)."""


class Closed(Exception):
    """The batcher is shutting down and takes no new requests (503)."""


class InferenceFailed(Exception):
    """Inference failed for this request, run on its own (500). A failed batch of several requests is retried
    one request at a time, so the others in it are not failed with it."""


@dataclass(eq=False)
class _Job:
    request: PredictRequest
    future: asyncio.Future[list[Prediction]]
    arrived: float

    @property
    def size(self) -> int:
        return len(self.request.texts)


class MicroBatcher:
    def __init__(self, classifier: Classifier, max_batch_size: int, max_wait_ms: float, max_queue: int,
                 metrics: ServeMetrics | None = None) -> None:
        self.classifier = classifier
        self.max_batch_size = max_batch_size
        self.max_wait_ms = max_wait_ms
        self.max_queue = max_queue
        self._metrics = metrics
        self._queue: deque[_Job] = deque()
        self._queued_texts = 0
        self._closing = False
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="npuport-inference")
        self._task: asyncio.Task[None] | None = None
        self._arrived: asyncio.Event | None = None

    @property
    def queued_texts(self) -> int:
        return self._queued_texts

    async def start(self) -> None:
        self._arrived = asyncio.Event()
        self._task = asyncio.create_task(self._collect(), name="npuport-batcher")

    async def run_in_worker(self, function: Callable[..., T], *args: Any) -> T:
        """Run `function` in the inference thread, in turn with the batches (warm-up uses this)."""
        return await asyncio.get_running_loop().run_in_executor(self._executor, function, *args)

    async def predict(self, request: PredictRequest) -> list[Prediction]:
        """This request's predictions, once the batch it joins has run."""
        if self._closing or self._task is None or self._task.done():
            raise Closed("the server is shutting down")
        if self._queued_texts + len(request.texts) > self.max_queue:
            raise QueueFull(f"the queue is full ({self._queued_texts} texts waiting, max_queue {self.max_queue}): "
                            "retry later")
        loop = asyncio.get_running_loop()
        job = _Job(request, loop.create_future(), loop.time())
        self._queue.append(job)
        self._queued_texts += job.size
        self._update_gauges()
        assert self._arrived is not None
        self._arrived.set()
        return await job.future

    async def close(self) -> None:
        """Take no new requests, finish every queued one, then stop the inference thread."""
        self._closing = True
        if self._arrived is not None:
            self._arrived.set()
        if self._task is not None:
            await self._task
        self._executor.shutdown(wait=True)

    async def _collect(self) -> None:
        try:
            await self._collect_batches()
        finally:  # only a bug or a cancel leaves jobs here: answer them rather than leave them hanging
            for job in self._queue:
                if not job.future.done():
                    job.future.set_exception(Closed("the batcher stopped"))
            self._queue.clear()
            self._queued_texts = 0

    async def _collect_batches(self) -> None:
        assert self._arrived is not None
        loop = asyncio.get_running_loop()
        while True:
            while not self._queue:
                if self._closing:
                    return
                self._arrived.clear()
                await self._arrived.wait()
            deadline = self._queue[0].arrived + self.max_wait_ms / 1000
            while self._queued_texts < self.max_batch_size and not self._closing:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    break
                self._arrived.clear()
                try:
                    await asyncio.wait_for(self._arrived.wait(), remaining)
                except TimeoutError:
                    break
            batch = self._take()
            if batch:
                await self._run(batch)

    def _take(self) -> list[_Job]:
        """Whole requests in arrival order up to max_batch_size texts; the first always (even if larger)."""
        batch: list[_Job] = []
        texts = 0
        while self._queue:
            job = self._queue[0]
            if batch and texts + job.size > self.max_batch_size:
                break
            self._queue.popleft()
            self._queued_texts -= job.size
            if job.future.done():  # the client went away while it waited
                continue
            batch.append(job)
            texts += job.size
        self._update_gauges()
        return batch

    async def _run(self, batch: list[_Job]) -> None:
        """Run the batch; if it fails and holds several requests, run each of them on its own, so that a request
        the model cannot take (found only by running it) fails alone and the others in its batch succeed."""
        try:
            results = await self.run_in_worker(self._infer, batch)
        except Exception as exc:
            if len(batch) == 1:
                self._fail(batch[0], exc)
                return
            texts = sum(job.size for job in batch)
            log.warning("a batch of %d requests, %d texts failed (%s: %s); retrying each request on its own",
                        len(batch), texts, type(exc).__name__, _first_line(exc))
            if self._metrics is not None:
                self._metrics.batch_retries.inc()
            for job in batch:
                if job.future.done():  # the client went away meanwhile
                    continue
                try:
                    (predictions,) = await self.run_in_worker(self._infer, [job])
                except Exception as alone:
                    self._fail(job, alone)
                else:
                    _answer(job, predictions)
            return
        for job, predictions in zip(batch, results):
            _answer(job, predictions)

    def _fail(self, job: _Job, exc: Exception) -> None:
        message = f"inference failed for this request's {job.size} text(s): {type(exc).__name__}: {_first_line(exc)}"
        log.error("%s", message, exc_info=exc)
        if not job.future.done():
            job.future.set_exception(InferenceFailed(message))

    def _infer(self, batch: list[_Job]) -> list[list[Prediction]]:
        """In the inference thread: one predict for every text of the batch, then each request's decisions."""
        texts = [text for job in batch for text in job.request.texts]
        started = time.perf_counter()
        predictions = self.classifier.predict(texts, batch_size=self.max_batch_size)
        if self._metrics is not None:
            self._metrics.inference.observe(time.perf_counter() - started)
            self._metrics.batch_texts.observe(len(texts))
            self._metrics.batch_requests.observe(len(batch))
        results, start = [], 0
        for job in batch:
            mine = predictions[start : start + job.size]
            start += job.size
            results.append([self.classifier.redecide(p, job.request.thresholds, job.request.top_k) for p in mine])
        return results

    def _update_gauges(self) -> None:
        if self._metrics is not None:
            self._metrics.queue_requests.set(len(self._queue))
            self._metrics.queue_texts.set(self._queued_texts)


def _answer(job: _Job, predictions: list[Prediction]) -> None:
    if not job.future.done():
        job.future.set_result(predictions)


def _first_line(exc: Exception) -> str:
    return (str(exc).strip().splitlines() or [""])[0][:300]
