"""The Open Inference Protocol v2 endpoints of `npuport serve`, driven by a client that is not ours
(tritonclient.http) on a real server on loopback: results equal Classifier.predict, JSON and binary tensor data,
requested outputs honoured, and errors in v2's {"error": …} form with their status, counted in /metrics."""

from __future__ import annotations

import json

import httpx
import numpy as np
import pytest
import tritonclient.http as triton
from serving import WAIT, GatedClassifier, metrics, running, wait_until  # type: ignore[import-not-found]
from tritonclient.utils import InferenceServerException

from npuport.core.corpus import load_corpus
from npuport.serve.config import Limits, ServeConfig

TEXTS = [e.text for e in load_corpus("zh")][:12] + ["word " * 400]  # the last one is truncated at max_length
NAME = "tiny"


@pytest.fixture(scope="module")
def server(classifier):  # type: ignore[no-untyped-def]
    with running(classifier, ServeConfig(model_name=NAME, limits=Limits(max_texts=16))) as served:
        yield served


@pytest.fixture(scope="module")
def client(server):  # type: ignore[no-untyped-def]
    client = triton.InferenceServerClient(server.url.removeprefix("http://"), network_timeout=WAIT)
    yield client
    client.close()


@pytest.fixture(scope="module")
def http(server):  # type: ignore[no-untyped-def]
    with httpx.Client(base_url=server.url, timeout=WAIT) as client:
        yield client


def _text_input(texts: list[str], shape: list[int], binary: bool) -> triton.InferInput:
    tensor = triton.InferInput("TEXT", shape, "BYTES")
    tensor.set_data_from_numpy(np.array(texts, dtype=object).reshape(shape), binary_data=binary)
    return tensor


def test_health_and_metadata_through_tritonclient(client, classifier):  # type: ignore[no-untyped-def]
    assert client.is_server_live() and client.is_server_ready() and client.is_model_ready(NAME)
    meta = client.get_model_metadata(NAME)
    assert meta["inputs"] == [{"name": "TEXT", "datatype": "BYTES", "shape": [-1]}]
    assert meta["outputs"] == [{"name": "SCORES", "datatype": "FP32", "shape": [-1, len(classifier.labels)]},
                               {"name": "LABELS", "datatype": "BYTES", "shape": [-1]}]
    with pytest.raises(InferenceServerException, match="unknown model 'other'"):
        client.get_model_metadata("other")


@pytest.mark.parametrize(("shape", "binary"), [("flat", False), ("batched", True)])
def test_infer_equals_classifier_predict(client, classifier, shape, binary):  # type: ignore[no-untyped-def]
    """[n] as JSON, and Triton's batched [n, 1] as binary tensor data (tritonclient's default)."""
    dims = [len(TEXTS)] if shape == "flat" else [len(TEXTS), 1]
    result = client.infer(NAME, [_text_input(TEXTS, dims, binary)], request_id="r1")
    want = classifier.predict(TEXTS)
    scores = result.as_numpy("SCORES")
    assert scores.shape == (len(TEXTS), len(classifier.labels)) and scores.dtype == np.float32
    np.testing.assert_array_equal(scores, np.array([list(p.scores.values()) for p in want], dtype=np.float32))
    labels = result.as_numpy("LABELS")  # TEXT's shape: Triton's batched model answers [n, 1] alike
    assert labels.shape == tuple(dims) and [json.loads(label) for label in labels.reshape(-1)] == [p.labels for p in want]
    assert result.get_response()["id"] == "r1"


def test_only_the_requested_outputs_come_back(client, classifier):  # type: ignore[no-untyped-def]
    result = client.infer(NAME, [_text_input(TEXTS[:2], [2], False)],
                          outputs=[triton.InferRequestedOutput("LABELS", binary_data=False)])
    assert [o["name"] for o in result.get_response()["outputs"]] == ["LABELS"]
    assert result.as_numpy("SCORES") is None


ERRORS = [
    (b"{not json", 400, "not valid JSON"),
    ({"inputs": [{"name": "IDS", "datatype": "INT64", "shape": [1], "data": [1]}]}, 400, "must be TEXT with datatype BYTES"),
    ({"inputs": [{"name": "TEXT", "datatype": "BYTES", "shape": [3], "data": ["a", "b"]}]}, 400, "does not hold its 2"),
    ({"inputs": [{"name": "TEXT", "datatype": "BYTES", "shape": [1], "data": [" "]}]}, 400, "text 0 is empty"),
    ({"inputs": [{"name": "TEXT", "datatype": "BYTES", "shape": [17], "data": ["a"] * 17}]}, 413, "max_texts_per_request"),
    ({"inputs": [{"name": "TEXT", "datatype": "BYTES", "shape": [1], "data": ["a"]}], "outputs": [{"name": "LOGITS"}]},
     400, "unknown output(s) 'LOGITS'"),
    (b'{"inputs": [{"name": "TEXT", "datatype": "BYTES", "shape": [' + b"9" * 5000 + b'], "data": ["a"]}]}', 400,
     "the body holds an integer of 5000 digits"),
    ({"inputs": [{"name": "TEXT", "datatype": "BYTES", "shape": [1], "data": ["a"], "parameters": [1]}]}, 400,
     "TEXT's \"parameters\" must be an object, got [1]"),
]


def test_errors_are_v2_json_with_their_status_and_counted(server, http):  # type: ignore[no-untyped-def]
    def counted(status: int) -> float:
        return samples.get(f'npuport_requests_total{{endpoint="/v2/models/{{name}}/infer",status="{status}"}}', 0)

    samples = metrics(server.url)
    before = {status: counted(status) for status in (400, 413)}
    for body, status, message in ERRORS:
        content = body if isinstance(body, bytes) else json.dumps(body).encode()
        response = http.post(f"/v2/models/{NAME}/infer", content=content)
        assert response.status_code == status and list(response.json()) == ["error"], response.text
        assert message in response.json()["error"]
    samples = metrics(server.url)
    assert {status: counted(status) - before[status] for status in before} == {400: 7, 413: 1}


def test_unknown_model_is_404(http):  # type: ignore[no-untyped-def]
    body = {"inputs": [{"name": "TEXT", "datatype": "BYTES", "shape": [1], "data": ["a"]}]}
    response = http.post("/v2/models/other/infer", json=body)
    assert response.status_code == 404 and response.json() == {"error": "unknown model 'other': this server serves 'tiny'"}


def test_version_1_has_the_routes_metadata_advertises_and_others_are_404(client, http, classifier):  # type: ignore[no-untyped-def]
    """tritonclient.http calls /v2/models/NAME/versions/V/… when given a version."""
    assert client.get_model_metadata(NAME)["versions"] == ["1"]
    assert client.is_model_ready(NAME, "1") and client.get_model_metadata(NAME, "1") == client.get_model_metadata(NAME)
    result = client.infer(NAME, [_text_input(TEXTS[:3], [3], True)], model_version="1")
    np.testing.assert_array_equal(result.as_numpy("SCORES"), np.array(
        [list(p.scores.values()) for p in classifier.predict(TEXTS[:3])], dtype=np.float32))
    assert result.get_response()["model_version"] == "1"
    body = {"inputs": [{"name": "TEXT", "datatype": "BYTES", "shape": [1], "data": ["a"]}]}
    for method, path in (("GET", ""), ("GET", "/ready"), ("POST", "/infer")):
        response = http.request(method, f"/v2/models/{NAME}/versions/2{path}", json=body if method == "POST" else None)
        assert response.status_code == 404
        assert response.json() == {"error": "model 'tiny' has no version '2': this server serves version 1"}


def test_not_ready_while_warming_up_then_ready(classifier):  # type: ignore[no-untyped-def]
    gated = GatedClassifier(classifier)
    gated.gate.clear()
    with running(gated, ServeConfig(model_name=NAME), ready=False) as server, \
            httpx.Client(base_url=server.url, timeout=WAIT) as http:
        assert gated.started.acquire(timeout=WAIT), "warm-up never ran"
        assert http.get("/v2/health/live").status_code == 200
        for path in ("/v2/health/ready", f"/v2/models/{NAME}/ready"):
            warming = http.get(path)
            assert warming.status_code == 503 and warming.json() == {"error": "warming up"}
        gated.gate.set()
        wait_until(lambda: http.get("/v2/health/ready").status_code == 200, "v2 ready after warm-up")
        assert http.get(f"/v2/models/{NAME}/ready").json() == {"name": NAME, "ready": True}


def test_npuport_serve_names_the_model_after_the_served_directory():
    from npuport.serve.server import served_name

    assert served_name("dist/tiny-zh.tar.gz") == "tiny-zh" and served_name("artifacts/tiny-zh/") == "tiny-zh"
