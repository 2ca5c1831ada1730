"""What tune prints: each candidate's step and the verdict."""

from __future__ import annotations

from typing import TYPE_CHECKING

from npuport.cli.render.base import emit_json, line, new_table, out, size_mb

if TYPE_CHECKING:
    from npuport.tune.search import TuneResult


def tuned(result: TuneResult, as_json: bool) -> None:
    """Tune's steps: what each candidate kept in fp32 and what that bought, the last one the verdict."""
    if as_json:
        return emit_json({"artifacts": str(result.artifacts), "precision": result.precision, "variant": result.variant,
                          "passed": result.passed, "kept_fp32": result.kept, "calibration": result.calibration,
                          "smoothing": result.smoothing, "keep_list": str(result.keep_list) if result.keep_list else None,
                          "steps": [s.model_dump() for s in result.steps]})
    table = new_table(f"tune {result.precision} — {result.artifacts}, from {result.base}",
                   ["step", "method", "kept in fp32", "added", "size", "× fp32 speed", "cos min", "max |Δp|", "top-1*", "flips", "verdict"],
                   right=["step", "kept in fp32", "size", "× fp32 speed", "cos min", "max |Δp|", "top-1*", "flips"],
                   no_wrap=["step", "size", "verdict"])
    for number, s in enumerate(result.steps):
        table.add_row(str(number), s.method, str(s.kept), s.added, size_mb(s.bytes), f"{s.speed_vs_fp32:.2f}", f"{s.cosine_min:.5f}",
                      f"{s.max_abs_error:.4f}", f"{s.top1_agreement:.1%}", "" if s.real_flips is None else str(s.real_flips),
                      "PASS" if s.passed else "fail")
    out.print(table)
    if result.calibration:
        line(f"calibration: {result.calibration}")
    if result.smoothing:
        line(f"smoothing: {result.smoothing}", soft_wrap=True)
    if result.passed:
        line(f"written: variant {result.variant} ({len(result.kept)} nodes kept in fp32); validate it with "
             f"`npuport validate {result.artifacts} --variants {result.variant}`", soft_wrap=True)
    if result.keep_list:
        line(f"ATC keep-list (--keep_dtype): {result.keep_list}", soft_wrap=True)
    for note in result.notes:
        line(f"note: {note}", soft_wrap=True)
