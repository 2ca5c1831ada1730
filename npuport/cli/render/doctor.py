"""What doctor prints: the error at each probe point, the first past the budget, the suspects."""

from __future__ import annotations

from typing import TYPE_CHECKING

from npuport.cli.render.base import emit_json, line, new_table, out

if TYPE_CHECKING:
    from npuport.doctor.diagnosis import Diagnosis


def diagnosis(result: Diagnosis, as_json: bool) -> None:
    """Doctor's table: one row per probe point in forward order, the first past the budget marked, then suspects."""
    if as_json:
        return emit_json(result.as_dict())
    budget = f"cosine ≥ {result.budget:g}" if result.budget is not None else "none"
    table = new_table(f"{result.variant} on {result.device} against the fp32 eager reference — {result.inputs}",
                   ["point", "cos min", "cos mean", "max |Δ|", "max rel", "growth", ""],
                   right=["cos min", "cos mean", "max |Δ|", "max rel", "growth"], no_wrap=True,
                   caption=f"budget (the {result.variant.split('-')[1]} profile's min cosine, at every point): {budget}; "
                           "hidden states per real token, the output per text on probabilities (as validate judges); "
                           "rel = max |Δ| / max |reference|; growth = rel / the previous point's rel",
                   caption_justify="left")
    first = result.first_past_budget
    for layer in result.layers:
        mark = "← first past budget" if layer is first else ("past budget" if layer.past_budget else "")
        table.add_row(layer.probe.label, f"{layer.cosine_min:.6f}", f"{layer.cosine_mean:.6f}",
                      f"{layer.max_abs_error:.2e}", f"{layer.max_rel_error:.2e}",
                      "" if layer.growth is None else f"{layer.growth:.2f}×", mark, style="bold red" if layer is first else None)
    out.print(table)
    grown = result.largest_growth
    if first is None:
        line(f"every point is within the budget on {result.device} ({result.engine})")
    else:
        line(f"the error first exceeds the budget at {first.probe.label}" +
             (f"; it grows most at {grown.probe.label} ({grown.growth:.2f}×)" if grown and first.probe.label.startswith("output")
              else ""), soft_wrap=True)
    if result.suspects:
        line("nodes computing that block: " + ", ".join(f"{node} ({op})" for op, node in result.suspects[:12])
             + (f" … {len(result.suspects) - 12} more" if len(result.suspects) > 12 else ""), soft_wrap=True)
    for note in result.notes:
        line(f"note: {note}", soft_wrap=True)
    line(f"written: {result.json_path}" + (f", {result.plot_path}" if result.plot_path else ""), soft_wrap=True)
