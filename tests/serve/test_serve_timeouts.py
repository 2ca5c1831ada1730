"""Slow clients on a real server (issue 15 item 10): a request head or body dribbled a byte at a time gets 408
and its connection closed after its deadline, a silent connection is closed, and others are served meanwhile; a
request slower to answer than those deadlines is not cut; at shutdown, uploads in progress get 503 after a short
grace while requests in flight are answered, and the drain is bounded. Raw sockets on 127.0.0.1, under both of
uvicorn's HTTP implementations where the deadline lives in the protocol."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from serving import WAIT, GatedClassifier, as_json, dribble, metrics, running, wait_until  # type: ignore[import-not-found]

from npuport.core.corpus import load_corpus
from npuport.serve.body import DRAIN_UPLOAD_GRACE_S
from npuport.serve.config import ServeConfig, Timeouts

TEXTS = [e.text for e in load_corpus("zh")][:8]
HEAD = b"POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n"
BODY = b'{"texts": ["' + b"x" * 185 + b'"]}'  # 200 bytes: 10 s at a byte per 50 ms
ENDLESS_HEAD = HEAD[:-2] + b"X-Slow: " + b"a" * 1000  # whole only after a minute at a byte per 50 ms
SHORT = 0.5  # seconds: the head and body deadlines of these tests


def started_uploads(url: str, count: int) -> None:
    wait_until(lambda: metrics(url)["npuport_requests_in_flight"] == count, f"{count} request(s) in the handler")


@pytest.mark.parametrize("http", ["httptools", "h11"])
def test_slow_heads_and_bodies_get_408_and_are_closed_while_others_are_served(classifier, http):
    config = ServeConfig(warmup=False, timeouts=Timeouts(head_s=SHORT, body_s=SHORT))
    with running(classifier, config, http=http) as server, ThreadPoolExecutor(3) as pool:
        began = time.monotonic()
        head = pool.submit(dribble, server.port, ENDLESS_HEAD)
        silent = pool.submit(dribble, server.port, b"")  # connects, says nothing
        body = pool.submit(dribble, server.port, BODY, start=HEAD)  # whole head, then the body a byte at a time
        normal = httpx.post(f"{server.url}/predict", json={"texts": TEXTS[:2]}, timeout=WAIT)
        assert normal.status_code == 200 and normal.json()["predictions"] == as_json(classifier.predict(TEXTS[:2]))
        results = {name: future.result(WAIT) for name, future in (("head", head), ("silent", silent), ("body", body))}
        samples = metrics(server.url)
    for name, result in results.items():
        assert result.closed_at is not None, f"the {name} connection was never closed"
        after = result.closed_at - began
        assert SHORT * 0.9 <= after < SHORT + 2, f"the {name} connection closed after {after:.2f}s"
    assert results["silent"].received == b""
    assert results["head"].status == 408 and results["head"].headers["connection"] == "close"
    assert results["head"].json() == {"error": "the request head did not arrive within 0.5 s: the limit head_timeout_s is 0.5",
                                      "code": "request_timeout", "limit": "head_timeout_s", "max": 0.5}
    assert results["body"].status == 408 and results["body"].headers["connection"] == "close"
    assert results["body"].json() == {"error": "the body did not arrive within 0.5 s: the limit body_timeout_s is 0.5",
                                      "code": "request_timeout", "limit": "body_timeout_s", "max": 0.5}
    assert samples['npuport_errors_total{reason="request_timeout"}'] == 2
    assert samples['npuport_requests_total{endpoint="/predict",status="408"}'] == 1  # the head's never reached a route


@pytest.mark.parametrize("http", ["httptools", "h11"])
def test_a_request_slower_to_answer_than_the_deadlines_is_not_cut(classifier, http):
    """The head deadline stops once a head is whole and restarts after the response: a request held in inference
    for 3× the deadlines is answered, and the kept-alive connection serves the next one."""
    gated = GatedClassifier(classifier)
    config = ServeConfig(warmup=False, timeouts=Timeouts(head_s=0.2, body_s=0.2))
    with running(gated, config, http=http) as server, httpx.Client(base_url=server.url, timeout=WAIT) as client, \
            ThreadPoolExecutor(1) as pool:
        gated.gate.clear()
        held = pool.submit(client.post, "/predict", json={"texts": TEXTS[:1]})
        assert gated.started.acquire(timeout=WAIT)
        time.sleep(0.6)
        gated.gate.set()
        assert held.result(WAIT).status_code == 200
        time.sleep(0.1)  # within the head deadline
        again = client.post("/predict", json={"texts": TEXTS[1:2]})
        assert again.status_code == 200 and again.json()["predictions"] == as_json(classifier.predict(TEXTS[1:2]))
        assert metrics(server.url)['npuport_requests_total{endpoint="/predict",status="200"}'] == 2


def test_shutdown_cuts_slow_uploads_and_answers_requests_in_flight(classifier):
    """Deadlines far away (30 s): at shutdown a slow upload gets 503 after the drain grace (1 s) instead of holding
    the server, a request whose body arrived is answered in full, and the server stops within seconds."""
    gated = GatedClassifier(classifier)
    config = ServeConfig(warmup=False, timeouts=Timeouts(head_s=30, body_s=30, drain_s=30))
    with running(gated, config) as server, ThreadPoolExecutor(3) as pool:
        gated.gate.clear()
        in_flight = pool.submit(httpx.post, f"{server.url}/predict", json={"texts": TEXTS[:3]}, timeout=WAIT)
        assert gated.started.acquire(timeout=WAIT)
        uploads = [pool.submit(dribble, server.port, BODY, start=HEAD, limit=20) for _ in range(2)]
        started_uploads(server.url, 3)
        began = time.monotonic()
        server.uvicorn.should_exit = True
        cut = [upload.result(WAIT) for upload in uploads]
        gated.gate.set()
        answered = in_flight.result(WAIT)
        server.thread.join(WAIT)
        stopped = time.monotonic() - began
    assert answered.status_code == 200 and answered.json()["predictions"] == as_json(classifier.predict(TEXTS[:3]))
    for upload in cut:
        assert upload.status == 503 and upload.json() == {"error": "the server is shutting down and the body had not arrived",
                                                         "code": "shutting_down"}
        assert upload.closed_at is not None and upload.closed_at - began < DRAIN_UPLOAD_GRACE_S + 2
    assert not server.thread.is_alive() and stopped < DRAIN_UPLOAD_GRACE_S + 5
    assert server.served.cancelled == 0


def test_the_drain_is_bounded_what_is_unanswered_then_gets_503(classifier):
    """A request whose batch is still running when drain_timeout_s (0.5 s here) runs out is cancelled and told
    so; the server then stops as soon as the running batch ends."""
    gated = GatedClassifier(classifier)
    config = ServeConfig(warmup=False, timeouts=Timeouts(drain_s=0.5))
    with running(gated, config) as server, ThreadPoolExecutor(1) as pool:
        gated.gate.clear()
        in_flight = pool.submit(httpx.post, f"{server.url}/predict", json={"texts": TEXTS[:1]}, timeout=WAIT)
        assert gated.started.acquire(timeout=WAIT)
        began = time.monotonic()
        server.uvicorn.should_exit = True
        response = in_flight.result(WAIT)
        answered = time.monotonic() - began
        gated.gate.set()
        server.thread.join(WAIT)
        assert not server.thread.is_alive()
    assert response.status_code == 503 and response.json() == {
        "error": "the server is shutting down: the drain ran out (drain_timeout_s 0.5) before this request was answered",
        "code": "shutting_down"}
    assert 0.5 <= answered < 3 and server.served.cancelled == 1
