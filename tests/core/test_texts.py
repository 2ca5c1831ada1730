"""Texts to classify: checked in memory (check_texts, gather_texts), or read from .txt and .jsonl files (read_texts),
every problem naming where it is."""

from __future__ import annotations

from pathlib import Path

import pytest

from npuport.core.errors import InputError
from npuport.core.texts import check_texts, gather_texts, read_texts


def test_read_texts_from_txt_and_jsonl(tmp_path):
    txt = tmp_path / "texts.txt"
    txt.write_text("\ufeff第一行\nsecond line\n", encoding="utf-8")
    assert read_texts(txt) == ["第一行", "second line"]
    jsonl = tmp_path / "texts.jsonl"
    jsonl.write_text('{"text": "a", "id": 1}\n\n{"text": "b"}\n', encoding="utf-8")
    assert read_texts(jsonl) == ["a", "b"]


@pytest.mark.parametrize(("name", "content", "message"), [
    ("t.txt", "one\n\nthree\n".encode(), r"t.txt:2: empty line"),
    ("t.txt", "ok\n".encode("utf-16"), r"t.txt is not UTF-8 text"),
    ("t.txt", b"", r"t.txt holds no texts"),
    ("t.jsonl", b'{"text": "a"}\n{"txt": "b"}\n', r't.jsonl:2: expected an object with a "text" string'),
    ("t.jsonl", b'{"text": "a"}\nnot json\n', r"t.jsonl:2: not valid JSON"),
    ("t.jsonl", b'{"text": " "}\n', r't.jsonl:1: "text" is empty'),
    ("t.csv", b"a\n", r"unsupported file type '.csv'"),
])
def test_bad_text_files_name_file_and_line(tmp_path, name, content, message):
    (tmp_path / name).write_bytes(content)
    with pytest.raises(InputError, match=message):
        read_texts(tmp_path / name)


def test_missing_text_file(tmp_path):
    with pytest.raises(InputError, match=r"missing.txt: no such file"):
        read_texts(Path(tmp_path / "missing.txt"))


def test_check_texts_returns_a_list_of_the_texts():
    assert check_texts(("a", "b")) == ["a", "b"]
    assert check_texts(text for text in ["一", "two"]) == ["一", "two"]


def test_gather_texts_takes_exactly_one_source(tmp_path):
    txt = tmp_path / "texts.txt"
    txt.write_text("one\ntwo\n", encoding="utf-8")
    assert gather_texts(None, txt) == ["one", "two"]
    assert gather_texts(["x", "y"], None) == ["x", "y"]
    with pytest.raises(InputError, match="give --text or --file, not both"):
        gather_texts(["x"], txt)
    with pytest.raises(InputError, match="nothing to classify"):
        gather_texts(None, None)
    with pytest.raises(InputError, match="text 0 is empty"):
        gather_texts([" "], None)
