"""Text files end lines at "\\n" only (issue 15, item 11): U+2028/U+2029 (and the other characters str.splitlines
breaks at) belong to the text, so a .txt line holding one is one text, and a .jsonl line with one raw inside a string
(what json.dumps(ensure_ascii=False) writes) is one record. A trailing "\\r" (Windows line ends) is dropped."""

from __future__ import annotations

import json

import pytest

from npuport.core.errors import InputError
from npuport.core.texts import read_texts, split_lines
from npuport.evaluate.data import read_jsonl

SEPARATORS = ["\u2028", "\u2029", "\x85", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e"]  # all split by str.splitlines
RAW_IN_JSON = ["\u2028", "\u2029", "\x85"]  # those json.dumps leaves raw (it escapes the control characters)


@pytest.mark.parametrize("sep", SEPARATORS, ids=[f"U+{ord(s):04X}" for s in SEPARATORS])
def test_a_txt_line_with_a_unicode_separator_is_one_text(tmp_path, sep):
    path = tmp_path / "t.txt"
    path.write_text(f"first{sep}still first\nsecond\n", encoding="utf-8")
    assert read_texts(path) == [f"first{sep}still first", "second"]


@pytest.mark.parametrize("sep", RAW_IN_JSON, ids=[f"U+{ord(s):04X}" for s in RAW_IN_JSON])
def test_a_jsonl_record_with_a_raw_separator_inside_a_string_is_one_record(tmp_path, sep):
    records = [{"text": f"a{sep}b"}, {"text": "c"}]
    path = tmp_path / "t.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    assert read_texts(path) == [f"a{sep}b", "c"]
    labelled = tmp_path / "l.jsonl"
    labelled.write_text("".join(json.dumps(r | {"labels": ["joy"]}, ensure_ascii=False) + "\n" for r in records),
                        encoding="utf-8")
    assert read_jsonl(labelled, ["joy", "anger"]).texts == [f"a{sep}b", "c"]


def test_windows_line_ends_and_a_missing_final_newline(tmp_path):
    path = tmp_path / "t.txt"
    path.write_bytes(b"one\r\ntwo\r\nthree")
    assert read_texts(path) == ["one", "two", "three"]
    jsonl = tmp_path / "t.jsonl"
    jsonl.write_bytes(b'{"text": "a"}\r\n\r\n{"text": "b"}\r\n')
    assert read_texts(jsonl) == ["a", "b"]
    assert split_lines("") == [] and split_lines("\n") == [""] and split_lines("a\r\r\n") == ["a\r"]


def test_an_empty_line_is_still_refused_where_it_is(tmp_path):
    path = tmp_path / "t.txt"
    path.write_text("one\r\n\r\nthree\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"t.txt:2: empty line"):
        read_texts(path)


@pytest.mark.parametrize("escaped", ["\\ud800", "\\udfff", "hi \\ud83d"])
def test_a_lone_surrogate_in_jsonl_is_one_clear_line(tmp_path, escaped):
    """Item 12: a lone surrogate (valid JSON, no valid text) gave "unexpected TypeError" from the tokenizer."""
    path = tmp_path / "t.jsonl"
    path.write_text(f'{{"text": "ok"}}\n{{"text": "{escaped} x"}}\n', encoding="utf-8")
    with pytest.raises(InputError, match=r't.jsonl:2: "text" is not valid Unicode: a lone surrogate \\ud[89a-f][0-9a-f]{2} '
                                         r"at character \d+$"):
        read_texts(path)
    labelled = tmp_path / "l.jsonl"
    labelled.write_text(f'{{"text": "{escaped}", "labels": ["joy"]}}\n', encoding="utf-8")
    with pytest.raises(InputError, match=r'l.jsonl line 1: "text" is not valid Unicode'):
        read_jsonl(labelled, ["joy"])


def test_the_cli_predicts_one_text_per_line(structbert_artifacts, tmp_path):
    from cli_runner import npuport  # type: ignore[import-not-found]

    path = tmp_path / "t.txt"
    path.write_text("我很高兴\u2028真的\n今天很难过\n", encoding="utf-8")
    cli = npuport("predict", structbert_artifacts, "--file", path, "--json")
    assert cli.returncode == 0, cli.stderr
    assert len([line for line in cli.stdout.splitlines() if line.startswith("{")]) == 2
    surrogate = tmp_path / "s.jsonl"
    surrogate.write_text('{"text": "hi \\ud800"}\n', encoding="utf-8")
    cli = npuport("predict", structbert_artifacts, "--file", surrogate)
    assert cli.returncode == 7 and cli.stderr.strip().endswith('s.jsonl:1: "text" is not valid Unicode: a lone surrogate '
                                                               "\\ud800 at character 3")
