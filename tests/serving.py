"""A real uvicorn server on a free loopback port, in a thread, around a real Classifier (or a thin wrapper of one
whose predict can be held at a gate or made to fail: the only test double, at the Classifier.predict boundary)."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import uvicorn

from npuport.runtime import Classifier
from npuport.serve.app import create_app
from npuport.serve.config import ServeConfig
from npuport.serve.server import bind

WAIT = 30.0  # seconds: the upper bound of every wait in these tests


@dataclass
class Server:
    url: str
    app: Any

    @property
    def service(self) -> Any:
        return self.app.state.service


@contextlib.contextmanager
def running(classifier: Any, config: ServeConfig, ready: bool = True) -> Iterator[Server]:
    """Serve `classifier` on 127.0.0.1:<free port> in a thread; stop (gracefully) on exit."""
    app = create_app(classifier, config)
    sock = bind("127.0.0.1", 0)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    try:
        wait_until(lambda: server.started, "the server to start")
        if ready:
            wait_until(lambda: httpx.get(f"{url}/health").status_code == 200, "/health to say ready")
        yield Server(url, app)
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
