"""Labelled texts for `npuport eval`: the bundled corpus matching the model's labels, or a user's JSONL file."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from npuport.core.corpus import language_of, load_corpus
from npuport.core.errors import InputError
from npuport.core.texts import json_records, record_text


@dataclass(frozen=True)
class LabelledData:
    source: str  # "bundled corpus (zh)" or the file path
    sha256: str  # of the texts and labels, so a record can tell which data it was measured on
    texts: list[str]
    gold: np.ndarray  # bool [texts, labels], in the model's label order

    def __len__(self) -> int:
        return len(self.texts)


def _fingerprint(texts: list[str], label_sets: list[list[str]]) -> str:
    payload = json.dumps([[t, sorted(ls)] for t, ls in zip(texts, label_sets)], ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def _matrix(label_sets: list[list[str]], labels: list[str]) -> np.ndarray:
    index = {label: j for j, label in enumerate(labels)}
    gold = np.zeros((len(label_sets), len(labels)), dtype=bool)
    for i, names in enumerate(label_sets):
        gold[i, [index[n] for n in names]] = True
    return gold


def bundled_for(labels: list[str]) -> LabelledData:
    """The bundled corpus whose label set is the model's (the zoo's zh StructBERT and en GoEmotions models)."""
    lang = language_of(labels)
    if lang is not None:
        examples = load_corpus(lang)
        texts, sets = [e.text for e in examples], [list(e.labels) for e in examples]
        return LabelledData(f"bundled corpus ({lang})", _fingerprint(texts, sets), texts, _matrix(sets, labels))
    raise InputError(
        f"no bundled corpus has this model's labels ({', '.join(labels[:5])}{'…' if len(labels) > 5 else ''}); "
        'pass --data FILE.jsonl with one {"text": …, "labels": […]} object per line'
    )


def read_jsonl(path: Path, labels: list[str], single_label: bool = False) -> LabelledData:
    """One JSON object per line with `text` (a non-empty string) and `labels` (a list of label names, or one name as
    a string); a single-label (softmax) model, which predicts exactly one label, needs exactly one per row.
    Lines end at "\n" only: a raw U+2028 inside a string (what `json.dumps(ensure_ascii=False)` writes) is text."""
    if not path.is_file():
        raise InputError(f"labelled data {path} is not a file")
    known = set(labels)
    texts: list[str] = []
    sets: list[list[str]] = []
    try:
        content = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"labelled data {path} is not UTF-8 (byte {exc.start})") from None
    for where, row in json_records(content, lambda number: f"{path} line {number}"):
        if not isinstance(row, dict):
            raise InputError(f'{where}: expected an object with "text" and "labels"')
        text, names = record_text(row, where), row.get("labels")
        if isinstance(names, str):
            names = [names]
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise InputError(f'{where}: "labels" must be a list of label names')
        unknown = [n for n in names if n not in known]
        if unknown:
            name = unknown[0] if len(unknown[0]) <= 60 else unknown[0][:60] + "…"
            raise InputError(f"{where}: unknown label {name!r}; the model's labels: {', '.join(labels)}")
        names = list(dict.fromkeys(names))
        if single_label and len(names) != 1:
            raise InputError(f'{where}: "labels" holds {len(names)} labels, but this single-label (softmax) model '
                             "predicts exactly one: give one label per row")
        texts.append(text)
        sets.append(names)
    if not texts:
        raise InputError(f"labelled data {path} holds no examples")
    return LabelledData(str(path), _fingerprint(texts, sets), texts, _matrix(sets, labels))
