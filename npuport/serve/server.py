"""Run the app on uvicorn until SIGTERM or Ctrl+C, then shut down gracefully and return normally (exit 0).

On the signal uvicorn stops accepting connections and closes idle ones (and those whose request head is still
arriving); bodies still uploading get a short grace, then 503; every request whose body has arrived is answered
(its batch runs); then the app's shutdown drains the batcher. The whole drain is bounded by drain_timeout_s: what
is still unanswered then (a client that never reads its response, say) is cancelled. uvicorn re-raises the signal
once it is done; a handler of ours receives it and only logs, so the process exits 0 instead of dying by the
signal. The deadlines on slow clients: npuport.serve.transport.
"""

from __future__ import annotations

import copy
import dataclasses
import importlib
import logging
import os
import signal
import socket
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

from npuport.core.devices import CPU, Device
from npuport.core.errors import BackendUnavailableError, InputError
from npuport.serve.config import ServeConfig

SERVE_DEPENDENCIES = {"starlette": "starlette", "uvicorn": "uvicorn", "prometheus_client": "prometheus-client"}
GRPC_DEPENDENCIES = {"grpc": "grpcio", "google.protobuf": "protobuf"}
GRACEFUL_SIGNALS = (signal.SIGTERM, signal.SIGINT)
log = logging.getLogger("npuport.serve")


def check_installed(grpc: bool = False) -> None:
    """Fail with the install command when the `serve` extra (with gRPC: its grpcio and protobuf too) is missing."""
    missing = []
    for module, package in (SERVE_DEPENDENCIES | (GRPC_DEPENDENCIES if grpc else {})).items():
        try:
            importlib.import_module(module)
        except ImportError:
            missing.append(package)
    if missing:
        raise BackendUnavailableError(f"serving needs {', '.join(missing)}, not installed here: "
                                      "pip install 'npuport[serve]'")


def bind(host: str, port: int) -> socket.socket:
    """A listening socket (port 0: a free one, read back with getsockname)."""
    if not 0 <= port <= 65535:
        raise InputError(f"port must be between 0 and 65535, got {port}")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        return socket.create_server((host, port), family=family, backlog=2048)
    except OSError as exc:
        raise InputError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None


def serve(
    path: str | Path,
    variant: str | None = None,
    device: Device = CPU,
    threads: int | None = None,
    host: str = "127.0.0.1",
    port: int = 8000,
    config: ServeConfig | None = None,
    grpc_port: int | None = None,
    access_log: bool = False,
    announce: Callable[[str], None] = print,
    om: Path | None = None,
) -> None:
    """Load `path` (artifacts or package), listen on host:port (and with `grpc_port`, gRPC on host:grpc_port) and
    serve until SIGTERM / Ctrl+C."""
    check_installed(grpc=grpc_port is not None)
    config = (config or ServeConfig()).check()
    if config.model_name is None:
        config = dataclasses.replace(config, model_name=served_name(path))
    from npuport.runtime import load
    from npuport.serve.app import create_app
    from npuport.serve.transport import make_server

    if threads is None:
        threads = serving_threads()
    with load(path, variant, device, threads, om) as classifier:
        app = create_app(classifier, config)
        served = app.state.served
        sock = bind(host, port)
        if grpc_port is not None:  # free, and 0 resolved, before gRPC core binds it (it logs a failure on a line of its own)
            with bind(host, grpc_port) as probe:
                grpc_port = probe.getsockname()[1]
        bound_host, bound_port = sock.getsockname()[:2]
        shown = f"[{bound_host}]" if ":" in bound_host else bound_host
        ort = f"; {threads} ONNX Runtime thread(s)" if classifier.engine.startswith("onnxruntime") else ""
        announce(f"serving {classifier.describe()}{ort}")
        batching = served.batching
        announce(f"listening on http://{shown}:{bound_port} (max batch {batching.max_batch_size} texts, max wait "
                 f"{batching.max_wait_ms:g} ms, queue {config.max_queue} texts); /health is 503 until warmed up")
        listeners = []
        if grpc_port is not None:
            from npuport.serve.v2_grpc import GrpcServer

            listeners.append(GrpcServer(served, host, grpc_port, lambda address: announce(
                f"listening on grpc://{address} (Open Inference Protocol v2, inference.GRPCInferenceService)")))
        server = make_server(app, listeners=listeners, access_log=access_log, log_config=_log_config())

        def after_graceful_shutdown(sig: int, frame: FrameType | None) -> None:
            """uvicorn re-raises the signal it shut down for; by then everything is answered (or cancelled when the
            drain ran out), so only log it.
            (A signal before uvicorn took over its handlers asks it to stop as soon as it starts.)"""
            server.should_exit = True
            log.info("received %s; exiting normally", signal.Signals(sig).name)

        previous = {sig: signal.signal(sig, after_graceful_shutdown) for sig in GRACEFUL_SIGNALS}
        try:
            server.run(sockets=[sock])
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            sock.close()
        if server.failure is not None:
            raise server.failure
        if server.force_exit:
            announce("stopped without waiting for requests in flight (forced by a second Ctrl+C)")
        elif served.cancelled:
            announce(f"stopped: {served.cancelled} request(s) still unanswered after the {config.timeouts.drain_s:g} s "
                     "drain were cancelled")
        else:
            announce("stopped: every request in flight was answered")


def served_name(path: str | Path) -> str:
    """The v2 model name of a served directory or .tar.gz package: its name without the suffix."""
    return Path(path).resolve().name.removesuffix(".tar.gz") or "model"


def serving_threads() -> int:
    """ONNX Runtime's intra-op threads when serving: every core but one. The event loop parses requests and
    writes answers while a batch runs; with every core in ORT's pool (whose threads spin between operators)
    it waits for CPU. On the 2-core machine this was built on, 1 thread served ~2× more requests than 2."""
    return max(1, (os.cpu_count() or 1) - 1)


def _log_config() -> dict[str, Any]:
    """uvicorn's logging setup, with npuport.serve's messages (warm-up, failed batches) on the same handler."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["loggers"]["npuport"] = {"handlers": ["default"], "level": "INFO", "propagate": False}
    return config
