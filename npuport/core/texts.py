"""Texts to classify: checked in memory, or read from a .txt (one per line) or .jsonl ({"text": …}) file.

Every problem names where it is (index, or file and line), so a bad row in 10,000 is found at once. Lines end at
"\n" only (a trailing "\r" is dropped): U+2028, U+2029 and the other characters `str.splitlines` also breaks at
belong to the text, and `json.dumps(ensure_ascii=False)` writes them raw inside strings.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
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
    return [check_text(f"text {index}", text) for index, text in enumerate(texts)]


def check_text(what: str, text: object) -> str:
    """The one rule for a text: a string, not blank, encodable; refused naming `what` (its index, or file and line)."""
    if not isinstance(text, str):
        raise InputError(f"{what} is {type(text).__name__}, not a string")
    if not text.strip():
        raise InputError(f"{what} is empty")
    check_encodable(what, text)
    return text


def split_lines(content: str) -> list[str]:
    """`content` cut at "\n" only, each line without a trailing "\r"; no empty last line for a final newline."""
    lines = content.split("\n")
    if lines[-1] == "":
        lines.pop()
    return [line[:-1] if line.endswith("\r") else line for line in lines]


def check_encodable(what: str, text: str) -> None:
    """A lone surrogate (half of a UTF-16 pair, which JSON's \\uXXXX escapes can spell) is no character: tokenizers
    raise on it. Refused with where it is."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InputError(f"{what} is not valid Unicode: a lone surrogate \\u{ord(text[exc.start]):04x} at "
                         f"character {exc.start}") from None


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
    lines = split_lines(content)
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            raise InputError(f"{path}:{number}: empty line (each line is one text)")
    return lines


def json_records(content: str, where: Callable[[int], str]) -> Iterator[tuple[str, object]]:
    """(where, parsed value) of each non-blank line of JSON Lines `content`; a line that is not JSON npuport can read
    is one InputError at `where(line number)`. Blank lines are not records and are skipped."""
    for number, line in enumerate(split_lines(content), start=1):
        if line.strip():
            yield where(number), json_record(line, where(number))


def json_record(line: str, where: str) -> object:
    """One JSON Lines line parsed; a line that is not JSON npuport can read is one InputError at `where`."""
    try:
        return json.loads(line)
    except json.JSONDecodeError as exc:
        raise InputError(f"{where}: not valid JSON ({exc.msg})") from None
    except (ValueError, RecursionError):  # a 5,000-digit number; arrays nested thousands deep
        raise InputError(f"{where}: not a JSON record npuport can read (too large or nested too deeply)") from None


def _jsonl(path: Path, content: str) -> list[str]:
    """Every record needs a non-blank "text" string."""
    return [record_text(record, where) for where, record in json_records(content, lambda number: f"{path}:{number}")]


def record_text(record: object, where: str) -> str:
    """The non-blank "text" string of a JSON Lines record, or one InputError at `where`."""
    text = record.get("text") if isinstance(record, dict) else None
    if text is None:
        raise InputError(f'{where}: expected an object with a "text" string')
    return check_text(f'{where}: "text"', text)
