"""Serve benchmark: throughput and p50/p99 latency at 1, 4 and 16 concurrent clients — micro-batching versus
one inference per request, in the same run, on the zoo models' artifacts.

    python benchmarks/serve.py [--artifacts DIR ...] [--variant V] [--seconds 6] [--clients 1,4,16]

Three servers, each in its own process on a free loopback port, all uvicorn + Starlette (the HTTP stack is the
same, so what differs is the model runtime and the batching):
  seed-003    seed 003's API: one transformers eager fp32 call per request (the source model the artifacts
              were converted from), requests handled concurrently in a thread pool like threaded Flask
  per-request `npuport serve --max-batch-size 1 --max-wait-ms 0`: the npuport runtime, no coalescing
  batched     `npuport serve` with its defaults: micro-batching
Clients are closed-loop (send, wait for the answer, send again), each request one text of the bundled corpus in
the model's language, over keep-alive connections, all in one asyncio loop with a minimal HTTP client so the
load generator takes little of the machine's CPU. Targets (issue 6): at 16 clients the batched server gives
≥ 3× the throughput of a one-inference-per-request server, with p99 no worse than 2× its single-client p99.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from rich.console import Console
from rich.table import Table

from npuport.core.corpus import ZH_LABELS, load_corpus
from npuport.core.manifest import Manifest

DEFAULT_ARTIFACTS = ("artifacts/structbert-tiny-zh", "artifacts/roberta-go-emotions")
NPUPORT = [sys.executable, "-m", "npuport.cli", "serve"]


@dataclass(frozen=True)
class Run:
    server: str
    clients: int
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    mean_batch: float | None

    @property
    def throughput(self) -> float:
        return self.requests / self.seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--artifacts", action="append", type=Path, help="Artifacts or package (repeatable).")
    parser.add_argument("--variant", help="Variant id (default: the device default, onnx-fp32-dynamic on cpu).")
    parser.add_argument("--seconds", type=float, default=6.0, help="Measured seconds per server and concurrency.")
    parser.add_argument("--warmup", type=float, default=1.5, help="Unmeasured seconds before each measurement.")
    parser.add_argument("--clients", default="1,4,16")
    parser.add_argument("--max-wait-ms", help="Pass --max-wait-ms to the batched server (default: its default).")
    parser.add_argument("--threads", help="Pass --threads (ONNX Runtime intra-op threads) to the npuport servers.")
    parser.add_argument("--no-seed", action="store_true", help="Skip the seed-003 (transformers eager) server.")
    parser.add_argument("--json", type=Path, help="Also write the results here.")
    parser.add_argument("--seed-server", type=Path, help=argparse.SUPPRESS)  # internal: run the seed-003 server
    args = parser.parse_args()
    if args.seed_server:
        return _run_seed_server(args.seed_server)
    roots = args.artifacts or [Path(p) for p in DEFAULT_ARTIFACTS if (Path(p) / "manifest.json").is_file()]
    if not roots:
        sys.exit(f"no artifacts: convert a zoo model first ({', '.join(DEFAULT_ARTIFACTS)}) or pass --artifacts")
    levels = [int(c) for c in args.clients.split(",")]
    console = Console(width=160)
    console.print(f"load average before: {_load()}; {os.cpu_count()} cores")
    record = []
    for root in roots:
        manifest = Manifest.load(root)
        texts = [e.text for e in load_corpus("zh" if manifest.source.labels == ZH_LABELS else "en")]
        variant = (["--variant", args.variant] if args.variant else []) + (["--threads", args.threads] if args.threads else [])
        servers = {
            "seed-003": [sys.executable, __file__, "--seed-server", manifest.source.path],
            "per-request": [*NPUPORT, str(root), *variant, "--max-batch-size", "1", "--max-wait-ms", "0"],
            "batched": [*NPUPORT, str(root), *variant, *(["--max-wait-ms", args.max_wait_ms] if args.max_wait_ms else [])],
        }
        if args.no_seed or not Path(manifest.source.path).is_dir():
            del servers["seed-003"]
        runs: list[Run] = []
        served = ""
        for name, command in servers.items():
            with _server(command) as (url, about):
                served = about.get("variant", {}).get("id", served)
                for clients in levels:
                    runs.append(_measure(url, name, clients, texts, args.seconds, args.warmup))
        console.print(_table(root, served, runs, levels))
        console.print(_verdict(runs, levels))
        record.append({"artifacts": str(root), "variant": served, "load_average": os.getloadavg(),
                       "runs": [r.__dict__ | {"throughput": r.throughput} for r in runs]})
    console.print(f"load average after: {_load()}")
    if args.json:
        args.json.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")


@contextlib.contextmanager
def _server(command: list[str]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Start a server process; yield its URL and /metadata once /health says ready; SIGTERM it afterwards."""
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stderr is not None
        url = next((m[1] for line in process.stderr if (m := re.search(r"listening on (http://\S+)", line))), None)
        if url is None:
            raise SystemExit(f"{' '.join(command)} did not start (exit {process.wait()})")
        threading.Thread(target=process.stderr.read, daemon=True).start()  # keep the pipe drained
        deadline = time.monotonic() + 600
        while httpx.get(f"{url}/health").status_code != 200:
            if time.monotonic() > deadline or process.poll() is not None:
                raise SystemExit(f"{' '.join(command)} never became ready")
            time.sleep(0.2)
        yield url, httpx.get(f"{url}/metadata").json()
    finally:
        process.terminate()
        process.wait(120)


def _measure(url: str, server: str, clients: int, texts: list[str], seconds: float, warmup: float) -> Run:
    before = _batches(url)
    latencies = asyncio.run(_closed_loop(url, clients, texts, seconds, warmup))
    after = _batches(url)
    batches, requests = after[0] - before[0], after[1] - before[1]
    ms = np.array(latencies) * 1000
    return Run(server, clients, len(latencies), seconds, float(np.percentile(ms, 50)), float(np.percentile(ms, 99)),
               requests / batches if batches else None)


async def _closed_loop(url: str, clients: int, texts: list[str], seconds: float, warmup: float) -> list[float]:
    """Latencies of the requests sent after the warm-up and answered within the measured window."""
    latencies: list[float] = []
    start = time.perf_counter()
    measure_from, stop_at = start + warmup, start + warmup + seconds

    async def one_client(index: int) -> None:
        async with _Connection(url) as connection:
            i = index * 7919
            while (sent := time.perf_counter()) < stop_at:
                status, body = await connection.post("/predict", {"texts": [texts[i % len(texts)]]})
                done = time.perf_counter()
                if status != 200:
                    raise SystemExit(f"{status}: {body.decode(errors='replace')}")
                if sent >= measure_from and done <= stop_at:
                    latencies.append(done - sent)
                i += 1

    await asyncio.gather(*(one_client(i) for i in range(clients)))
    return latencies


class _Connection:
    """A minimal HTTP/1.1 keep-alive client for the load generator: on this 2-core machine httpx spent ~1 ms of
    CPU per request (measured), as much as the server's own work; this spends ~0.05 ms. It reads only what
    these servers send (a status line, headers with Content-Length, a body)."""

    def __init__(self, url: str) -> None:
        host, _, port = url.removeprefix("http://").partition(":")
        self.host, self.port = host, int(port)

    async def __aenter__(self) -> _Connection:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.writer.close()

    async def post(self, path: str, payload: Any) -> tuple[int, bytes]:
        body = json.dumps(payload, ensure_ascii=False).encode()
        self.writer.write(f"POST {path} HTTP/1.1\r\nHost: {self.host}\r\nContent-Type: application/json\r\n"
                          f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
        head = (await self.reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in head[1:] if line)}
        return int(head[0].split()[1]), await self.reader.readexactly(int(headers["content-length"]))


def _batches(url: str) -> tuple[float, float]:
    """(batches, requests in them) so far, from /metrics (zeros for the seed server, which has none)."""
    response = httpx.get(f"{url}/metrics")
    count = re.search(r"^npuport_batch_size_requests_count (\S+)$", response.text, re.M)
    total = re.search(r"^npuport_batch_size_requests_sum (\S+)$", response.text, re.M)
    return (float(count[1]) if count else 0.0), (float(total[1]) if total else 0.0)


def _table(root: Path, variant: str, runs: list[Run], levels: list[int]) -> Table:
    by = {(r.server, r.clients): r for r in runs}
    table = Table(title=f"{root} ({variant} for npuport) — requests of 1 text, closed-loop clients")
    for column in ("server", "clients", "req/s", "p50 ms", "p99 ms", "mean batch", "× per-request", "× seed-003",
                   "p99 / own 1-client p99"):
        table.add_column(column, justify="left" if column == "server" else "right")
    for run in runs:
        per_request, seed = by.get(("per-request", run.clients)), by.get(("seed-003", run.clients))
        table.add_row(run.server, str(run.clients), f"{run.throughput:.0f}", f"{run.p50_ms:.1f}", f"{run.p99_ms:.1f}",
                      f"{run.mean_batch:.1f}" if run.mean_batch else "",
                      f"{run.throughput / per_request.throughput:.2f}" if per_request else "",
                      f"{run.throughput / seed.throughput:.2f}" if seed else "",
                      f"{run.p99_ms / by[(run.server, levels[0])].p99_ms:.2f}")
    return table


def _verdict(runs: list[Run], levels: list[int]) -> str:
    by = {(r.server, r.clients): r for r in runs}
    top, low = max(levels), min(levels)
    batched = by[("batched", top)]
    p99 = batched.p99_ms / by[("batched", low)].p99_ms
    lines = []
    for baseline in ("per-request", "seed-003"):
        if (baseline, top) in by:
            ratio = batched.throughput / by[(baseline, top)].throughput
            lines.append(f"{ratio:.2f}× {baseline} ({'met' if ratio >= 3 else 'NOT met'})")
    return (f"target at {top} clients — throughput ≥ 3×: {', '.join(lines)}; p99 ≤ 2× the {low}-client p99: "
            f"{p99:.2f}× ({'met' if p99 <= 2 else 'NOT met'})")


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg()) + " (1/5/15 min)"


def _run_seed_server(model_dir: Path) -> None:
    """Seed 003's API on the same HTTP stack: the source model in transformers eager fp32, one call per request
    on the request's texts, requests run concurrently in Starlette's thread pool (like threaded Flask)."""
    import torch
    import uvicorn
    from starlette.applications import Starlette
    from starlette.concurrency import run_in_threadpool
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from npuport.model.source import load_source
    from npuport.serve.server import bind

    source = load_source(model_dir)
    labels, sigmoid = source.info.labels, source.info.activation == "sigmoid"

    def infer(texts: list[str]) -> list[dict[str, Any]]:
        batch = source.tokenizer(texts, padding=True, truncation=True, max_length=source.info.max_length,
                                 return_tensors="pt")
        with torch.inference_mode():
            logits = source.model(**{n: batch[n] for n in source.info.input_names}).logits
        probs = torch.sigmoid(logits) if sigmoid else torch.softmax(logits, -1)
        return [{"text": t, "scores": dict(zip(labels, p.tolist()))} for t, p in zip(texts, probs)]

    async def predict(request: Request) -> JSONResponse:
        return JSONResponse({"predictions": await run_in_threadpool(infer, (await request.json())["texts"])})

    async def ok(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ready"})

    app = Starlette(routes=[Route("/predict", predict, methods=["POST"]), Route("/health", ok), Route("/metadata", ok),
                            Route("/metrics", ok)])
    infer(["warm-up"])
    sock = bind("127.0.0.1", 0)
    print(f"listening on http://127.0.0.1:{sock.getsockname()[1]}", file=sys.stderr, flush=True)
    uvicorn.Server(uvicorn.Config(app, access_log=False, log_level="warning")).run(sockets=[sock])


if __name__ == "__main__":
    main()
