"""What predict prints: labels by score per text, or one JSON object per text."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING

from rich.markup import escape
from rich.table import Table

from npuport.cli.render.base import line, new_table, out

if TYPE_CHECKING:
    from npuport.runtime.classifier import Prediction


def predictions(header: str, max_length: int, results: list[Prediction], as_json: bool) -> None:
    if as_json:
        for prediction in results:
            sys.stdout.write(json.dumps(prediction.to_dict(), ensure_ascii=False) + "\n")
        return
    line(header)
    for prediction in results:
        out.print(_prediction_table(prediction))
    truncated = sum(p.truncated for p in results)
    if truncated:
        line(f"{truncated} of {len(results)} texts were longer than {max_length} tokens and truncated")


def _prediction_table(prediction: Prediction) -> Table:
    """Labels by score, the predicted ones marked (the shape of the seed ports' smoke output)."""
    text = prediction.text if len(prediction.text) <= 100 else prediction.text[:99] + "…"
    note = f" (truncated: {prediction.original_tokens} → {prediction.tokens} tokens)" if prediction.truncated else ""
    table = new_table(escape(text), ("label", "score", "predicted"), right=("score",), title_justify="left",
                   caption_justify="left", min_width=60,
                   caption=escape(f"predicted: {', '.join(prediction.labels) or 'none over threshold'}{note}"))
    for label, score in prediction.top:
        chosen = label in prediction.labels
        table.add_row(escape(label), f"{score:.4f}", "✓" if chosen else "", style="bold" if chosen else None)
    return table
