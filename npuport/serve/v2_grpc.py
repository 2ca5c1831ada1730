"""The Open Inference Protocol v2 over gRPC (`inference.GRPCInferenceService`, what tritonclient.grpc and KServe's
clients speak), on the served model's batcher, limits and metrics and on the HTTP server's event loop (grpc.aio).

ServerLive, ServerReady, ModelReady, ServerMetadata, ModelMetadata and ModelInfer; the rest of Triton's service
(model control, statistics, shared memory, streaming) answers UNIMPLEMENTED. The tensors are REST's
(npuport.serve.oip): TEXT (BYTES) in, as `raw_input_contents` (tritonclient's form) or `contents.bytes_contents`;
SCORES and LABELS out as `raw_output_contents` (tritonclient.grpc reads FP32 outputs only from there). Errors carry
REST's message with the gRPC code of its status: 400, 413 and 422 INVALID_ARGUMENT (the request as sent can never
succeed), 404 NOT_FOUND, 429 RESOURCE_EXHAUSTED (retry later), 500 INTERNAL, 503 UNAVAILABLE. Not being ready is an
answer (ready: false), as in KServe's spec. Metrics count each call under its method's path
(/inference.GRPCInferenceService/ModelInfer) with the HTTP status of the same answer, so one query covers both; a
call its client gave up on (cancelled, or past its deadline) counts as 499, reason client_cancelled.

A message over max_body_bytes is refused by gRPC itself (RESOURCE_EXHAUSTED, before npuport sees it, so not
counted); every request within the limits fits. On SIGTERM it takes no new calls and answers those in flight
within drain_timeout_s; what is left then is cancelled.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import grpc
import numpy as np

from npuport import __version__
from npuport.core.errors import InputError
from npuport.serve import oip
from npuport.serve import v2_proto as pb
from npuport.serve.request import RequestError
from npuport.serve.served import ServedModel

SERVICE = "inference.GRPCInferenceService"
CODES = {400: grpc.StatusCode.INVALID_ARGUMENT, 404: grpc.StatusCode.NOT_FOUND, 413: grpc.StatusCode.INVALID_ARGUMENT,
         422: grpc.StatusCode.INVALID_ARGUMENT, 429: grpc.StatusCode.RESOURCE_EXHAUSTED,
         500: grpc.StatusCode.INTERNAL, 503: grpc.StatusCode.UNAVAILABLE}


class GrpcServer:
    """A grpc.aio server for `served` on host:port."""

    def __init__(self, served: ServedModel, host: str, port: int,
                 on_listening: Callable[[str], None] = lambda address: None) -> None:
        self.served = served
        self.host = host
        self.port = port
        self.on_listening = on_listening
        self._server: grpc.aio.Server | None = None

    async def start(self) -> None:
        address = f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"
        # so_reuseport off: with gRPC's default, a second server on the same port would share it without a word
        server = grpc.aio.server(options=[("grpc.so_reuseport", 0),
                                          ("grpc.max_receive_message_length", self.served.config.limits.max_body_bytes)])
        server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE, _Handlers(self.served).table()),))
        try:
            server.add_insecure_port(address)
        except RuntimeError:
            raise InputError(f"cannot listen on {address} (gRPC)") from None
        await server.start()
        self._server = server
        self.on_listening(address)

    async def stop(self, grace: float | None) -> None:
        if self._server is not None:
            await self._server.stop(grace)


class _Handlers:
    def __init__(self, served: ServedModel) -> None:
        self.served = served

    def table(self) -> dict[str, grpc.RpcMethodHandler]:
        methods: dict[str, tuple[Callable[[Any, grpc.aio.ServicerContext], Awaitable[Any]], Any, Any]] = {
            "ServerLive": (self.server_live, pb.ServerLiveRequest, pb.ServerLiveResponse),
            "ServerReady": (self.server_ready, pb.ServerReadyRequest, pb.ServerReadyResponse),
            "ModelReady": (self.model_ready, pb.ModelReadyRequest, pb.ModelReadyResponse),
            "ServerMetadata": (self.server_metadata, pb.ServerMetadataRequest, pb.ServerMetadataResponse),
            "ModelMetadata": (self.model_metadata, pb.ModelMetadataRequest, pb.ModelMetadataResponse),
            "ModelInfer": (self.model_infer, pb.ModelInferRequest, pb.ModelInferResponse),
        }
        return {name: grpc.unary_unary_rpc_method_handler(handle, request_deserializer=request.FromString,
                                                          response_serializer=response.SerializeToString)
                for name, (handle, request, response) in methods.items()}

    async def server_live(self, request: Any, context: grpc.aio.ServicerContext) -> Any:
        self.served.count(_endpoint("ServerLive"))
        return pb.ServerLiveResponse(live=True)

    async def server_ready(self, request: Any, context: grpc.aio.ServicerContext) -> Any:
        status, _ = self.served.readiness()
        self.served.count(_endpoint("ServerReady"), status)
        return pb.ServerReadyResponse(ready=status == 200)

    async def model_ready(self, request: Any, context: grpc.aio.ServicerContext) -> Any:
        await self._check_model("ModelReady", request.name, request.version, context)
        status, _ = self.served.readiness()
        self.served.count(_endpoint("ModelReady"), status)
        return pb.ModelReadyResponse(ready=status == 200)

    async def server_metadata(self, request: Any, context: grpc.aio.ServicerContext) -> Any:
        self.served.count(_endpoint("ServerMetadata"))
        return pb.ServerMetadataResponse(name="npuport", version=__version__)

    async def model_metadata(self, request: Any, context: grpc.aio.ServicerContext) -> Any:
        await self._check_model("ModelMetadata", request.name, request.version, context)
        self.served.count(_endpoint("ModelMetadata"))
        about = oip.model_metadata(self.served.name, len(self.served.classifier.labels))
        return pb.ModelMetadataResponse(
            name=about["name"], versions=about["versions"], platform=about["platform"],
            inputs=[pb.ModelMetadataResponse.TensorMetadata(**tensor) for tensor in about["inputs"]],
            outputs=[pb.ModelMetadataResponse.TensorMetadata(**tensor) for tensor in about["outputs"]])

    async def model_infer(self, request: Any, context: grpc.aio.ServicerContext) -> Any:
        answer = await self.served.answer(_endpoint("ModelInfer"), lambda: self._infer(request))
        if answer.status != 200:
            await context.abort(CODES.get(answer.status, grpc.StatusCode.UNKNOWN), answer.body["error"])
        return answer.body

    async def _infer(self, request: Any) -> Any:
        oip.check_model(request.model_name, request.model_version, self.served.name)
        if len(request.inputs) != 1:
            raise oip.invalid(f"a request must hold exactly one input, {oip.INPUT} (BYTES), not {len(request.inputs)}")
        tensor = request.inputs[0]
        oip.check_input(tensor.name, tensor.datatype)
        classifier = self.served.classifier
        infer = oip.infer_request(list(tensor.shape), _texts(request), [o.name for o in request.outputs] or None,
                                  request.id or None, classifier.labels, classifier.manifest.source.threshold,
                                  self.served.config.limits)
        predictions = await self.served.classify(infer.request)
        response = pb.ModelInferResponse(model_name=self.served.name, model_version=oip.VERSION, id=infer.id or "")
        for output in oip.output_tensors(infer, predictions):
            response.outputs.add(name=output.name, datatype=output.datatype, shape=output.shape)
            response.raw_output_contents.append(_raw(output))
        return response

    async def _check_model(self, method: str, name: str, version: str, context: grpc.aio.ServicerContext) -> None:
        try:
            oip.check_model(name, version, self.served.name)
        except RequestError as exc:
            self.served.count(_endpoint(method), exc.status)
            await context.abort(CODES[exc.status], exc.body["error"])


def _endpoint(method: str) -> str:
    return f"/{SERVICE}/{method}"


def _texts(request: Any) -> list[str]:
    """TEXT's elements: the one raw content (KServe: then no input may carry `contents`), else its bytes_contents."""
    contents = list(request.inputs[0].contents.bytes_contents)
    if not request.raw_input_contents:
        return [oip.utf8(element, index) for index, element in enumerate(contents)]
    if len(request.raw_input_contents) != 1 or contents:
        raise oip.invalid(f"raw_input_contents must hold {oip.INPUT}'s data alone: one raw content, and no contents "
                          f"in the input (got {len(request.raw_input_contents)} raw, {len(contents)} in contents)")
    return oip.unpack_bytes(request.raw_input_contents[0])


def _raw(output: oip.OutputTensor) -> bytes:
    """An output tensor's raw form: little-endian float32, or BYTES' length-prefixed elements."""
    if output.datatype == "FP32":
        return np.asarray(output.data, dtype="<f4").tobytes()
    return oip.pack_bytes(output.data)
