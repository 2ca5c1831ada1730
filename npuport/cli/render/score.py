"""What score prints."""

from __future__ import annotations

from typing import TYPE_CHECKING

from npuport.cli.render.base import emit_json, line

if TYPE_CHECKING:
    from npuport.score import ScoreResult


def scored(result: ScoreResult, as_json: bool) -> None:
    if as_json:
        return emit_json({"output": str(result.output), "rows": result.rows, "shards": result.shards,
                          "resumed_shards": result.resumed_shards, "scored_rows": result.scored_rows,
                          "seconds": round(result.seconds, 3), "rows_per_s": round(result.rows_per_s, 1),
                          "engine": result.engine, "workers": result.workers, "variant": result.variant,
                          "device": result.device})
    engine = f"ray, {result.workers} workers" if result.engine == "ray" else "local"
    resumed = f"; {result.resumed_shards} shard(s) kept from an earlier run" if result.resumed_shards else ""
    line(f"scored {result.scored_rows:,} of {result.rows:,} rows ({result.shards} shards{resumed}) with {result.variant} "
         f"on {result.device} ({engine}) in {result.seconds:.1f} s: {result.rows_per_s:,.0f} rows/s", soft_wrap=True)
    line(f"written: {result.output}")
