"""Convert benchmark: per-variant export time, file size and peak memory for the zoo models.

    python benchmarks/convert.py [--models structbert-tiny-zh,roberta-go-emotions,minilm-go-emotions]

Each export group (format × precision) runs in its own process; its peak RSS is reported beside the
variants it built. Times include the post-export check of every file.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from rich.console import Console
from rich.table import Table

from npuport import zoo
from npuport.convert.pipeline import convert_model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=",".join(zoo.ZOO))
    parser.add_argument("--zoo-root", type=Path, default=zoo.DEFAULT_ROOT)
    args = parser.parse_args()
    console = Console(width=120)
    summary = Table(title="convert: whole matrix per model")
    for column in ("model", "parameters", "variants", "files", "wall s", "peak RSS MB (largest process)"):
        summary.add_column(column, justify="right" if column != "model" else "left")
    for name in args.models.split(","):
        model_dir, _ = zoo.build(name, args.zoo_root)
        with tempfile.TemporaryDirectory(prefix=f"bench-{name}-") as tmp:
            result = convert_model(model_dir, Path(tmp) / name)
        manifest = result.manifest
        step_peak = {s.step: s.peak_rss_mb for s in result.steps}
        table = Table(title=f"{name}: per variant")
        for column in ("variant", "step", "export+check s", "size MB", "step peak RSS MB"):
            table.add_column(column, justify="right" if column != "variant" else "left")
        for variant in manifest.variants:
            size = manifest.owned_bytes(variant)
            step = result.variant_step[variant.id]
            table.add_row(variant.id, step, f"{result.variant_seconds[variant.id]:.1f}", f"{size / 1e6:.1f}" if size else "shared", f"{step_peak[step]:.0f}")
        console.print(table)
        files = {f.path for v in manifest.variants for f in v.files}
        summary.add_row(name, f"{manifest.source.parameters / 1e6:.1f}M", str(len(manifest.variants)), str(len(files)),
                        f"{result.seconds:.1f}", f"{result.peak_rss_mb:.0f}")
    console.print(summary)


if __name__ == "__main__":
    main()
