"""The Open Inference Protocol v2 over gRPC, on a real `npuport serve --grpc-port 0` process, driven by a client that
is not ours (tritonclient.grpc, and raw calls with tritonclient's own messages where its client would refuse to send
a bad request): scores and labels equal Classifier.predict's, health, metadata and versions as over REST, errors
with REST's messages and their gRPC codes, counted in the same /metrics as HTTP. Malformed HTTP requests (numbers
Python will not read, odd header lengths) are 4xx with one line. SIGTERM answers the gRPC calls in flight and
exits 0, and the server's log holds no traceback after all of it."""

from __future__ import annotations

import json
import signal
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import grpc
import httpx
import numpy as np
import pytest
import tritonclient.grpc as triton
from serving import WAIT, in_flight, metrics, serving, wait_until  # type: ignore[import-not-found]
from tritonclient.grpc import service_pb2, service_pb2_grpc
from tritonclient.utils import InferenceServerException

from npuport.core.corpus import load_corpus
from npuport.serve import v2_proto

TEXTS = [e.text for e in load_corpus("zh")][:12] + ["word " * 400]  # the last one is truncated at max_length
LONG = ["word " * 300] * 32  # one request of these takes ~1 s at one text per batch: in flight when SIGTERM comes
BATCH = 1  # one text per batch, so the last test's calls are still running when it sends SIGTERM; the scores are
# then predict's at batch size 1 to the bit (in a batch, padding moves a score by float rounding)


@pytest.fixture(scope="module")
def server(structbert_artifacts):  # type: ignore[no-untyped-def]
    with serving(structbert_artifacts, "--grpc-port", "0", "--max-texts", "32", "--max-batch-size", str(BATCH)) as served:
        yield served


@pytest.fixture(scope="module")
def name(structbert_artifacts) -> str:  # type: ignore[no-untyped-def]
    from npuport.serve.server import served_name

    return served_name(structbert_artifacts)


@pytest.fixture(scope="module")
def client(server):  # type: ignore[no-untyped-def]
    client = triton.InferenceServerClient(f"127.0.0.1:{server.grpc_port}")
    yield client
    client.close()


@pytest.fixture(scope="module")
def stub(server):  # type: ignore[no-untyped-def]
    with grpc.insecure_channel(f"127.0.0.1:{server.grpc_port}") as channel:
        yield service_pb2_grpc.GRPCInferenceServiceStub(channel)


def _text_input(texts: list[str], shape: list[int]) -> triton.InferInput:
    tensor = triton.InferInput("TEXT", shape, "BYTES")
    tensor.set_data_from_numpy(np.array(texts, dtype=object).reshape(shape))
    return tensor


def test_messages_are_tritonclients_field_for_field():
    """Every field npuport declares has the number, type and repetition of tritonclient's grpc_service.proto."""
    checked = 0
    for message in v2_proto.POOL.FindFileByName(v2_proto.FILE.name).message_types_by_name.values():
        theirs = service_pb2.DESCRIPTOR.message_types_by_name[message.name]
        for ours, their in _fields(message, theirs):
            assert (ours.number, ours.type, ours.label) == (their.number, their.type, their.label), ours.full_name
            if ours.message_type is not None:
                assert ours.message_type.full_name == their.message_type.full_name
            checked += 1
    declared = sum(len(m.field) + sum(len(n.field) for n in m.nested_type) for m in v2_proto.FILE.message_type)
    assert checked == declared > 30


def _fields(ours: Any, theirs: Any) -> list[tuple[Any, Any]]:
    pairs = [(field, theirs.fields_by_name[field.name]) for field in ours.fields]
    for nested in ours.nested_types:
        pairs += _fields(nested, theirs.nested_types_by_name[nested.name])
    return pairs


def test_health_metadata_and_versions(client, server, name, classifier):  # type: ignore[no-untyped-def]
    assert client.is_server_live() and client.is_server_ready()
    assert client.is_model_ready(name) and client.is_model_ready(name, "1")
    assert client.get_server_metadata(as_json=True)["name"] == "npuport"
    over_rest = httpx.get(f"{server.url}/v2/models/{name}/versions/1", timeout=WAIT).json()
    for version in ("", "1"):
        meta = client.get_model_metadata(name, version, as_json=True)
        for tensor in meta["inputs"] + meta["outputs"]:
            tensor["shape"] = [int(d) for d in tensor["shape"]]  # int64 dims come back as strings in JSON
        assert meta == over_rest
    assert over_rest["outputs"][0] == {"name": "SCORES", "datatype": "FP32", "shape": [-1, len(classifier.labels)]}
    for model, version, message in ((name, "2", f"model '{name}' has no version '2'"),
                                    ("other", "", f"unknown model 'other': this server serves '{name}'")):
        for call in (client.get_model_metadata, client.is_model_ready):
            with pytest.raises(InferenceServerException, match=message) as refused:
                call(model, version)
            assert refused.value.status() == "StatusCode.NOT_FOUND"


@pytest.mark.parametrize("shape", ["flat", "batched"])
def test_infer_equals_classifier_predict(client, server, name, classifier, shape):  # type: ignore[no-untyped-def]
    """[n] and Triton's batched [n, 1], as tritonclient sends them (raw_input_contents), and a versioned call;
    through HTTP's batcher and metrics."""
    dims = [len(TEXTS)] if shape == "flat" else [len(TEXTS), 1]
    before = metrics(server.url)
    result = client.infer(name, [_text_input(TEXTS, dims)], model_version="1" if shape == "batched" else "",
                          request_id="r1")
    after = metrics(server.url)
    assert after["npuport_batch_size_texts_sum"] - before["npuport_batch_size_texts_sum"] == len(TEXTS)
    assert after["npuport_request_latency_seconds_count"] - before["npuport_request_latency_seconds_count"] == 1
    want = classifier.predict(TEXTS, batch_size=BATCH)
    scores = result.as_numpy("SCORES")
    assert scores.shape == (len(TEXTS), len(classifier.labels)) and scores.dtype == np.float32
    np.testing.assert_array_equal(scores, np.array([list(p.scores.values()) for p in want], dtype=np.float32))
    labels = result.as_numpy("LABELS")  # TEXT's shape, as over REST
    assert labels.shape == tuple(dims) and [json.loads(label) for label in labels.reshape(-1)] == [p.labels for p in want]
    assert result.get_response().id == "r1" and result.get_response().model_version == "1"


def test_only_the_requested_outputs_come_back_and_bytes_contents_are_read(client, stub, name, classifier):  # type: ignore[no-untyped-def]
    result = client.infer(name, [_text_input(TEXTS[:2], [2])], outputs=[triton.InferRequestedOutput("LABELS")])
    assert [o.name for o in result.get_response().outputs] == ["LABELS"] and result.as_numpy("SCORES") is None
    # KServe's clients may send the texts in contents.bytes_contents instead of raw_input_contents
    answer = stub.ModelInfer(_request(name, TEXTS[:2], [2], contents=True), timeout=WAIT)
    want = classifier.predict(TEXTS[:2], batch_size=BATCH)
    np.testing.assert_array_equal(np.frombuffer(answer.raw_output_contents[0], "<f4").reshape(2, -1),
                                  np.array([list(p.scores.values()) for p in want], dtype=np.float32))


def _request(name: str, texts: list[str], shape: list[int], contents: bool = False, raw: list[bytes] | None = None,
             **fields: Any) -> Any:
    """A ModelInferRequest built by hand (tritonclient's client checks shapes before it sends)."""
    encoded = [text.encode("utf-8") for text in texts]
    tensor = service_pb2.ModelInferRequest.InferInputTensor(name="TEXT", datatype="BYTES", shape=shape)
    if contents:
        tensor.contents.bytes_contents.extend(encoded)
    if raw is None and not contents:
        raw = [b"".join(len(e).to_bytes(4, "little") + e for e in encoded)]
    return service_pb2.ModelInferRequest(model_name=name, inputs=[tensor], raw_input_contents=raw or [], **fields)


def test_errors_carry_rests_message_and_a_grpc_code_and_are_counted(server, stub, name):  # type: ignore[no-untyped-def]
    def counted(status: int) -> float:
        return samples.get(f'npuport_requests_total{{endpoint="/inference.GRPCInferenceService/ModelInfer",'
                           f'status="{status}"}}', 0)

    invalid = grpc.StatusCode.INVALID_ARGUMENT
    cases = [
        (_request(name, ["a", "b"], [3]), invalid, "TEXT's shape [3] does not hold its 2 element(s)"),
        (_request(name, [" "], [1]), invalid, "text 0 is empty"),
        (_request(name, ["a"] * 33, [33]), invalid, "33 texts in one request: the limit max_texts_per_request is 32"),
        (_request(name, ["a"], [1], raw=[b"\x01\x00\x00\x00\xff"]), invalid, "element 0 of TEXT is not UTF-8 text"),
        (_request(name, ["a"], [1], contents=True, raw=[b""]), invalid, "raw_input_contents must hold TEXT's data alone"),
        (_request(name, ["a"], [1], outputs=[{"name": "LOGITS"}]), invalid, "unknown output(s) 'LOGITS'"),
        (_request("other", ["a"], [1]), grpc.StatusCode.NOT_FOUND, "unknown model 'other'"),
    ]
    samples = metrics(server.url)
    before = {status: counted(status) for status in (400, 404, 413)}
    for request, code, message in cases:
        with pytest.raises(grpc.RpcError) as refused:
            stub.ModelInfer(request, timeout=WAIT)
        assert refused.value.code() == code and message in refused.value.details(), refused.value.details()
    wrong_type = service_pb2.ModelInferRequest(model_name=name, inputs=[
        service_pb2.ModelInferRequest.InferInputTensor(name="IDS", datatype="INT64", shape=[1])])
    with pytest.raises(grpc.RpcError, match="must be TEXT with datatype BYTES"):
        stub.ModelInfer(wrong_type, timeout=WAIT)
    with pytest.raises(grpc.RpcError) as unimplemented:
        stub.ModelConfig(service_pb2.ModelConfigRequest(name=name), timeout=WAIT)
    assert unimplemented.value.code() == grpc.StatusCode.UNIMPLEMENTED
    samples = metrics(server.url)
    assert {status: counted(status) - before[status] for status in before} == {400: 6, 404: 1, 413: 1}
    assert samples['npuport_errors_total{reason="unknown_model"}'] >= 1


BIG = "9" * 5000  # Python reads no integer of over 4,300 digits from text
MALFORMED_HTTP = [  # path, body, headers → status, the error's start
    ("/predict", f'{{"texts": ["a"], "top_k": {BIG}}}', {}, 422, "the body holds an integer of 5000 digits"),
    ("/predict", '{"texts": ["a"], "threshold": NaN}', {}, 400, "the body is not valid JSON: NaN is not a JSON number"),
    ("/v2/models/{name}/infer", f'{{"inputs": [{{"name": "TEXT", "datatype": "BYTES", "shape": [{BIG}], "data": ["a"]}}]}}',
     {}, 400, "the body holds an integer of 5000 digits"),
    ("/v2/models/{name}/infer", '{"inputs": [{"name": "TEXT", "datatype": "BYTES", "shape": [1], "data": ["a"], '
     '"parameters": [1]}]}', {}, 400, "TEXT's \"parameters\" must be an object"),
    ("/v2/models/{name}/infer", "{}", {"inference-header-content-length": BIG}, 400, "the inference-header-content-length"),
    ("/v2/models/{name}/infer", "{}", {"inference-header-content-length": "\u00b2"}, 400,
     "the inference-header-content-length"),
    ("/v2/models/{name}/versions/2/infer", "{}", {}, 404, "model '{name}' has no version '2'"),
]


def test_malformed_http_requests_are_4xx_with_one_line(server, name):  # type: ignore[no-untyped-def]
    with httpx.Client(base_url=server.url, timeout=WAIT) as http:
        for path, body, headers, status, message in MALFORMED_HTTP:
            response = http.post(path.format(name=name), content=body.encode(),
                                 headers={k: v.encode("latin-1") for k, v in headers.items()})  # type: ignore[misc]
            error = response.json()["error"]
            assert (response.status_code, "\n" in error) == (status, False) and error.startswith(message.format(name=name)), \
                (path, response.text)


def test_sigterm_answers_the_grpc_calls_in_flight_then_exits_0(server, name, classifier):  # type: ignore[no-untyped-def]
    """Last in this module: 3 calls of 32 long texts, one text per batch, are all in flight when SIGTERM arrives;
    each is answered in full, the process exits 0, and its log holds no traceback from any
    malformed request above."""
    def infer() -> Any:
        with triton.InferenceServerClient(f"127.0.0.1:{server.grpc_port}") as own:
            return own.infer(name, [_text_input(LONG, [len(LONG)])], outputs=[triton.InferRequestedOutput("SCORES")],
                             client_timeout=WAIT)

    with ThreadPoolExecutor(3) as pool:
        calls = [pool.submit(infer) for _ in range(3)]
        wait_until(lambda: in_flight(server.url) == 3, "all 3 calls in flight")
        server.process.send_signal(signal.SIGTERM)
        answers = [call.result(WAIT) for call in calls]
    want = np.array([list(p.scores.values()) for p in classifier.predict(LONG, batch_size=BATCH)], dtype=np.float32)
    for answer in answers:
        np.testing.assert_array_equal(answer.as_numpy("SCORES"), want)
    assert server.process.wait(WAIT) == 0
    log = server.text()
    assert "stopped: every request in flight was answered" in log and "Traceback" not in log, log
