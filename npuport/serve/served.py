"""The served model, shared by every way in (POST /predict, the Open Inference Protocol v2 over HTTP and over gRPC):
one classifier, one micro-batcher, one metrics registry, one readiness.

`answer` runs one classification request with the metrics every endpoint keeps (in flight, latency, requests by
endpoint and status, errors by reason) and turns the batcher's refusals into RequestErrors with their status; the
transports turn that status into theirs. Warm-up runs after the server starts listening; until it is done the
server is not ready. Draining (`begin_drain`, when SIGTERM arrives): not ready, and the listeners registered with
`on_drain` hear of it (bodies still uploading get a short grace).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from npuport.serve.batcher import Closed, InferenceFailed, MicroBatcher, QueueFull
from npuport.serve.config import ServeConfig, fit_batching
from npuport.serve.metadata import metadata, warm_up
from npuport.serve.metrics import ServeMetrics
from npuport.serve.request import PredictRequest, RequestError

if TYPE_CHECKING:
    from npuport.runtime.classifier import Classifier, Prediction

log = logging.getLogger("npuport.serve")
CLOSE = {"Connection": "close"}
CLIENT_WENT_AWAY = 499  # the status nginx logs for a client that closed its request: no answer was sent


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any  # the handler's result when the status is 200, else the error {"error": message, "code": reason, …}
    headers: dict[str, str] | None = None


class ServedModel:
    def __init__(self, classifier: Classifier, config: ServeConfig) -> None:
        self.classifier = classifier
        self.config = config
        self.batching = fit_batching(classifier.variant, config)
        self.max_batch_size = self.batching.max_batch_size
        self.metrics = ServeMetrics()
        self.batcher = MicroBatcher(classifier, self.max_batch_size, self.batching.max_wait_ms, config.max_queue,
                                    self.metrics)
        self.about = metadata(classifier, config, self.batching)
        self.name = config.model_name or "model"
        self.ready = False
        self.closing = False
        self.draining = False
        self.cancelled = 0  # requests cancelled unanswered when the drain ran out
        self.warmup_error: str | None = None
        self._drain_listeners: list[Callable[[], None]] = []

    async def answer(self, endpoint: str, handle: Callable[[], Awaitable[Any]]) -> Answer:
        """Run one classification request, counted; errors as their Answer. A request cancelled by its transport
        while draining (the drain ran out) is answered 503 if still possible; one cancelled before (a gRPC
        client that gave up) is counted and stays cancelled."""
        started = time.perf_counter()
        self.metrics.in_flight.inc()
        try:
            answer = Answer(200, await handle())
        except RequestError as exc:
            answer = Answer(exc.status, exc.body, exc.headers)
        except asyncio.CancelledError:
            if not self.draining:
                self._count(endpoint, CLIENT_WENT_AWAY, "client_cancelled", started)
                raise
            self.cancelled += 1
            task = asyncio.current_task()
            if task is not None:
                task.uncancel()
            answer = Answer(503, {"error": "the server is shutting down: the drain ran out (drain_timeout_s "
                                  f"{self.config.timeouts.drain_s:g}) before this request was answered",
                                  "code": "shutting_down"}, CLOSE)
        finally:
            self.metrics.in_flight.dec()
        self._count(endpoint, answer.status, None if answer.status == 200 else answer.body["code"], started)
        return answer

    def _count(self, endpoint: str, status: int, reason: str | None, started: float) -> None:
        if reason is not None:
            self.metrics.errors.labels(reason).inc()
        self.metrics.requests.labels(endpoint, str(status)).inc()
        self.metrics.latency.observe(time.perf_counter() - started)

    def count(self, endpoint: str, status: int = 200) -> None:
        """A request that classifies nothing (health, metadata), answered with `status`."""
        self.metrics.requests.labels(endpoint, str(status)).inc()

    async def classify(self, parsed: PredictRequest) -> list[Prediction]:
        """The request's predictions from the micro-batcher; its refusals as RequestErrors."""
        try:
            return await self.batcher.predict(parsed)
        except QueueFull as exc:
            raise RequestError(429, "queue_full", str(exc), {"Retry-After": "1"}, limit="max_queue",
                               max=self.config.max_queue) from None
        except Closed as exc:
            raise RequestError(503, "shutting_down", str(exc)) from None
        except InferenceFailed as exc:
            raise RequestError(500, "inference_failed", str(exc)) from None

    def readiness(self) -> tuple[int, dict[str, Any]]:
        """200 and {"status": "ready"}, or 503 and why not."""
        if self.warmup_error is not None:
            return 503, {"status": "failed", "error": self.warmup_error}
        if self.closing or self.draining:
            return 503, {"status": "shutting down"}
        if not self.ready:
            return 503, {"status": "warming up"}
        return 200, {"status": "ready"}

    def on_drain(self, listener: Callable[[], None]) -> None:
        self._drain_listeners.append(listener)

    def begin_drain(self) -> None:
        """Shutdown began: not ready from now on; the listeners hear of it."""
        self.draining = True
        for listener in self._drain_listeners:
            listener()

    async def warm_up(self) -> None:
        if self.config.warmup:
            started = time.perf_counter()
            try:
                await self.batcher.run_in_worker(warm_up, self.classifier, self.max_batch_size)
            except Exception as exc:
                self.warmup_error = f"warm-up failed: {type(exc).__name__}: {exc}"
                log.error("%s", self.warmup_error, exc_info=exc)
                return
            log.info("warmed up in %.1fs; ready", time.perf_counter() - started)
        self.ready = True
        self.metrics.ready.set(1)

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """The batcher running and warm-up started; on exit, every queued request answered, then the batcher stopped."""
        await self.batcher.start()
        warming = asyncio.create_task(self.warm_up())
        try:
            yield
        finally:
            self.closing = True
            self.metrics.ready.set(0)
            await warming  # it runs in the inference thread and cannot be interrupted
            await self.batcher.close()
