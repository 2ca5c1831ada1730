"""The ASGI app (Starlette): POST /predict through the micro-batcher, GET /health, /metadata and /metrics.

Every error is a JSON object {"error": message, "code": …} (plus "limit" and "max" when a limit was hit) with
its status: 400 malformed JSON, 408 the body took longer than body_timeout_s, 413 over a limit, 422 invalid
contents, 429 queue full, 500 inference failed for the request (run on its own), 503 shutting down. The app is
built around an already loaded Classifier (load errors belong to the caller); warm-up runs after the server starts
listening, and /health says 503 until it is done.

Draining (`begin_drain`, called by the server when SIGTERM arrives): a request whose body has arrived is answered
as usual; one still uploading its body gets DRAIN_UPLOAD_GRACE_S more at most, then 503, so a slow upload does not
hold the process.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from npuport.serve.batcher import Closed, InferenceFailed, MicroBatcher, QueueFull
from npuport.serve.config import ServeConfig, fit_batching
from npuport.serve.metadata import metadata, warm_up
from npuport.serve.metrics import ServeMetrics
from npuport.serve.request import RequestError, over_limit, parse_predict

if TYPE_CHECKING:
    from npuport.runtime.classifier import Classifier

log = logging.getLogger("npuport.serve")
DRAIN_UPLOAD_GRACE_S = 1.0
CLOSE = {"Connection": "close"}


class _Service:
    """The handlers and the state they share: one classifier, one batcher, one metrics registry."""

    def __init__(self, classifier: Classifier, config: ServeConfig) -> None:
        self.classifier = classifier
        self.config = config
        self.batching = fit_batching(classifier.variant, config)
        self.max_batch_size = self.batching.max_batch_size
        self.metrics = ServeMetrics()
        self.batcher = MicroBatcher(classifier, self.max_batch_size, self.batching.max_wait_ms, config.max_queue,
                                    self.metrics)
        self.about = metadata(classifier, config, self.batching)
        self.ready = False
        self.closing = False
        self.draining = False
        self.cancelled = 0  # requests cancelled unanswered when the drain ran out
        self.warmup_error: str | None = None
        self._uploads: set[asyncio.Timeout] = set()  # the deadlines of bodies being read

    async def predict(self, request: Request) -> Response:
        started = time.perf_counter()
        self.metrics.in_flight.inc()
        try:
            status, body, headers = await self._predict(request)
        except asyncio.CancelledError:
            # only uvicorn cancels a request, when the drain runs out: answer that (not a bare 500) if still possible
            self.cancelled += 1
            task = asyncio.current_task()
            if task is not None:
                task.uncancel()
            status, body, headers = 503, {"error": "the server is shutting down: the drain ran out (drain_timeout_s "
                                                   f"{self.config.timeouts.drain_s:g}) before this request was answered",
                                          "code": "shutting_down"}, CLOSE
        finally:
            self.metrics.in_flight.dec()
        if status != 200:
            self.metrics.errors.labels(body["code"]).inc()
        self.metrics.requests.labels("/predict", str(status)).inc()
        self.metrics.latency.observe(time.perf_counter() - started)
        return JSONResponse(body, status, headers)

    def head_timed_out(self) -> None:
        """A client did not send its request head in time (answered 408 by the HTTP protocol, before any route)."""
        self.metrics.errors.labels("request_timeout").inc()

    def begin_drain(self) -> None:
        """Shutdown began: bodies still on their way get DRAIN_UPLOAD_GRACE_S more at most."""
        self.draining = True
        for deadline in self._uploads:
            _shorten(deadline, DRAIN_UPLOAD_GRACE_S)

    async def _receive(self, request: Request) -> bytes:
        """The body within body_timeout_s of the request head (or the drain grace, once draining)."""
        try:
            async with asyncio.timeout(self.config.timeouts.body_s) as deadline:
                if self.draining:
                    _shorten(deadline, DRAIN_UPLOAD_GRACE_S)
                self._uploads.add(deadline)
                try:
                    return await _read_body(request, self.config.limits.max_body_bytes)
                finally:
                    self._uploads.discard(deadline)
        except TimeoutError:  # the rest of the body may still be on its way: not worth reading, so close after
            if self.draining:
                raise RequestError(503, "shutting_down", "the server is shutting down and the body had not arrived",
                                   headers=CLOSE) from None
            limit = self.config.timeouts.body_s
            raise RequestError(408, "request_timeout", f"the body did not arrive within {limit:g} s: the limit "
                               f"body_timeout_s is {limit:g}", headers=CLOSE, limit="body_timeout_s", max=limit) from None

    async def _predict(self, request: Request) -> tuple[int, dict[str, Any], dict[str, str] | None]:
        source = self.classifier.manifest.source
        try:
            body = await self._receive(request)
            parsed = parse_predict(body, self.classifier.labels, source.threshold, self.config.limits)
            predictions = await self.batcher.predict(parsed)
        except RequestError as exc:
            return exc.status, exc.body, exc.headers
        except QueueFull as exc:
            return 429, {"error": str(exc), "code": "queue_full", "limit": "max_queue", "max": self.config.max_queue}, \
                {"Retry-After": "1"}
        except Closed as exc:
            return 503, {"error": str(exc), "code": "shutting_down"}, None
        except InferenceFailed as exc:
            return 500, {"error": str(exc), "code": "inference_failed"}, None
        except ClientDisconnect:
            return 400, {"error": "the client disconnected before sending the whole body", "code": "client_disconnected"}, None
        return 200, {"variant": self.classifier.variant_id, "predictions": [p.to_dict() for p in predictions]}, None

    async def health(self, request: Request) -> Response:
        if self.warmup_error is not None:
            status, body = 503, {"status": "failed", "error": self.warmup_error}
        elif self.closing or self.draining:
            status, body = 503, {"status": "shutting down"}
        elif not self.ready:
            status, body = 503, {"status": "warming up"}
        else:
            status, body = 200, {"status": "ready", "variant": self.classifier.variant_id, "device": str(self.classifier.device)}
        self.metrics.requests.labels("/health", str(status)).inc()
        return JSONResponse(body, status)

    async def metadata(self, request: Request) -> Response:
        self.metrics.requests.labels("/metadata", "200").inc()
        return JSONResponse(self.about | {"ready": self.ready})

    async def prometheus(self, request: Request) -> Response:
        self.metrics.requests.labels("/metrics", "200").inc()
        return Response(self.metrics.render(), media_type=self.metrics.content_type)

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
    async def lifespan(self, app: Starlette) -> AsyncIterator[None]:
        await self.batcher.start()
        warming = asyncio.create_task(self.warm_up())
        try:
            yield
        finally:
            self.closing = True
            self.metrics.ready.set(0)
            await warming  # it runs in the inference thread and cannot be interrupted
            await self.batcher.close()


def create_app(classifier: Classifier, config: ServeConfig | None = None) -> Starlette:
    """A Starlette app serving `classifier`; `app.state.service` exposes the batcher and metrics."""
    service = _Service(classifier, (config or ServeConfig()).check())
    routes = [
        Route("/predict", service.predict, methods=["POST"]),
        Route("/health", service.health, methods=["GET"]),
        Route("/metadata", service.metadata, methods=["GET"]),
        Route("/metrics", service.prometheus, methods=["GET"]),
    ]
    app = Starlette(routes=routes, lifespan=service.lifespan,
                    exception_handlers={HTTPException: _http_error, Exception: _server_error})
    app.state.service = service
    return app


def _shorten(deadline: asyncio.Timeout, seconds: float) -> None:
    soon = asyncio.get_running_loop().time() + seconds
    when = deadline.when()
    if when is None or when > soon:
        deadline.reschedule(soon)


async def _read_body(request: Request, limit: int) -> bytes:
    """The body, refused as soon as it is known to exceed `limit` bytes (never read whole into memory first)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise over_limit(f"the body has {declared} bytes", "max_body_bytes", limit)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise over_limit(f"the body has over {limit} bytes", "max_body_bytes", limit)
        chunks.append(chunk)
    return b"".join(chunks)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    return JSONResponse({"error": f"{request.method} {request.url.path}: {exc.detail}", "code": code},
                        exc.status_code, exc.headers)


async def _server_error(request: Request, exc: Exception) -> Response:
    log.error("unexpected error in %s %s", request.method, request.url.path, exc_info=exc)
    return JSONResponse({"error": f"unexpected {type(exc).__name__}", "code": "internal_error"}, 500)
