"""`npuport serve` as a user runs it: a real subprocess on a free port; SIGTERM with requests in flight answers
every one of them, stops accepting, exits 0; a missing `serve` extra and bad options are one-line errors."""

from __future__ import annotations

import contextlib
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
from cli_runner import NPUPORT, cli_env, npuport  # type: ignore[import-not-found]
from prometheus_client.parser import text_string_to_metric_families
from serving import WAIT, wait_until  # type: ignore[import-not-found]


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


def test_sigterm_answers_every_request_in_flight_then_exits_0(structbert_artifacts):
    """8 requests of 64 long texts, run one text at a time (~2 s of work here), are all in the handler when
    SIGTERM arrives: the server stops accepting, still answers all 8 in full (uvicorn logs that it waited for
    their connections), and exits with status 0."""
    # Popen, not npuport(): this test talks to the server while it runs (same command line and environment)
    process = subprocess.Popen([*NPUPORT, "serve", structbert_artifacts, "--port", "0", "--max-batch-size", "1",
                                "--max-wait-ms", "0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=cli_env())
    lines: queue.Queue[str] = queue.Queue()
    log: list[str] = []
    threading.Thread(target=lambda: [lines.put(line) for line in process.stderr], daemon=True).start()  # type: ignore[union-attr]
    try:
        port = None
        deadline = time.monotonic() + 60
        while port is None:
            assert time.monotonic() < deadline and process.poll() is None, "server did not start:\n" + "".join(log)
            with contextlib.suppress(queue.Empty):
                log.append(lines.get(timeout=0.5))
                match = re.search(r"listening on http://127\.0\.0\.1:(\d+)", log[-1])
                port = int(match[1]) if match else None
        url = f"http://127.0.0.1:{port}"
        wait_until(lambda: httpx.get(f"{url}/health").status_code == 200, "ready")
        texts = ["word " * 300] * 64
        with ThreadPoolExecutor(8) as pool:
            futures = [pool.submit(httpx.post, f"{url}/predict", json={"texts": texts}, timeout=WAIT) for _ in range(8)]
            wait_until(lambda: in_flight(url) == 8, "all 8 requests in flight")
            process.send_signal(signal.SIGTERM)
            wait_until(lambda: refuses_connections(port), "the server to stop accepting")
            responses = [f.result(WAIT) for f in futures]
        assert [r.status_code for r in responses] == [200] * 8
        assert all(len(r.json()["predictions"]) == 64 and r.json()["predictions"][0]["truncated"] for r in responses)
        assert process.wait(WAIT) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(WAIT)
    log += list(lines.queue)
    text = "".join(log)
    assert "Shutting down" in text and "stopped: every request in flight was answered" in text, text
    assert "Waiting for connections to close" in text, "no request was in flight at shutdown: not a test of draining"


def test_missing_serve_extra_names_the_install_command(structbert_artifacts):
    # not npuport(): uvicorn is hidden inside the CLI's own process, so the command is started from `python -c`
    code = ("import sys; sys.modules['uvicorn'] = None; from npuport.cli import app; "
            f"app(['serve', {structbert_artifacts!r}], prog_name='npuport')")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=cli_env())
    assert result.returncode == 6
    assert result.stderr.strip() == "error: serving needs uvicorn, not installed here: pip install 'npuport[serve]'"


def test_bad_options_are_one_line_errors(structbert_artifacts, tmp_path):
    cases = [
        (["--max-batch-size", "0"], 7, "error: max_batch_size must be at least 1, got 0"),
        (["--max-wait-ms", "-1"], 7, "error: max_wait_ms must be between 0 and 10000, got -1.0"),
        (["--max-texts", "100", "--max-queue", "10"], 7, "error: max_texts (100) exceeds max_queue (10): "
                                                          "a request that large could never be queued"),
    ]
    for options, status, message in cases:
        result = npuport("serve", structbert_artifacts, *options, timeout=120)
        assert (result.returncode, result.stderr.strip()) == (status, message)
    missing = npuport("serve", str(tmp_path / "nothing"), timeout=120)
    assert missing.returncode != 0 and missing.stderr.startswith("error: ") and len(missing.stderr.splitlines()) == 1
