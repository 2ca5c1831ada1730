"""torch.export (.pt2) beside TorchScript and ONNX Runtime fp32, same run: export time, then speed.

    python benchmarks/torch_export.py artifacts/zoo/structbert-tiny-zh [-o artifacts/bench-torchexport] [--threads 2]
                                      [--repeat 1] [--aoti]

Converts the model's three fp32 dynamic variants (TorchScript, ONNX, torch.export) into one artifacts directory, prints
each step's time (the ONNX export and its fusion are two steps), then `npuport bench`'s end-to-end table for the three
(texts in, predictions out, against the transformers eager baseline, batch 1 and 16). With --aoti, also compiles the
.pt2 with AOTInductor (torch._inductor.aoti_compile_and_package) and times model calls alone (no tokenization) of the
.pt2 and the compiled package on the same token batches.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from npuport.bench import BenchOptions, bench_artifacts
from npuport.bench.benchmark import corpus_texts
from npuport.cli.render import bench_table
from npuport.convert.pipeline import convert_model
from npuport.convert.plan import ConvertOptions
from npuport.core.buckets import length_batches
from npuport.runtime import load

VARIANTS = ("torchscript-fp32-dynamic", "onnx-fp32-dynamic", "torchexport-fp32-dynamic")


def aoti_rows(root: Path, repeat: int) -> list[list[str]]:
    """Compile time of the .pt2 with AOTInductor, then per-call model time of .pt2 and AOTI on the same batches."""
    import torch
    from torch._inductor import aoti_compile_and_package, aoti_load_package

    with load(root, variant="torchexport-fp32-dynamic") as classifier:
        program = torch.export.load(str(root / classifier.variant.files[0].path))
        started = time.perf_counter()
        package = aoti_compile_and_package(program, package_path=str(root.with_name(root.name + "-aoti.pt2")))
        compile_s = time.perf_counter() - started
        compiled = aoti_load_package(package)
        texts = corpus_texts(classifier.labels)[0]
        encoded = classifier.encoder.encode(texts)
        rows = [[".pt2 → AOTI package", f"compile {compile_s:.1f} s", "", ""]]
        for batch in (1, 16):
            feeds = [classifier.encoder.feed(encoded, rows) for rows in length_batches(encoded.lengths, batch)]
            tensors = [[torch.from_numpy(f[n]) for n in classifier.manifest.source.input_names] for f in feeds]
            times: dict[str, list[float]] = {".pt2 (ExportedProgram.module())": [], "AOTI package": []}
            for _ in range(repeat):
                for feed, args in zip(feeds, tensors):
                    for name, call in ((".pt2 (ExportedProgram.module())", lambda: classifier.logits(feed)),
                                       ("AOTI package", lambda: compiled(*args))):
                        with torch.inference_mode():
                            start = time.perf_counter()
                            call()
                            times[name].append(time.perf_counter() - start)
            base = statistics.median(times[".pt2 (ExportedProgram.module())"])
            for name, samples in times.items():
                p50 = statistics.median(samples)
                rows.append([name, f"batch {batch}", f"p50 {p50 * 1e3:.2f} ms", f"{base / p50:.2f}× .pt2"])
        return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", type=Path, help="a model directory (e.g. from `npuport zoo build`)")
    parser.add_argument("-o", "--output", type=Path, default=Path("artifacts/bench-torchexport"))
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--aoti", action="store_true", help="also compile the .pt2 with AOTInductor and time it")
    args = parser.parse_args()
    console = Console(width=200)
    options = ConvertOptions(formats=("torchscript", "onnx", "torchexport"), precisions=("fp32",), shapes=("dynamic",))
    result = convert_model(args.model, args.output, options)
    table = Table(title=f"export + check time, {args.model.name} (one process per step; load average now "
                        f"{', '.join(f'{x:.2f}' for x in os.getloadavg())})")
    for column in ("step", "process (model load included)", "variant: export + check"):
        table.add_column(column)
    for step in result.steps:
        built = [f"{v}: {result.variant_seconds[v]:.1f} s" for v, s in result.variant_step.items() if s == step.step]
        table.add_row(step.step, f"{step.seconds:.1f} s", ", ".join(built))
    console.print(table)
    run = bench_artifacts(args.output, BenchOptions(variants=VARIANTS, threads=args.threads, repeat=args.repeat))
    console.print(bench_table(run.document, run.records))
    if args.aoti:
        aoti = Table(title="AOTInductor: model calls only, same token batches (bundled corpus)")
        for column in ("what", "", "latency", "ratio"):
            aoti.add_column(column)
        for row in aoti_rows(args.output, args.repeat):
            aoti.add_row(*row)
        console.print(aoti)


if __name__ == "__main__":
    main()
