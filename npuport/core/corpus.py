"""The bundled corpus (npuport/data): zh texts with the 7 StructBERT emotions, en texts with the 28 GoEmotions."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from itertools import zip_longest

ZH_LABELS = ["恐惧", "愤怒", "厌恶", "喜好", "悲伤", "高兴", "惊讶"]
GO_EMOTIONS = [
    "admiration", "amusement", "anger", "annoyance", "approval", "caring", "confusion", "curiosity", "desire",
    "disappointment", "disapproval", "disgust", "embarrassment", "excitement", "fear", "gratitude", "grief", "joy",
    "love", "nervousness", "optimism", "pride", "realization", "relief", "remorse", "sadness", "surprise", "neutral",
]
KINDS = ("normal", "one_char", "long", "emoji", "mixed", "punct")


@dataclass(frozen=True)
class Example:
    id: str
    text: str
    labels: tuple[str, ...]
    kind: str

    @property
    def lang(self) -> str:
        return self.id.split("-")[0]


LABELS = {"zh": ZH_LABELS, "en": GO_EMOTIONS}


def language_of(labels: list[str]) -> str | None:
    """The bundled corpus language whose label set is `labels` (the zoo's zh StructBERT, en GoEmotions), else None."""
    return next((lang for lang, names in LABELS.items() if set(names) == set(labels)), None)


@cache
def load_corpus(lang: str) -> tuple[Example, ...]:
    """All bundled examples of one language ('zh' or 'en'), in file order."""
    if lang not in ("zh", "en"):
        raise ValueError(f"no bundled corpus for language {lang!r}")
    text = resources.files("npuport.data").joinpath(f"corpus_{lang}.jsonl").read_text(encoding="utf-8")
    rows = [json.loads(line) for line in text.splitlines() if line.strip()]
    return tuple(Example(r["id"], r["text"], tuple(r["labels"]), r["kind"]) for r in rows)


def golden_selection(per_language: int = 48) -> list[Example]:
    """A deterministic, stratified pick for golden inputs: every edge-case kind first, then normal texts."""
    picked: list[Example] = []
    for lang in ("zh", "en"):
        examples = load_corpus(lang)
        by_kind = [[e for e in examples if e.kind == kind] for kind in KINDS[1:]]
        round_robin = [e for group in zip_longest(*by_kind) for e in group if e is not None]
        edge = round_robin[: per_language // 2]
        normal = [e for e in examples if e.kind == "normal"][: per_language - len(edge)]
        picked += edge + normal
    return picked
