"""A real uvicorn server on a free loopback port, in a thread, built as `npuport serve` builds it, around a real
Classifier (or a thin wrapper of one whose predict can be held at a gate or made to fail: the only test double, at
the Classifier.predict boundary); a slow raw-socket client (dribble); /metrics parsed."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx

from npuport.runtime import Classifier
from npuport.serve.app import create_app
from npuport.serve.config import ServeConfig
from npuport.serve.server import bind
from npuport.serve.transport import make_server

WAIT = 30.0  # seconds: the upper bound of every wait in these tests


@dataclass
class Server:
    url: str
    app: Any
    port: int
    uvicorn: Any  # the uvicorn.Server: set should_exit to begin its shutdown
    thread: threading.Thread

    @property
    def service(self) -> Any:
        return self.app.state.service


@contextlib.contextmanager
def running(classifier: Any, config: ServeConfig, ready: bool = True, http: str = "auto") -> Iterator[Server]:
    """Serve `classifier` on 127.0.0.1:<free port> in a thread, as `npuport serve` does (make_server); stop
    (gracefully) on exit. `http`: uvicorn's HTTP implementation, "auto" (httptools here), "httptools" or "h11"."""
    app = create_app(classifier, config)
    sock = bind("127.0.0.1", 0)
    server = make_server(app, http=http, log_level="warning")
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: server.started, "the server to start")
        if ready:
            wait_until(lambda: httpx.get(f"{url}/health").status_code == 200, "/health to say ready")
        yield Server(url, app, port, server, thread)
    finally:
        server.should_exit = True
        thread.join(WAIT)
        assert not thread.is_alive(), "the server did not stop"


def wait_until(condition: Callable[[], bool], what: str, timeout: float = WAIT) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.01)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")


class GatedClassifier:
    """A real Classifier whose predict waits for `gate` (so a test decides when inference proceeds) and raises
    for any batch holding a text that contains `fail_marker`. Everything else is the real classifier's."""

    def __init__(self, inner: Classifier, fail_marker: str = "FAIL-ME") -> None:
        self._inner = inner
        self.fail_marker = fail_marker
        self.gate = threading.Event()
        self.gate.set()
        self.started = threading.Semaphore(0)  # released once per predict that began
        self.batches: list[list[str]] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def predict(self, texts: list[str], *args: Any, **kwargs: Any) -> Any:
        self.batches.append(list(texts))
        self.started.release()
        if not self.gate.wait(WAIT):
            raise TimeoutError("the test never opened the gate")
        if any(self.fail_marker in text for text in texts):
            raise RuntimeError(f"injected failure: a text contains {self.fail_marker}")
        return self._inner.predict(texts, *args, **kwargs)


def as_json(predictions: list[Any]) -> list[dict[str, Any]]:
    """Predictions as they come back over HTTP (tuples become lists)."""
    import json

    return json.loads(json.dumps([p.to_dict() for p in predictions], ensure_ascii=False))


def metrics(url: str) -> dict[str, float]:
    """Every sample of /metrics as 'name{label="v",…}' → value, parsed by prometheus_client's own parser."""
    from prometheus_client.parser import text_string_to_metric_families

    response = httpx.get(f"{url}/metrics", timeout=WAIT)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(response.text):
        for s in family.samples:
            labels = ",".join(f'{k}="{v}"' for k, v in sorted(s.labels.items()))
            samples[f"{s.name}{{{labels}}}" if labels else s.name] = s.value
    return samples


@dataclass
class Dribbled:
    """What a slow client got back: the raw bytes, and when (time.monotonic) the server closed the connection."""

    received: bytes
    closed_at: float | None

    @property
    def status(self) -> int | None:
        return int(self.received.split(b" ", 2)[1]) if self.received.startswith(b"HTTP/1.1 ") else None

    @property
    def headers(self) -> dict[str, str]:
        head = self.received.partition(b"\r\n\r\n")[0].decode("latin-1").split("\r\n")[1:]
        return {name.lower(): value.strip() for name, _, value in (line.partition(":") for line in head)}

    def json(self) -> Any:
        import json

        return json.loads(self.received.partition(b"\r\n\r\n")[2])


def dribble(port: int, data: bytes, start: bytes = b"", every: float = 0.05, limit: float = 15.0) -> Dribbled:
    """A slow client: connect to 127.0.0.1:`port`, send `start` at once, then `data` one byte every `every` seconds
    (reading what comes back in between) until the server closes the connection or `limit` seconds pass."""
    deadline = time.monotonic() + limit
    received = b""
    with socket.create_connection(("127.0.0.1", port), timeout=WAIT) as sock:
        sock.settimeout(every)
        if start:
            sock.sendall(start)
        while time.monotonic() < deadline:
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                if data:
                    with contextlib.suppress(OSError):  # closed by the server meanwhile: the next recv says so
                        sock.send(data[:1])
                    data = data[1:]
                continue
            except ConnectionResetError:
                return Dribbled(received, time.monotonic())
            if not chunk:
                return Dribbled(received, time.monotonic())
            received += chunk
    return Dribbled(received, None)
