"""Score benchmark: rows/s of `npuport score` with the local engine versus Ray with 2 workers, and the peak memory of
a local run on a 1M-row input (bounded memory: the peak must not grow with the input).

    python benchmarks/score.py [--artifacts DIR] [--rows 20000] [--big-rows 1000000] [--skip-big]

Each run is `npuport score … --json` in its own process, as a user runs it; the input is generated .txt (bundled zh
corpus texts, cycled). rows/s is what the command reports: scoring plus, for Ray, starting Ray and its actors.
Peak RSS is the command's own process (its VmHWM, sampled every 50 ms); a Ray run's actors and Ray's daemons are other
processes, so its figure is the driver's alone. Without --artifacts the tiny test-fixture StructBERT (zh) is built
and converted to onnx-fp32-dynamic once, under artifacts/bench-score-tiny.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from npuport.core.corpus import load_corpus

TINY = Path("artifacts/bench-score-tiny")


def tiny_artifacts() -> Path:
    """The fixture-size StructBERT, converted to onnx-fp32-dynamic only (cached)."""
    if (TINY / "art" / "manifest.json").is_file():
        return TINY / "art"
    from npuport import zoo
    from npuport.convert.pipeline import convert_model
    from npuport.convert.plan import ConvertOptions

    model = zoo.build_model_dir(zoo.tiny_spec("structbert", "zh"), TINY / "model")
    options = ConvertOptions(formats=("onnx",), precisions=("fp32",), shapes=("dynamic",))
    return convert_model(model, TINY / "art", options, isolate=False).root


def write_corpus(path: Path, rows: int) -> Path:
    texts = [example.text for example in load_corpus("zh")]
    with open(path, "w", encoding="utf-8") as handle:
        for index in range(rows):
            handle.write(texts[index % len(texts)] + "\n")
    return path


def run(artifacts: Path, source: Path, output: Path, *extra: str) -> dict:
    """`npuport score` in a subprocess: its --json summary plus wall seconds and peak RSS (MiB)."""
    command = [sys.executable, "-m", "npuport.cli", "score", str(artifacts), str(source), "-o", str(output), "--json", *extra]
    with tempfile.TemporaryFile() as stdout, tempfile.TemporaryFile() as stderr:
        began = time.perf_counter()
        process = subprocess.Popen(command, stdout=stdout, stderr=stderr)
        peak_kib = 0
        while process.poll() is None:
            peak_kib = max(peak_kib, high_water_kib(process.pid))
            time.sleep(0.05)
        wall = time.perf_counter() - began
        stdout.seek(0)
        stderr.seek(0)
        if process.returncode != 0:
            raise SystemExit(f"{' '.join(command)} failed:\n{stderr.read().decode()}")
        return json.loads(stdout.read()) | {"wall_s": wall, "peak_rss_mib": peak_kib / 1024}


def high_water_kib(pid: int) -> int:
    """The process's peak RSS so far (VmHWM). Not wait4's ru_maxrss: on Linux that counts the parent's memory the
    child held between fork and exec."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except (OSError, ValueError):  # exited meanwhile
        pass
    return 0


def load_average() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--artifacts", type=Path, help="Artifacts or a package (default: the tiny fixture model).")
    parser.add_argument("--rows", type=int, default=20_000, help="Rows of the local-versus-Ray input.")
    parser.add_argument("--big-rows", type=int, default=1_000_000, help="Rows of the memory-ceiling input.")
    parser.add_argument("--skip-big", action="store_true", help="Skip the memory-ceiling runs.")
    args = parser.parse_args()
    artifacts = args.artifacts or tiny_artifacts()
    console = Console(width=130)
    with tempfile.TemporaryDirectory(prefix="bench-score-") as tmp:
        scratch = Path(tmp)
        source = write_corpus(scratch / "rows.txt", args.rows)
        runs = [("local (1 process, 2 ORT threads)", run(artifacts, source, scratch / "local.jsonl", "--threads", "2"), load_average()),
                ("ray, 2 workers (1 ORT thread each)",
                 run(artifacts, source, scratch / "ray.jsonl", "--engine", "ray", "--workers", "2"), load_average())]
        same = (scratch / "local.jsonl").read_bytes() == (scratch / "ray.jsonl").read_bytes()
        table = Table(title=f"npuport score: {args.rows:,} rows, {artifacts} ({os.cpu_count()} cores)")
        for column in ("engine", "rows/s", "× local", "wall s", "driver peak RSS MiB", "load avg after"):
            table.add_column(column, justify="left" if column == "engine" else "right")
        base = runs[0][1]["rows_per_s"]
        for name, result, after in runs:
            table.add_row(name, f"{result['rows_per_s']:,.0f}", f"{result['rows_per_s'] / base:.2f}", f"{result['wall_s']:.1f}",
                          f"{result['peak_rss_mib']:.0f}", after)
        console.print(table)
        console.print(f"ray output byte-identical to local: {same}")
        if args.skip_big:
            return
        memory = Table(title="npuport score, local engine: peak RSS against input size (bounded: it must not grow)")
        for column in ("rows", "input MiB", "rows/s", "wall s", "peak RSS MiB"):
            memory.add_column(column, justify="right")
        for rows in (args.big_rows // 10, args.big_rows):
            big = write_corpus(scratch / f"rows-{rows}.txt", rows)
            result = run(artifacts, big, scratch / f"out-{rows}.jsonl")
            memory.add_row(f"{rows:,}", f"{big.stat().st_size / 2**20:.1f}", f"{result['rows_per_s']:,.0f}",
                           f"{result['wall_s']:.1f}", f"{result['peak_rss_mib']:.0f}")
            (scratch / f"out-{rows}.jsonl").unlink()
        console.print(memory)
        console.print(f"load average after: {load_average()} (1/5/15 min)")


if __name__ == "__main__":
    main()
