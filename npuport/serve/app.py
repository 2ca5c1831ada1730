"""The ASGI app (Starlette): POST /predict through the micro-batcher, GET /health, /metadata and /metrics, and the
Open Inference Protocol v2 (`oip`: /v2/health/*, /v2/models/{name}[/ready|/infer]) through the same batcher,
limits and metrics.

Every error is a JSON object {"error": message, "code": …} (plus "limit" and "max" when a limit was hit) with
its status: 400 malformed JSON, 408 the body took longer than body_timeout_s, 413 over a limit, 422 invalid
contents, 429 queue full, 500 inference failed for the request (run on its own), 503 shutting down; on the v2
endpoints only {"error": message}, with the same statuses (invalid v2 requests are 400, an unknown model 404). The app is
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
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from npuport import __version__
from npuport.serve import oip
from npuport.serve.batcher import Closed, InferenceFailed, MicroBatcher, QueueFull
from npuport.serve.config import ServeConfig, fit_batching
from npuport.serve.metadata import metadata, warm_up
from npuport.serve.metrics import ServeMetrics
from npuport.serve.request import PredictRequest, RequestError, over_limit, parse_predict

if TYPE_CHECKING:
    from npuport.runtime.classifier import Classifier, Prediction

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
        self.model_name = config.model_name or "model"
        self.ready = False
        self.closing = False
        self.draining = False
        self.cancelled = 0  # requests cancelled unanswered when the drain ran out
        self.warmup_error: str | None = None
        self._uploads: set[asyncio.Timeout] = set()  # the deadlines of bodies being read

    async def predict(self, request: Request) -> Response:
        return await self._answer("/predict", request, self._predict)

    async def infer(self, request: Request) -> Response:
        return await self._answer("/v2/models/{name}/infer", request, self._infer, v2=True)

    async def _answer(self, endpoint: str, request: Request, handle: Callable[[Request], Awaitable[dict[str, Any]]],
                      v2: bool = False) -> Response:
        """Run one classification request with the metrics every such endpoint keeps; errors in its form."""
        started = time.perf_counter()
        self.metrics.in_flight.inc()
        headers = None
        try:
            status, body = 200, await handle(request)
        except RequestError as exc:
            status, body, headers = exc.status, exc.body, exc.headers
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
            if v2:
                body = oip.error_body(body)
        self.metrics.requests.labels(endpoint, str(status)).inc()
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

    async def _predict(self, request: Request) -> dict[str, Any]:
        source = self.classifier.manifest.source
        parsed = parse_predict(await self._body(request), self.classifier.labels, source.threshold, self.config.limits)
        predictions = await self._classify(parsed)
        return {"variant": self.classifier.variant_id, "predictions": [p.to_dict() for p in predictions]}

    async def _infer(self, request: Request) -> dict[str, Any]:
        self._check_model(request)
        body = await self._body(request)
        infer = oip.parse_infer(body, request.headers.get(oip.HEADER_LENGTH), self.classifier.labels,
                                self.classifier.manifest.source.threshold, self.config.limits)
        return oip.infer_response(self.model_name, infer, await self._classify(infer.request))

    async def _body(self, request: Request) -> bytes:
        try:
            return await self._receive(request)
        except ClientDisconnect:
            raise RequestError(400, "client_disconnected", "the client disconnected before sending the whole body") from None

    async def _classify(self, parsed: PredictRequest) -> list[Prediction]:
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

    def _check_model(self, request: Request) -> None:
        name = request.path_params["name"]
        if name != self.model_name:
            raise RequestError(404, "unknown_model", f"unknown model {name!r}: this server serves {self.model_name!r}")

    async def health(self, request: Request) -> Response:
        status, body = self._readiness()
        if status == 200:
            body |= {"variant": self.classifier.variant_id, "device": str(self.classifier.device)}
        self.metrics.requests.labels("/health", str(status)).inc()
        return JSONResponse(body, status)

    def _readiness(self) -> tuple[int, dict[str, Any]]:
        if self.warmup_error is not None:
            return 503, {"status": "failed", "error": self.warmup_error}
        if self.closing or self.draining:
            return 503, {"status": "shutting down"}
        if not self.ready:
            return 503, {"status": "warming up"}
        return 200, {"status": "ready"}

    async def v2_server(self, request: Request) -> Response:
        return self._v2_get("/v2", {"name": "npuport", "version": __version__, "extensions": []})

    async def v2_live(self, request: Request) -> Response:
        return self._v2_get("/v2/health/live", {"live": True})

    async def v2_ready(self, request: Request) -> Response:
        status, body = self._readiness()
        return self._v2_get("/v2/health/ready", {"ready": True} if status == 200 else _not_ready(body), status)

    async def v2_model(self, request: Request) -> Response:
        return self._v2_model_get("/v2/models/{name}", request,
                                  lambda: (200, oip.model_metadata(self.model_name, len(self.classifier.labels))))

    async def v2_model_ready(self, request: Request) -> Response:
        def ready() -> tuple[int, dict[str, Any]]:
            status, body = self._readiness()
            return status, {"name": self.model_name, "ready": True} if status == 200 else _not_ready(body)

        return self._v2_model_get("/v2/models/{name}/ready", request, ready)

    def _v2_model_get(self, endpoint: str, request: Request, answer: Callable[[], tuple[int, dict[str, Any]]]) -> Response:
        try:
            self._check_model(request)
        except RequestError as exc:
            return self._v2_get(endpoint, oip.error_body(exc.body), exc.status)
        status, body = answer()
        return self._v2_get(endpoint, body, status)

    def _v2_get(self, endpoint: str, body: dict[str, Any], status: int = 200) -> Response:
        self.metrics.requests.labels(endpoint, str(status)).inc()
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
        Route("/v2", service.v2_server, methods=["GET"]),
        Route("/v2/health/live", service.v2_live, methods=["GET"]),
        Route("/v2/health/ready", service.v2_ready, methods=["GET"]),
        Route("/v2/models/{name}", service.v2_model, methods=["GET"]),
        Route("/v2/models/{name}/ready", service.v2_model_ready, methods=["GET"]),
        Route("/v2/models/{name}/infer", service.infer, methods=["POST"]),
    ]
    app = Starlette(routes=routes, lifespan=service.lifespan,
                    exception_handlers={HTTPException: _http_error, Exception: _server_error})
    app.state.service = service
    return app


def _not_ready(health: dict[str, Any]) -> dict[str, Any]:
    """Why the server is not ready, in v2's error form."""
    return {"error": health.get("error") or health["status"]}


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
