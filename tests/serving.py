"""A real uvicorn server on a free loopback port, in a thread, built as `npuport serve` builds it, around a real
Classifier (or a thin wrapper of one whose predict can be held at a gate or made to fail: the only test double, at
the Classifier.predict boundary); a real `npuport serve` process (`serving`); a slow raw-socket client (dribble);
/metrics parsed."""

from __future__ import annotations

import contextlib
import queue
import re
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
from cli_runner import NPUPORT, cli_env  # type: ignore[import-not-found]
from prometheus_client.parser import text_string_to_metric_families

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
    def served(self) -> Any:
        return self.app.state.served


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
    response = httpx.get(f"{url}/metrics", timeout=WAIT)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(response.text):
        for s in family.samples:
            labels = ",".join(f'{k}="{v}"' for k, v in sorted(s.labels.items()))
            samples[f"{s.name}{{{labels}}}" if labels else s.name] = s.value
    return samples


def in_flight(url: str) -> float:
    for family in text_string_to_metric_families(httpx.get(f"{url}/metrics").text):
        if family.name == "npuport_requests_in_flight":
            return family.samples[0].value
    raise AssertionError("no npuport_requests_in_flight in /metrics")


def refuses_connections(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except ConnectionRefusedError:
        return True
    return False


@dataclass
class Served:
    """A running `npuport serve` process."""

    process: subprocess.Popen[str]
    port: int
    grpc_port: int | None  # with --grpc-port
    url: str
    lines: queue.Queue[str]
    log: list[str]
    reader: threading.Thread

    def text(self) -> str:
        """Everything the server wrote to stderr so far (all of it once it exited)."""
        if self.process.poll() is not None:
            self.reader.join(WAIT)
        while not self.lines.empty():
            self.log.append(self.lines.get_nowait())
        return "".join(self.log)


@contextlib.contextmanager
def serving(artifacts: str, *options: str) -> Iterator[Served]:
    """`npuport serve ARTIFACTS --port 0 OPTIONS` as a subprocess, ready (and listening for gRPC too with
    `--grpc-port` among the options); killed on exit if still running.
    Popen, not npuport(): the test talks to the server while it runs (same command line and environment)."""
    process = subprocess.Popen([*NPUPORT, "serve", artifacts, "--port", "0", *options], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env=cli_env())
    lines: queue.Queue[str] = queue.Queue()
    log: list[str] = []
    stderr = process.stderr
    assert stderr is not None
    reader = threading.Thread(target=lambda: [lines.put(line) for line in stderr], daemon=True)
    reader.start()
    try:
        ports: dict[str, int] = {}
        awaited = {"http", "grpc"} if "--grpc-port" in options else {"http"}
        deadline = time.monotonic() + 60
        while set(ports) != awaited:
            assert time.monotonic() < deadline and process.poll() is None, "server did not start:\n" + "".join(log)
            with contextlib.suppress(queue.Empty):
                log.append(lines.get(timeout=0.5))
                match = re.search(r"listening on (http|grpc)://127\.0\.0\.1:(\d+)", log[-1])
                ports |= {match[1]: int(match[2])} if match else {}
        url = f"http://127.0.0.1:{ports['http']}"
        wait_until(lambda: httpx.get(f"{url}/health").status_code == 200, "ready")
        yield Served(process, ports["http"], ports.get("grpc"), url, lines, log, reader)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(WAIT)


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
