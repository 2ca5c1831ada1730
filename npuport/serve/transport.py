"""uvicorn with every wait on a client bounded: a deadline for each request head, the app's drain hook, and a
bounded drain.

uvicorn times out idle keep-alive connections, but nothing else: a client may send its request head (or body)
a byte at a time for ever, and with an unbounded drain one such client keeps the process alive after SIGTERM.
Here:
- the head must arrive whole within `head_s` of the connection opening (or of the previous response): else 408
  and the connection is closed (closed without a word if not a byte of a new request came). No app runs before a
  request head is whole, so this deadline lives in the HTTP protocol: a mixin over uvicorn's own (httptools when
  installed, else h11), using only what both share (`cycle`, `transport`, `loop`, the protocol callbacks);
- the body must arrive within `body_s` of the head: the app's deadline (npuport.serve.body, 408 as JSON);
- on SIGTERM the app hears of it first (`begin_drain`: uploads in progress get a short grace, then 503) and the
  other listeners (gRPC) stop taking calls; uvicorn then closes idle connections, waits for the requests in flight
  (their batches run) and, after `drain_s`, cancels whatever is still unanswered (a client that never reads its
  response, say) and exits; the listeners' calls in flight are bounded by `drain_s` too.
"""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import uvicorn
from starlette.applications import Starlette
from uvicorn.protocols.http.auto import AutoHTTPProtocol

from npuport.core.errors import InputError


class Listener(Protocol):
    """Another server on the same event loop and served model (npuport.serve.v2_grpc's)."""

    async def start(self) -> None:
        """Listen and take requests; InputError when it cannot listen."""

    async def stop(self, grace: float | None) -> None:
        """Take no new requests; answer those in flight within `grace` seconds, then cancel the rest."""


def make_server(app: Starlette, http: str = "auto", listeners: Sequence[Listener] = (), **options: Any) -> Server:
    """A uvicorn server for an app of create_app, its slow clients bounded by the app's config.timeouts; the
    `listeners` start once the app has and drain beside it. `http` is "auto" (httptools if installed, else h11),
    "httptools" or "h11"; `options` go to uvicorn.Config."""
    served = app.state.served
    timeouts = served.config.timeouts

    def head_timed_out() -> None:
        served.metrics.errors.labels("request_timeout").inc()

    protocol = type("BoundedHTTPProtocol", (_HeadDeadline, _protocol_class(http)), {
        "head_timeout": timeouts.head_s, "on_head_timeout": staticmethod(head_timed_out)})
    # uvicorn types timeout_graceful_shutdown as int; asyncio.wait_for takes any number. No WebSocket routes here.
    config = uvicorn.Config(app, http=protocol, ws="none", lifespan="on",
                            timeout_graceful_shutdown=timeouts.drain_s, **options)  # type: ignore[arg-type]
    return Server(config, served.begin_drain, listeners)


class Server(uvicorn.Server):
    """uvicorn's server that tells the app of a drain first, with other listeners: they start after the app (its
    batcher runs by then) and stop taking calls when the drain begins; the app's shutdown then closes the batcher,
    which first answers every queued request, theirs too. `failure`: why a listener could not start (the server
    then shuts down at once)."""

    def __init__(self, config: uvicorn.Config, begin_drain: Callable[[], None], listeners: Sequence[Listener]) -> None:
        super().__init__(config)
        self._begin_drain = begin_drain
        self._listeners = list(listeners)
        self.failure: Exception | None = None

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        for listener in self._listeners:
            try:
                await listener.start()
            except InputError as exc:
                self.failure = exc
                self.should_exit = True
                return

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        self._begin_drain()
        grace = self.config.timeout_graceful_shutdown
        stopping = [asyncio.ensure_future(listener.stop(grace)) for listener in self._listeners]
        await super().shutdown(sockets)
        if self.force_exit:
            for listener in self._listeners:
                await listener.stop(0)
        await asyncio.gather(*stopping)


def _protocol_class(http: str) -> type[asyncio.Protocol]:
    if http == "auto":
        return AutoHTTPProtocol
    if http == "h11":
        from uvicorn.protocols.http.h11_impl import H11Protocol

        return H11Protocol
    if http == "httptools":
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

        return HttpToolsProtocol
    raise ValueError(f"unknown HTTP implementation {http!r}")


def _head_timeout_response(seconds: float) -> bytes:
    body = json.dumps({"error": f"the request head did not arrive within {seconds:g} s: the limit head_timeout_s is "
                                f"{seconds:g}", "code": "request_timeout", "limit": "head_timeout_s", "max": seconds})
    return (f"HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\ncontent-length: {len(body)}\r\n"
            f"connection: close\r\n\r\n{body}").encode("ascii")


class _HeadDeadline:
    """Closes a connection whose next request head is not whole `head_timeout` seconds after the connection
    opened or the previous response ended. A head is whole once uvicorn made a cycle for it whose response is not
    complete yet (that is how both protocols start a request, pipelined ones included)."""

    head_timeout: float
    on_head_timeout: Callable[[], None]
    # uvicorn's protocol attributes this relies on
    cycle: Any
    transport: asyncio.Transport
    loop: asyncio.AbstractEventLoop

    _head_timer: asyncio.TimerHandle | None = None
    _head_started = False  # a byte of the awaited head arrived

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)  # type: ignore[misc]
        self._arm()

    def data_received(self, data: bytes) -> None:
        if self._head_timer is not None and data:
            self._head_started = True
        super().data_received(data)  # type: ignore[misc]
        self._disarm_if_head_arrived()

    def on_response_complete(self) -> None:
        self._arm()  # before: uvicorn may start a pipelined request right away
        super().on_response_complete()  # type: ignore[misc]
        self._disarm_if_head_arrived()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)  # type: ignore[misc]

    def _arm(self) -> None:
        self._disarm()
        self._head_started = False
        self._head_timer = self.loop.call_later(self.head_timeout, self._head_timed_out)

    def _disarm(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _disarm_if_head_arrived(self) -> None:
        if self.cycle is not None and not self.cycle.response_complete:
            self._disarm()

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self.transport.is_closing() or (self.cycle is not None and not self.cycle.response_complete):
            return
        if self._head_started:
            self.transport.write(_head_timeout_response(self.head_timeout))
            self.on_head_timeout()
        self.transport.close()
