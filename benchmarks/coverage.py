"""Coverage table: which model types convert, and which of their variants pass `validate` on this CPU.

    python benchmarks/coverage.py [--types bert,albert,...] [--generic megatron-bert] [--out /tmp/coverage]

Per model type: a tiny random model (hidden 32, 2 layers, the zoo's tiny spec with its ridge-fitted head) is built
offline, converted to ONNX fp32/fp16/int8 (dynamic; fp32 also static 1x32) and TorchScript fp32 dynamic, and each variant
is validated on the CPU under its precision's default profile. A cell is PASS, FAIL (the failing checks), or the
conversion error. Tiny random models give near-identical outputs for every text (../shared/DESIGN.md "The offline
zoo"), so fp32 parity is meaningful here; the fp16/int8 columns say the graph converts and stays within its profile
on these models, not that a real checkpoint of the type would.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from npuport import zoo
from npuport.convert.pipeline import convert_model
from npuport.convert.plan import ConvertOptions
from npuport.core.buckets import parse_buckets
from npuport.core.errors import NpuportError
from npuport.model.architectures import REGISTRY, architecture
from npuport.validate.gate import validate_artifacts

COLUMNS = ("onnx-fp32-dynamic", "onnx-fp32-static", "onnx-fp16-dynamic", "onnx-int8-dynamic", "torchscript-fp32-dynamic")
OPTIONS = ConvertOptions(formats=("onnx", "torchscript"), precisions=("fp32", "fp16", "int8"),
                         buckets=tuple(parse_buckets("1x32")))
LANG = {"structbert": "zh"}


def measure(model_type: str, root: Path) -> tuple[dict[str, str], str, float]:
    """(variant id → cell, coverage line, seconds) for one model type."""
    started = time.perf_counter()
    try:
        model_dir = zoo.build_model_dir(zoo.tiny_spec(model_type, LANG.get(model_type, "en")), root / "models" / model_type)
        result = convert_model(model_dir, root / "artifacts" / model_type, OPTIONS, isolate=False)
        report = validate_artifacts(result.root)
    except (NpuportError, RuntimeError, ValueError, TypeError) as exc:  # export failures are the finding here
        message = " ".join(str(exc).split())[:60] or type(exc).__name__
        return dict.fromkeys(COLUMNS, f"error: {message}"), architecture(model_type).coverage, time.perf_counter() - started
    cells = {}
    for validation in report.results:
        cells[validation.variant] = "PASS" if validation.passed else "FAIL " + "; ".join(validation.failures)[:40]
    return cells, result.manifest.source.coverage, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--types", default=",".join(REGISTRY), help="registered model types to measure")
    parser.add_argument("--generic", default="megatron-bert", help="model types without a spec (generic path)")
    parser.add_argument("--out", type=Path, default=None, help="working folder (default: a temporary one)")
    args = parser.parse_args()
    types = [t for t in args.types.split(",") + args.generic.split(",") if t]
    console = Console(width=200)
    with tempfile.TemporaryDirectory(prefix="npuport-coverage-") as tmp:
        root = args.out or Path(tmp)
        table = Table(title="coverage: tiny models of each model type, validated on this CPU (default profiles)")
        for column in ("model type", "coverage", *COLUMNS, "s"):
            table.add_column(column, overflow="fold")
        for model_type in types:
            cells, coverage, seconds = measure(model_type, root)
            table.add_row(model_type, coverage, *(cells.get(c, "-") for c in COLUMNS), f"{seconds:.0f}")
            console.print(f"{model_type}: {seconds:.1f} s", highlight=False)
        console.print(table)


if __name__ == "__main__":
    main()
