"""Why a traced bf16 program trails eager bf16: the attention it was traced with, per batch shape, same run.

    python benchmarks/bf16.py [--layers 12] [--threads 2] [--rounds 5]

A RoBERTa-base-sized classifier (random weights: speed depends on the shapes only) in bfloat16, four ways: eager with
transformers' eager attention and with SDPA (what `model.to(torch.bfloat16)` users run), and `torch.jit.trace`d with
each (npuport traced eager attention before issue 23; it now traces SDPA). Eager fp32 SDPA is the baseline of every
ratio. First the traced SDPA program is checked against eager SDPA on shapes and padding it was not traced on.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
import warnings

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before torch loads (runtime.backends)

import torch  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402
from transformers import RobertaConfig, RobertaForSequenceClassification  # noqa: E402

from npuport.core.devices import cpu_class  # noqa: E402
from npuport.model.adapter import LogitsOnly  # noqa: E402

NAMES = ["input_ids", "attention_mask"]
SHAPES = ((1, 32), (16, 128), (16, 320))


def model(config: RobertaConfig, attention: str, dtype: torch.dtype) -> LogitsOnly:
    torch.manual_seed(0)
    built = RobertaForSequenceClassification(config).eval()
    built.set_attn_implementation(attention)
    return LogitsOnly(built.to(dtype), NAMES, float32_logits=True).eval()


def batch(size: int, seq: int, padded: bool) -> tuple[torch.Tensor, torch.Tensor]:
    ids, mask = torch.randint(5, 1000, (size, seq)), torch.ones(size, seq, dtype=torch.long)
    if padded and size > 1:
        mask[1:, seq // 2 :] = 0
        ids[mask == 0] = 1
    return ids, mask


def traced(module: LogitsOnly) -> torch.jit.ScriptModule:
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        return torch.jit.trace(module, batch(2, 16, True), check_trace=False, strict=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layers", type=int, default=12)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    config = RobertaConfig(num_hidden_layers=args.layers, num_labels=28)
    engines = {"eager fp32 sdpa (baseline)": model(config, "sdpa", torch.float32),
               "eager bf16, eager attention": model(config, "eager", torch.bfloat16),
               "eager bf16 sdpa": model(config, "sdpa", torch.bfloat16)}
    engines["traced bf16, eager attention (before)"] = traced(engines["eager bf16, eager attention"])
    engines["traced bf16 sdpa (npuport now)"] = traced(engines["eager bf16 sdpa"])
    console = Console(width=160)
    with torch.inference_mode():
        for size, seq, padded in ((1, 40, False), (4, 64, True), (16, 200, True)):
            ids, mask = batch(size, seq, padded)
            gap = (engines["eager bf16 sdpa"](ids, mask) - engines["traced bf16 sdpa (npuport now)"](ids, mask)).abs().max()
            console.print(f"traced sdpa vs eager sdpa, batch {size} x {seq}{' padded' if padded else ''}: "
                          f"max |Δlogit| {gap.item():.3g}")
        table = Table(title=f"bf16 on {cpu_class().name}, {args.layers} layers, {args.threads} threads, median of "
                            f"{args.rounds} interleaved rounds; load {os.getloadavg()[0]:.2f} at start")
        table.add_column("engine")
        for size, seq in SHAPES:
            table.add_column(f"{size}x{seq} ms")
            table.add_column("× fp32")
        cells: dict[str, list[str]] = {name: [] for name in engines}
        for size, seq in SHAPES:
            ids, mask = batch(size, seq, True)
            times: dict[str, list[float]] = {name: [] for name in engines}
            for engine in engines.values():
                engine(ids, mask)
            for _ in range(args.rounds):
                for name, engine in engines.items():
                    started = time.perf_counter()
                    engine(ids, mask)
                    times[name].append(time.perf_counter() - started)
            base = statistics.median(times["eager fp32 sdpa (baseline)"])
            for name, samples in times.items():
                cells[name] += [f"{statistics.median(samples) * 1e3:.1f}", f"{base / statistics.median(samples):.2f}"]
        for name, row in cells.items():
            table.add_row(name, *row)
    table.caption = f"load {os.getloadavg()[0]:.2f} at end"
    console.print(table)


if __name__ == "__main__":
    main()
