"""What the zoo commands print."""

from __future__ import annotations

from typing import Any

from npuport.cli.render.base import emit_json, line, new_table, out


# zoo
def zoo_built(rows: list[dict[str, Any]], as_json: bool) -> None:
    if as_json:
        return emit_json(rows)
    table = new_table("zoo (decisiveness measured on the bundled corpus at build time)",
                   ("model", "params", "top-1 labels", "far", "pad drift", "F1*", "decisive", ""), no_wrap=True)
    for r in rows:
        table.add_row(r["name"], f"{r['parameters'] / 1e6:.1f}M", str(r["distinct_top1"]), f"{r['far_from_threshold']:.0%}",
                      f"{r['padding_drift']:.0e}", f"{r['train_micro_f1']:.2f}", "yes" if r["decisive"] else "NO",
                      "built" if r["built"] else "cached")
    out.print(table)
    line("far: probabilities with |p - 0.5| > 0.3; pad drift: max |Δlogit| alone vs padded; F1*: in-sample micro F1")
    for r in rows:
        line(f"{r['name']}: {r['weights']}")


def zoo_models(specs: list[Any]) -> None:
    table = new_table("zoo models", ("name", "architecture", "lang", "hidden", "layers", "heads", "vocab", "labels", "weights"))
    for spec in specs:
        table.add_row(spec.name, spec.model_type, spec.lang, str(spec.hidden), str(spec.layers), str(spec.heads),
                      str(spec.vocab_size), str(len(spec.labels)), spec.weights)
    out.print(table)
