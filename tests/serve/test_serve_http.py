"""`npuport serve`'s app on a real uvicorn server on loopback, driven by a real HTTP client (httpx): results equal
Classifier.predict, concurrent clients each get their own, overload gives 429 and recovers, every limit and
malformed input is refused with a JSON error, a poisoned text fails only its own request (422 when it can be told
up front, else 500 after its batch is retried one request at a time)."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import numpy as np
import pytest
from serving import WAIT, GatedClassifier, as_json, metrics, running, wait_until  # type: ignore[import-not-found]

from npuport.core.corpus import load_corpus
from npuport.core.errors import InputError
from npuport.core.manifest import Validation
from npuport.serve.config import STATIC_WAIT_MS, Batching, Limits, ServeConfig, fit_batching

TEXTS = [e.text for e in load_corpus("zh") if e.kind != "normal"] + [e.text for e in load_corpus("zh")][:40]


@pytest.mark.parametrize("variant", [None, "torchscript-fp32-static"])
def test_responses_equal_classifier_predict(structbert_artifacts, classifier, variant):
    from npuport.runtime import load

    with load(structbert_artifacts, variant) if variant else _borrowed(classifier) as model, \
            running(model, ServeConfig()) as server, httpx.Client(base_url=server.url, timeout=WAIT) as client:
        labels = model.labels
        cases: list[dict[str, Any]] = [
            {"texts": TEXTS[:3]},
            {"texts": TEXTS[3:20], "threshold": 0.05, "top_k": 3},  # 17 texts: more than one batch of 16
            {"texts": [TEXTS[5]], "threshold": {labels[0]: 0.01, labels[3]: 0.2}},
            {"texts": ["word " * 400, TEXTS[7]], "top_k": 1, "threshold": 0},  # truncated at max_length
        ]
        for body in cases:
            response = client.post("/predict", json=body)
            assert response.status_code == 200, response.text
            want = model.predict(body["texts"], threshold=body.get("threshold"), top_k=body.get("top_k"))
            assert response.json() == {"variant": model.variant_id, "predictions": as_json(want)}
        assert response.json()["predictions"][0]["truncated"] is True
        assert server.served.max_batch_size == 16  # dynamic default, or the static variant's largest bucket (16x64)


class _borrowed:
    """The session's classifier as a context manager that does not close it."""

    def __init__(self, classifier: Any) -> None:
        self.classifier = classifier

    def __enter__(self) -> Any:
        return self.classifier

    def __exit__(self, *exc: object) -> None:
        pass


def test_eight_concurrent_clients_each_get_their_own_results(classifier):
    """8 clients × 100 requests of 1–3 texts with their own threshold/top_k: none lost, none mixed up, and
    requests really were coalesced (more requests than batches)."""
    reference = {text: as_json(classifier.predict([text]))[0] for text in TEXTS}
    labels, default = classifier.labels, classifier.manifest.source.threshold
    config = ServeConfig(max_wait_ms=20)

    def client_run(client_id: int) -> tuple[int, int, float]:
        lost = mismatched = 0
        worst = 0.0
        with httpx.Client(timeout=WAIT) as client:
            for i in range(100):
                texts = [TEXTS[(client_id * 31 + i * 7 + j) % len(TEXTS)] for j in range(1 + (client_id + i) % 3)]
                threshold, top_k = [None, 0.05, 0.3][i % 3], [None, 2, 5][(i + client_id) % 3]
                try:
                    response = client.post(f"{server.url}/predict", json={"texts": texts, "threshold": threshold, "top_k": top_k})
                except httpx.HTTPError:
                    lost += 1
                    continue
                if response.status_code != 200:
                    lost += 1
                    continue
                got = response.json()["predictions"]
                for text, prediction in zip(texts, got, strict=False):
                    error = _mismatch(prediction, reference[text], text, threshold or default, top_k, labels)
                    worst = max(worst, error)
                    mismatched += error > 1e-5
                mismatched += len(got) != len(texts)
        return lost, mismatched, worst

    with running(classifier, config) as server, ThreadPoolExecutor(8) as pool:
        results = list(pool.map(client_run, range(8), timeout=120))
        samples = metrics(server.url)
    assert sum(r[0] for r in results) == 0, "lost requests"
    assert sum(r[1] for r in results) == 0, "mismatched responses"
    assert samples['npuport_requests_total{endpoint="/predict",status="200"}'] == 800
    batches = samples["npuport_batch_size_requests_count"]
    assert samples["npuport_batch_size_requests_sum"] == 800 and batches < 800, "no request was ever coalesced"
    assert samples["npuport_queue_depth_texts"] == 0 and samples["npuport_requests_in_flight"] == 0


def _mismatch(got: dict[str, Any], alone: dict[str, Any], text: str, threshold: float, top_k: int | None,
              labels: list[str]) -> float:
    """How far `got` is from the prediction of `text` alone (inf if it is another text's or its decisions differ).

    In a coalesced batch a text is padded with others, which may move a score by float rounding; decisions
    must agree except for a score within that rounding of the threshold.
    """
    if got["text"] != text or got["tokens"] != alone["tokens"] or list(got["scores"]) != labels:
        return float("inf")
    error = float(np.max(np.abs(np.array(list(got["scores"].values())) - list(alone["scores"].values()))))
    want_labels = [label for label, score in alone["top"] if score >= threshold]
    near = any(abs(score - threshold) <= 1e-5 for score in alone["scores"].values())
    if got["labels"] != want_labels and not near:
        return float("inf")
    if len(got["top"]) != (top_k or len(labels)):
        return float("inf")
    return error


def test_overload_answers_429_then_recovers(classifier):
    """One text in inference, one queued (max_queue=1): the next is refused with 429; once the gate opens,
    both held requests succeed and so do new ones."""
    gated = GatedClassifier(classifier)
    gated.gate.clear()
    config = ServeConfig(max_batch_size=1, max_wait_ms=0, max_queue=1, limits=Limits(max_texts=1), warmup=False)
    with running(gated, config) as server, ThreadPoolExecutor(2) as pool:
        post = lambda text: httpx.post(f"{server.url}/predict", json={"texts": [text]}, timeout=WAIT)  # noqa: E731
        first = pool.submit(post, TEXTS[0])
        assert gated.started.acquire(timeout=WAIT), "the first request never reached inference"
        second = pool.submit(post, TEXTS[1])
        wait_until(lambda: server.served.batcher.queued_texts == 1, "the second request to be queued")
        refused = post(TEXTS[2])
        assert refused.status_code == 429 and refused.headers["retry-after"] == "1"
        assert refused.json() == {"error": "the queue is full (1 texts waiting, max_queue 1): retry later",
                                  "code": "queue_full", "limit": "max_queue", "max": 1}
        gated.gate.set()
        assert first.result(WAIT).status_code == 200 and second.result(WAIT).status_code == 200
        recovered = post(TEXTS[2])
        assert recovered.status_code == 200
        assert recovered.json()["predictions"] == as_json(classifier.predict([TEXTS[2]]))
        samples = metrics(server.url)
    assert samples['npuport_errors_total{reason="queue_full"}'] == 1
    assert samples['npuport_requests_total{endpoint="/predict",status="429"}'] == 1


def test_a_request_that_fails_inference_fails_alone_its_batch_is_retried(classifier):
    """Requests A (held in inference) then F (fails, which nothing can tell before running it) and G queued
    together: their batch fails, is retried one request at a time, and only F gets 500; A, G and later requests
    get their results."""
    gated = GatedClassifier(classifier)
    gated.gate.clear()
    config = ServeConfig(max_wait_ms=0, warmup=False)
    with running(gated, config) as server, ThreadPoolExecutor(3) as pool:
        post = lambda texts: httpx.post(f"{server.url}/predict", json={"texts": texts}, timeout=WAIT)  # noqa: E731
        a = pool.submit(post, [TEXTS[0]])
        assert gated.started.acquire(timeout=WAIT)
        f = pool.submit(post, ["FAIL-ME please"])
        wait_until(lambda: server.served.batcher.queued_texts == 1, "F to be queued")
        g = pool.submit(post, [TEXTS[1], TEXTS[2]])
        wait_until(lambda: server.served.batcher.queued_texts == 3, "G to be queued")
        gated.gate.set()
        assert a.result(WAIT).status_code == 200
        failed, succeeded = f.result(WAIT), g.result(WAIT)
        assert failed.status_code == 500
        assert failed.json() == {"code": "inference_failed", "error": "inference failed for this request's 1 text(s): "
                                 "RuntimeError: injected failure: a text contains FAIL-ME"}
        assert succeeded.status_code == 200
        assert succeeded.json()["predictions"] == as_json(classifier.predict([TEXTS[1], TEXTS[2]]))
        assert gated.batches[1:] == [["FAIL-ME please", TEXTS[1], TEXTS[2]], ["FAIL-ME please"], [TEXTS[1], TEXTS[2]]]
        for text in TEXTS[3:6]:
            later = post([text])
            assert later.status_code == 200 and later.json()["predictions"] == as_json(classifier.predict([text]))
        assert httpx.get(f"{server.url}/health").status_code == 200
        samples = metrics(server.url)
    assert samples['npuport_errors_total{reason="inference_failed"}'] == 1
    assert samples["npuport_batch_retries_total"] == 1
    assert samples['npuport_requests_total{endpoint="/predict",status="200"}'] == 5


def test_a_poisoned_text_gets_422_and_fails_no_other_client(classifier):
    """Issue 15 item 9: {"texts": ["\\ud800 hi"]} (a lone surrogate: valid JSON, no valid text) made the tokenizer
    raise for whole batches, failing ~20% of other clients' requests. 8 clients of normal requests and one
    sending poisoned ones, all at once and coalesced into shared batches: every poisoned request gets 422 naming
    its text, every normal one 200 with its own results, and no batch ever failed."""
    reference = {text: as_json(classifier.predict([text]))[0] for text in TEXTS}
    poisoned = [b'{"texts": ["\\ud800 hi"]}', b'{"texts": ["fine", "a \\udfff b"]}', b'{"texts": ["\\ud83d"], "top_k": 1}']

    def normal(client_id: int) -> list[str]:
        problems = []
        with httpx.Client(base_url=server.url, timeout=WAIT) as client:
            for i in range(25):
                texts = [TEXTS[(client_id * 13 + i * 5 + j) % len(TEXTS)] for j in range(1 + i % 2)]
                response = client.post("/predict", json={"texts": texts})
                if response.status_code != 200:
                    problems.append(f"{response.status_code} {response.text}")
                elif [p["tokens"] for p in response.json()["predictions"]] != [reference[t]["tokens"] for t in texts]:
                    problems.append(f"mismatched results for {texts}")
        return problems

    def poison() -> list[tuple[int, str]]:
        answers = []
        with httpx.Client(base_url=server.url, timeout=WAIT) as client:
            for i in range(30):
                response = client.post("/predict", content=poisoned[i % 3], headers={"content-type": "application/json"})
                answers.append((response.status_code, response.json()["error"]))
        return answers

    with running(classifier, ServeConfig(max_wait_ms=5, warmup=False)) as server, ThreadPoolExecutor(9) as pool:
        clients = [pool.submit(normal, i) for i in range(8)]
        attacker = pool.submit(poison)
        problems = [p for c in clients for p in c.result(120)]
        answers = attacker.result(120)
        samples = metrics(server.url)
    assert problems == []
    assert set(answers) == {
        (422, "text 0 is not valid Unicode: a lone surrogate \\ud800 at character 0"),
        (422, "text 1 is not valid Unicode: a lone surrogate \\udfff at character 2"),
        (422, "text 0 is not valid Unicode: a lone surrogate \\ud83d at character 0"),
    }
    assert samples['npuport_requests_total{endpoint="/predict",status="200"}'] == 200
    assert samples['npuport_errors_total{reason="invalid_request"}'] == 30
    assert samples["npuport_batch_retries_total"] == 0
    assert 'npuport_errors_total{reason="inference_failed"}' not in samples
    assert samples["npuport_batch_size_requests_count"] < 200, "no request was coalesced: not a test of sharing batches"


LIMITS = Limits(max_texts=4, max_chars=50)


@pytest.mark.parametrize(("body", "status", "expected"), [
    (b'{"texts": [', 400, {"code": "malformed_json", "error": "the body is not valid JSON: Expecting value: line 1 column 12 (char 11)"}),
    (b"{\"texts\": [\"\xff\"]}", 400, {"code": "malformed_json", "error": "the body is not valid JSON: not UTF-8"}),
    (b"[" * 100_000 + b"]" * 100_000, 413, {"limit": "max_body_bytes"}),
    (b"[" * 2000 + b"]" * 2000, 400, {"code": "malformed_json", "error": "the body is not valid JSON: nested too deeply"}),
    (b"[[[[1]]]]", 400, {"code": "malformed_json", "error": 'the body must be a JSON object like {"texts": ["…"]}'}),
    ({"text": ["hi"]}, 422, {"error": "unknown field(s) 'text'; expected texts, threshold, top_k"}),
    ({"texts": "hi"}, 422, {"error": '"texts" must be a list of strings'}),
    ({"texts": []}, 422, {"error": "no texts"}),
    ({"texts": ["ok", "  "]}, 422, {"error": "text 1 is empty"}),
    ({"texts": ["ok", 3]}, 422, {"error": "text 1 is int, not a string"}),
    (b'{"texts": ["ok", "\\ud800 hi"]}', 422, {"code": "invalid_request",
                                           "error": "text 1 is not valid Unicode: a lone surrogate \\ud800 at character 0"}),
    (b'{"texts": ["a \\ud83d\\ude00 pair is fine"]}', 200, {"variant": "onnx-fp32-dynamic"}),
    ({"texts": ["a"] * 5}, 413, {"code": "limit_exceeded", "limit": "max_texts_per_request", "max": 4,
                                 "error": "5 texts in one request: the limit max_texts_per_request is 4"}),
    ({"texts": ["ok", "x" * 51]}, 413, {"code": "limit_exceeded", "limit": "max_chars_per_text", "max": 50,
                                        "error": "text 1 has 51 characters: the limit max_chars_per_text is 50"}),
    ({"texts": ["ok"], "extra": " " * 6000}, 413, {"code": "limit_exceeded", "limit": "max_body_bytes", "max": 5328}),
    ({"texts": ["ok"], "threshold": 1.5}, 422, {"error": "threshold must be a number between 0 and 1, got 1.5"}),
    ({"texts": ["ok"], "threshold": True}, 422, {"error": "threshold must be a number between 0 and 1, got True"}),
    ({"texts": ["ok"], "threshold": {"nope": 0.2}}, 422, {"code": "invalid_request"}),
    ({"texts": ["ok"], "top_k": 0}, 422, {"error": '"top_k" must be a whole number of at least 1, got 0'}),
    ({"texts": ["ok"], "top_k": "3"}, 422, {"error": "\"top_k\" must be a whole number of at least 1, got '3'"}),
    # issue 22: Python reads no integer of over 4,300 digits from text (ValueError, which was a 500)
    (b'{"texts": ["ok"], "top_k": ' + b"7" * 5000 + b"}", 422, {
        "code": "invalid_request", "error": "the body holds an integer of 5000 digits: integers here have at most 19 (64 bits)"}),
    (b'{"texts": ["ok"], "threshold": NaN}', 400, {"code": "malformed_json",
                                                  "error": "the body is not valid JSON: NaN is not a JSON number"}),
])
def test_limits_and_malformed_input_get_json_errors(limited_server, body, status, expected):
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    response = httpx.post(f"{limited_server.url}/predict", content=content, timeout=WAIT)
    assert response.status_code == status, response.text
    assert response.json().items() >= expected.items()
    assert httpx.post(f"{limited_server.url}/predict", json={"texts": ["still serving"]}).status_code == 200


@pytest.fixture(scope="module")
def limited_server(classifier):  # type: ignore[no-untyped-def]
    with running(classifier, ServeConfig(limits=LIMITS, warmup=False)) as server:
        yield server


def test_unknown_routes_and_methods_are_json(limited_server):
    missing = httpx.get(f"{limited_server.url}/nope")
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"
    wrong = httpx.get(f"{limited_server.url}/predict")
    assert wrong.status_code == 405 and wrong.json()["code"] == "method_not_allowed"
    assert "POST" in wrong.headers["allow"]


def test_health_is_503_until_warm_up_finishes_then_metadata_and_metrics(classifier):
    gated = GatedClassifier(classifier)
    gated.gate.clear()
    with running(gated, ServeConfig(), ready=False) as server:
        assert gated.started.acquire(timeout=WAIT), "warm-up never ran"
        warming = httpx.get(f"{server.url}/health")
        assert warming.status_code == 503 and warming.json() == {"status": "warming up"}
        assert metrics(server.url)["npuport_ready"] == 0
        gated.gate.set()
        # poll readiness on /metrics: polling /health would race warm-up and add 503s to the count checked below
        wait_until(lambda: metrics(server.url)["npuport_ready"] == 1, "ready after warm-up")
        assert httpx.get(f"{server.url}/health").json() == {"status": "ready", "variant": "onnx-fp32-dynamic", "device": "cpu"}
        about = httpx.get(f"{server.url}/metadata").json()
        assert httpx.post(f"{server.url}/predict", json={"texts": TEXTS[:2]}).status_code == 200
        samples = metrics(server.url)
    assert about["model"]["labels"] == classifier.labels and about["variant"]["id"] == "onnx-fp32-dynamic"
    assert about["variant"]["sha256"] == classifier.variant.files[0].sha256 and about["device"] == "cpu"
    assert about["parity"]["verdict"] == "not validated" and about["parity"]["profile"] is None
    assert about["batching"]["max_batch_size"] == 16 and about["limits"]["max_texts_per_request"] == 64
    assert about["ready"] is True
    assert samples["npuport_ready"] == 1
    assert samples['npuport_requests_total{endpoint="/health",status="503"}'] == 1
    assert samples['npuport_requests_total{endpoint="/predict",status="200"}'] == 1
    assert samples["npuport_request_latency_seconds_count"] == 1
    assert samples["npuport_batch_size_texts_sum"] == 2  # the request's batch; warm-up is not traffic
    assert {"npuport_queue_depth_requests", "npuport_queue_depth_texts", "npuport_inference_seconds_count"} <= set(samples)


def test_parity_verdict_counts_only_records_for_these_bytes_on_this_device(classifier):
    sha = classifier.variant.files[0].sha256

    def record(sha256: str, device: str, passed: bool) -> Validation:
        return Validation(report="reports/validation.json", variant=classifier.variant_id, sha256=sha256,
                          device=device, profile="fp32", passed=passed, created="2026-01-01T00:00:00+00:00")

    def verdict(*records: Validation) -> dict[str, Any]:
        manifest = classifier.manifest.model_copy(update={"validations": list(records)})
        return manifest.parity(classifier.variant, "cpu").model_dump()

    assert verdict(record("0" * 64, "cpu", True), record(sha, "npu:0", True))["verdict"] == "not validated"
    passed = verdict(record(sha, "cpu", True), record("0" * 64, "cpu", False))
    assert passed["verdict"] == "passed" and passed["sha256"] == sha and passed["profile"] == "fp32"
    assert verdict(record(sha, "cpu", True), record(sha, "cpu", False))["verdict"] == "failed"


def test_batching_is_fitted_to_the_variant(classifier):
    """Static: batches up to the largest bucket (the default and the cap) and a short wait to fill it;
    dynamic: 16 texts, no wait. Whatever is asked for wins, within the static cap."""
    static = classifier.manifest.variant("onnx-fp32-static")
    largest = max(b.batch for b in static.buckets)
    assert fit_batching(static, ServeConfig()) == Batching(
        largest, "the largest bucket batch of onnx-fp32-static", STATIC_WAIT_MS,
        "a static bucket costs the same however few of its rows are filled")
    assert fit_batching(static, ServeConfig(max_batch_size=4, max_wait_ms=0)) == Batching(4, "asked for", 0, "asked for")
    capped = fit_batching(static, ServeConfig(max_batch_size=64))
    assert capped.max_batch_size == largest and "capped" in capped.max_batch_size_because
    dynamic = fit_batching(classifier.variant, ServeConfig())
    assert (dynamic.max_batch_size, dynamic.max_wait_ms) == (16, 0)
    assert fit_batching(classifier.variant, ServeConfig(max_batch_size=64)).max_batch_size == 64
    with pytest.raises(InputError, match="max_texts \\(64\\) exceeds max_queue \\(8\\)"):
        ServeConfig(max_queue=8).check()
