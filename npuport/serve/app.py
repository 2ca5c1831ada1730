"""The ASGI app (Starlette) around a served model: POST /predict through the micro-batcher, GET /health, /metadata
and /metrics, and the Open Inference Protocol v2 over HTTP (npuport.serve.v2_http) through the same batcher,
limits and metrics.

Every error is a JSON object {"error": message, "code": …} (plus "limit" and "max" when a limit was hit) with
its status: 400 malformed JSON, 408 the body took longer than body_timeout_s, 413 over a limit, 422 invalid
contents, 429 queue full, 500 inference failed for the request (run on its own), 503 shutting down; the v2
endpoints answer in v2's form. No client error is logged: a 500 that is not an inference failure is a bug, logged
with its traceback. The app is built around an already loaded Classifier (load errors belong to the
caller); /health says 503 until warm-up is done.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from npuport.serve import v2_http
from npuport.serve.body import BodyReader
from npuport.serve.config import ServeConfig
from npuport.serve.request import parse_predict
from npuport.serve.served import ServedModel

if TYPE_CHECKING:
    from npuport.runtime.classifier import Classifier

log = logging.getLogger("npuport.serve")


class _Handlers:
    def __init__(self, served: ServedModel, bodies: BodyReader) -> None:
        self.served = served
        self.bodies = bodies

    async def predict(self, request: Request) -> Response:
        answer = await self.served.answer("/predict", lambda: self._predict(request))
        return JSONResponse(answer.body, answer.status, answer.headers)

    async def _predict(self, request: Request) -> dict[str, Any]:
        classifier = self.served.classifier
        parsed = parse_predict(await self.bodies.read(request), classifier.labels, classifier.manifest.source.threshold,
                               self.served.config.limits)
        predictions = await self.served.classify(parsed)
        return {"variant": classifier.variant_id, "predictions": [p.to_dict() for p in predictions]}

    async def health(self, request: Request) -> Response:
        status, body = self.served.readiness()
        if status == 200:
            body |= {"variant": self.served.classifier.variant_id, "device": str(self.served.classifier.device)}
        self.served.count("/health", status)
        return JSONResponse(body, status)

    async def metadata(self, request: Request) -> Response:
        self.served.count("/metadata")
        return JSONResponse(self.served.about | {"ready": self.served.ready})

    async def prometheus(self, request: Request) -> Response:
        self.served.count("/metrics")
        return Response(self.served.metrics.render(), media_type=self.served.metrics.content_type)


def create_app(classifier: Classifier, config: ServeConfig | None = None) -> Starlette:
    """A Starlette app serving `classifier`; `app.state.served` is the ServedModel (batcher, metrics, readiness)."""
    config = (config or ServeConfig()).check()
    served = ServedModel(classifier, config)
    bodies = BodyReader(config.limits, config.timeouts)
    served.on_drain(bodies.begin_drain)
    handlers = _Handlers(served, bodies)
    routes = [
        Route("/predict", handlers.predict, methods=["POST"]),
        Route("/health", handlers.health, methods=["GET"]),
        Route("/metadata", handlers.metadata, methods=["GET"]),
        Route("/metrics", handlers.prometheus, methods=["GET"]),
        *v2_http.routes(served, bodies),
    ]

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with served.running():
            yield

    app = Starlette(routes=routes, lifespan=lifespan,
                    exception_handlers={HTTPException: _http_error, Exception: _server_error})
    app.state.served = served
    return app


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    return JSONResponse({"error": f"{request.method} {request.url.path}: {exc.detail}", "code": code},
                        exc.status_code, exc.headers)


async def _server_error(request: Request, exc: Exception) -> Response:
    log.error("unexpected error in %s %s", request.method, request.url.path, exc_info=exc)
    return JSONResponse({"error": f"unexpected {type(exc).__name__}", "code": "internal_error"}, 500)
