"""The Open Inference Protocol v2 over HTTP (KServe v2 REST, Triton's HTTP API; tensors: npuport.serve.oip):
GET /v2, /v2/health/live, /v2/health/ready, /v2/models/{name}[/versions/{version}][/ready] and POST
/v2/models/{name}[/versions/{version}]/infer, through the served model's batcher, limits and metrics.

Tensor data is JSON; an input sent as binary tensor data (tritonclient's default, `binary_data=True`: a JSON header
of `inference-header-content-length` bytes, then the tensors) is read too; outputs are always JSON, which
tritonclient reads alike. Errors are v2's {"error": message}, with /predict's statuses except 400 for any request
v2 calls invalid and 404 for another model's name or version.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from npuport import __version__
from npuport.runtime.classifier import Prediction
from npuport.serve import oip
from npuport.serve.body import BodyReader, length_header
from npuport.serve.config import Limits
from npuport.serve.request import RequestError, json_object
from npuport.serve.served import ServedModel

HEADER_LENGTH = "inference-header-content-length"  # binary tensor data: the JSON part's length; the tensors follow
MODEL = "/v2/models/{name}"
VERSIONED = "/v2/models/{name}/versions/{version}"


def routes(served: ServedModel, bodies: BodyReader) -> list[Route]:
    handlers = _Handlers(served, bodies)
    return [
        Route("/v2", handlers.server, methods=["GET"]),
        Route("/v2/health/live", handlers.live, methods=["GET"]),
        Route("/v2/health/ready", handlers.ready, methods=["GET"]),
        *[route for model in (MODEL, VERSIONED) for route in (
            Route(model, handlers.model(model), methods=["GET"]),
            Route(f"{model}/ready", handlers.model_ready(f"{model}/ready"), methods=["GET"]),
            Route(f"{model}/infer", handlers.infer(f"{model}/infer"), methods=["POST"]),
        )],
    ]


def parse_infer(body: bytes, header_length: str | None, labels: list[str], default_threshold: float,
                limits: Limits) -> oip.InferRequest:
    """A v2 infer body (JSON, or a JSON header of `header_length` bytes followed by binary tensor data)."""
    head, binary = _split(body, header_length)
    data = json_object(head, limits, 'a v2 infer request like {"inputs": [{"name": "TEXT", …}]}', invalid_status=400)
    inputs = data.get("inputs")
    if not isinstance(inputs, list) or len(inputs) != 1 or not isinstance(inputs[0], dict):
        raise oip.invalid(f'"inputs" must hold exactly one tensor, {oip.INPUT} (BYTES)')
    tensor = inputs[0]
    oip.check_input(tensor.get("name"), tensor.get("datatype"))
    return oip.infer_request(tensor.get("shape"), _texts(tensor, binary), _output_names(data.get("outputs")),
                             data.get("id"), labels, default_threshold, limits)


def infer_response(name: str, infer: oip.InferRequest, predictions: list[Prediction]) -> dict[str, Any]:
    outputs = [{"name": t.name, "datatype": t.datatype, "shape": t.shape, "data": t.data}
               for t in oip.output_tensors(infer, predictions)]
    response: dict[str, Any] = {"model_name": name, "model_version": oip.VERSION, "outputs": outputs}
    if infer.id is not None:
        response["id"] = infer.id
    return response


class _Handlers:
    def __init__(self, served: ServedModel, bodies: BodyReader) -> None:
        self.served = served
        self.bodies = bodies

    async def server(self, request: Request) -> Response:
        return self._get("/v2", {"name": "npuport", "version": __version__, "extensions": []})

    async def live(self, request: Request) -> Response:
        return self._get("/v2/health/live", {"live": True})

    async def ready(self, request: Request) -> Response:
        status, health = self.served.readiness()
        return self._get("/v2/health/ready", {"ready": True} if status == 200 else _not_ready(health), status)

    def model(self, endpoint: str) -> Callable[[Request], Any]:
        async def metadata(request: Request) -> Response:
            return self._model_get(endpoint, request, lambda: (
                200, oip.model_metadata(self.served.name, len(self.served.classifier.labels))))
        return metadata

    def model_ready(self, endpoint: str) -> Callable[[Request], Any]:
        def answer() -> tuple[int, dict[str, Any]]:
            status, health = self.served.readiness()
            return status, {"name": self.served.name, "ready": True} if status == 200 else _not_ready(health)

        async def ready(request: Request) -> Response:
            return self._model_get(endpoint, request, answer)
        return ready

    def infer(self, endpoint: str) -> Callable[[Request], Any]:
        async def infer(request: Request) -> Response:
            answer = await self.served.answer(endpoint, lambda: self._infer(request))
            body = answer.body if answer.status == 200 else {"error": answer.body["error"]}
            return JSONResponse(body, answer.status, answer.headers)
        return infer

    async def _infer(self, request: Request) -> dict[str, Any]:
        _check_model(request, self.served.name)
        body = await self.bodies.read(request)
        classifier = self.served.classifier
        infer = parse_infer(body, request.headers.get(HEADER_LENGTH), classifier.labels,
                            classifier.manifest.source.threshold, self.served.config.limits)
        return infer_response(self.served.name, infer, await self.served.classify(infer.request))

    def _model_get(self, endpoint: str, request: Request, answer: Callable[[], tuple[int, dict[str, Any]]]) -> Response:
        try:
            _check_model(request, self.served.name)
        except RequestError as exc:
            return self._get(endpoint, {"error": exc.body["error"]}, exc.status)
        status, body = answer()
        return self._get(endpoint, body, status)

    def _get(self, endpoint: str, body: dict[str, Any], status: int = 200) -> Response:
        self.served.count(endpoint, status)
        return JSONResponse(body, status)


def _check_model(request: Request, served: str) -> None:
    oip.check_model(request.path_params["name"], request.path_params.get("version"), served)


def _not_ready(health: dict[str, Any]) -> dict[str, Any]:
    """Why the server is not ready, in v2's error form."""
    return {"error": health.get("error") or health["status"]}


def _split(body: bytes, header_length: str | None) -> tuple[bytes, bytes]:
    if header_length is None:
        return body, b""
    length = length_header(header_length)
    if length is None or length > len(body):
        raise oip.invalid(f"the {HEADER_LENGTH} header ({oip.shown(header_length)}) does not fit the body of "
                          f"{len(body)} bytes")
    return body[:length], body[length:]


def _texts(tensor: dict[str, Any], binary: bytes) -> list[Any]:
    parameters = tensor.get("parameters")
    if parameters is not None and not isinstance(parameters, dict):
        raise oip.invalid(f"{oip.INPUT}'s \"parameters\" must be an object, got {oip.shown(parameters)}")
    size = (parameters or {}).get("binary_data_size")
    if size is None:
        if binary:
            raise oip.invalid(f"binary data follows the header but {oip.INPUT} has no binary_data_size parameter")
        data = tensor.get("data")
        if not isinstance(data, list):
            raise oip.invalid(f"{oip.INPUT} must carry its texts in \"data\" (a list of strings)")
        try:
            return _flat(data)
        except RecursionError:
            raise oip.invalid(f"{oip.INPUT}'s data is nested too deeply") from None
    if type(size) is not int or size != len(binary):
        raise oip.invalid(f"{oip.INPUT}'s binary_data_size {oip.shown(size)} is not the {len(binary)} bytes after the header")
    return oip.unpack_bytes(binary)


def _flat(data: list[Any]) -> list[Any]:
    """v2 allows the tensor data nested by its shape or flat in row-major order."""
    return [item for element in data for item in (_flat(element) if isinstance(element, list) else [element])]


def _output_names(requested: object) -> list[object] | None:
    if requested is None:
        return None
    names = [o.get("name") if isinstance(o, dict) else None for o in requested] if isinstance(requested, list) else None
    if not names:
        raise oip.invalid(f'"outputs" must be a list like [{{"name": "{oip.SCORES}"}}] naming '
                          f'{" and/or ".join(oip.OUTPUTS)}')
    return names
