"""`npuport serve`: a model over HTTP (and gRPC), micro-batched."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from npuport.cli import render
from npuport.cli.options import DeviceOpt, OmOpt, SpinOpt, ThreadsOpt, VariantOpt
from npuport.core.devices import CPU


def serve(
    path: Annotated[Path, typer.Argument(help="A package (`npuport package`) or an artifacts directory.")],
    variant: VariantOpt = None,
    device: DeviceOpt = CPU,
    om: OmOpt = None,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on (0: any free port, printed at start).")] = 8000,
    grpc_port: Annotated[int | None, typer.Option("--grpc-port", help="Also serve the Open Inference Protocol v2 over "
                         "gRPC on this port (Triton's is 8001; 0: any free port). Off unless given.")] = None,
    max_batch_size: Annotated[int | None, typer.Option("--max-batch-size", help="Texts per inference batch "
                              "(default and cap for a static variant: its largest bucket batch; else 16).")] = None,
    max_wait_ms: Annotated[float | None, typer.Option("--max-wait-ms", help="How long a request may wait for others to join "
                           "its batch (default: 0 for dynamic shapes, batches form while one runs; 2 to fill static buckets).")] = None,
    max_queue: Annotated[int, typer.Option("--max-queue", help="Texts waiting for a batch; beyond it requests get 429.")] = 1024,
    max_texts: Annotated[int, typer.Option("--max-texts", help="Texts per request; beyond it 413.")] = 64,
    max_chars: Annotated[int, typer.Option("--max-chars", help="Characters per text; beyond it 413.")] = 5000,
    threads: ThreadsOpt = None,
    spin: SpinOpt = False,
    access_log: Annotated[bool, typer.Option("--access-log", help="Log every request.")] = False,
    drain_timeout: Annotated[float, typer.Option("--drain-timeout", help="Seconds from SIGTERM to exit at most: requests "
                             "in flight are answered, those still unanswered after it are cancelled.")] = 30.0,
) -> None:
    """Serve a model over HTTP: POST /predict with micro-batching, GET /health, /metadata, /metrics, and the Open
    Inference Protocol v2 (/v2/models/NAME/infer; NAME: the served directory's name), with --grpc-port over gRPC
    too. SIGTERM drains."""
    from npuport.serve.config import Limits, ServeConfig, Timeouts
    from npuport.serve.server import serve as run_server

    config = ServeConfig(max_batch_size, max_wait_ms, max_queue, Limits(max_texts, max_chars),
                         timeouts=Timeouts(drain_s=drain_timeout))
    run_server(path, variant, device, threads, host, port, config, grpc_port, access_log, announce=render.announce, om=om)
