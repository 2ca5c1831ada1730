"""Texts to classify: checked in memory, or read from a .txt (one per line) or .jsonl ({"text": …}) file.

Every problem names where it is (index, or file and line), so a bad row in 10,000 is found at once.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from npuport.core.errors import InputError

SUFFIXES = (".txt", ".jsonl")


def check_texts(texts: Sequence[str]) -> list[str]:
    """The texts as a list; refuses an empty list, a bare string, non-strings and blank texts."""
    if isinstance(texts, str):
        raise InputError("texts must be a list of strings, not one string: wrap it as [text]")
    texts = list(texts)
    if not texts:
        raise InputError("no texts")
    for index, text in enumerate(texts):
        if not isinstance(text, str):
            raise InputError(f"text {index} is {type(text).__name__}, not a string")
        if not text.strip():
            raise InputError(f"text {index} is empty")
    return texts


def read_texts(path: Path) -> list[str]:
    """One text per line of a .txt file, or the "text" field of each object in a .jsonl file."""
    path = Path(path)
    if path.suffix not in SUFFIXES:
        raise InputError(f"{path}: unsupported file type {path.suffix or '(none)'!r}; use .txt or .jsonl")
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    try:
        content = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"{path} is not UTF-8 text (invalid byte at offset {exc.start})") from exc
    texts = _jsonl(path, content) if path.suffix == ".jsonl" else _lines(path, content)
    if not texts:
        raise InputError(f"{path} holds no texts")
    return texts


def gather_texts(texts: Sequence[str] | None, file: Path | None) -> list[str]:
    """The CLI's two sources: repeated --text, or one --file; exactly one of them."""
    if texts and file is not None:
        raise InputError("give --text or --file, not both")
    if file is not None:
        return read_texts(file)
    if not texts:
        raise InputError("nothing to classify: give --text TEXT (repeatable) or --file FILE")
    return check_texts(texts)


def _lines(path: Path, content: str) -> list[str]:
    lines = content.splitlines()
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            raise InputError(f"{path}:{number}: empty line (each line is one text)")
    return lines


def _jsonl(path: Path, content: str) -> list[str]:
    """Blank lines are not records and are skipped; every record needs a non-blank "text" string."""
    texts = []
    for number, line in enumerate(content.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"{path}:{number}: not valid JSON ({exc.msg})") from exc
        text = record.get("text") if isinstance(record, dict) else None
        if not isinstance(text, str):
            raise InputError(f'{path}:{number}: expected an object with a "text" string')
        if not text.strip():
            raise InputError(f'{path}:{number}: "text" is empty')
        texts.append(text)
    return texts
