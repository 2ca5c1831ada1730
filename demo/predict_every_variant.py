"""Demo: a few zh and en texts through every variant of each converted zoo model, one compact table, titled with
what the model's answers are worth (only MiniLM has real weights; the stand-ins test parity, not accuracy).

    python demo/predict_every_variant.py artifacts/structbert-tiny-zh artifacts/roberta-go-emotions …
"""

from __future__ import annotations

import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table

from npuport.core.manifest import Manifest
from npuport.runtime import load
from npuport.zoo import ZOO

TEXTS = {
    "zh": ["今天天气真好，心情非常愉快！", "我失去了最好的朋友，太难过了。", "听到这个消息，我感到非常震惊。"],
    "en": ["I am so happy today!", "This is the worst service I have ever had.", "Thank you so much for your help!"],
}


def main(roots: list[str]) -> None:
    console = Console(width=140)
    for root in roots:
        manifest = Manifest.load(Path(root))
        lang = "zh" if "恐惧" in manifest.source.labels else "en"
        spec = ZOO.get(Path(root).name)
        worth = f"\n{spec.weights}" if spec else ""
        table = Table(title=f"{root}: top-2 labels per text, every variant (cpu){worth}")
        table.add_column("variant", no_wrap=True)
        for text in TEXTS[lang]:
            table.add_column(text, max_width=34)
        for variant in manifest.variants:
            with load(root, variant.id, "cpu") as classifier:
                predictions = classifier.predict(TEXTS[lang], top_k=2)
            table.add_row(variant.id, *(", ".join(f"{label} {score:.3f}" for label, score in p.top) for p in predictions))
        console.print(table)


if __name__ == "__main__":
    main(sys.argv[1:])
