"""Labelled data: the bundled corpus picked by the model's labels, and user JSONL checked line by line."""

from __future__ import annotations

import pytest

from npuport.core.corpus import GO_EMOTIONS, ZH_LABELS, load_corpus
from npuport.core.errors import InputError
from npuport.evaluate.data import bundled_for, read_jsonl


def test_bundled_corpus_follows_the_labels_in_the_model_order():
    reordered = list(reversed(ZH_LABELS))
    data = bundled_for(reordered)
    corpus = load_corpus("zh")
    assert data.source == "bundled corpus (zh)" and len(data) == len(corpus)
    first = corpus[0]
    assert {reordered[j] for j in data.gold[0].nonzero()[0]} == set(first.labels)
    assert bundled_for(GO_EMOTIONS).gold.shape == (len(load_corpus("en")), 28)


def test_no_bundled_corpus_for_other_labels():
    with pytest.raises(InputError, match="no bundled corpus has this model's labels .*--data"):
        bundled_for(["pos", "neg"])


def test_jsonl_rows(tmp_path):
    path = tmp_path / "data.jsonl"
    path.write_text('{"text": "great", "labels": ["pos"]}\n\n{"text": "meh", "labels": "neg"}\n{"text": "none", "labels": []}\n',
                    encoding="utf-8")
    data = read_jsonl(path, ["neg", "pos"])
    assert data.texts == ["great", "meh", "none"]
    assert data.gold.tolist() == [[False, True], [True, False], [False, False]]
    assert data.sha256 == read_jsonl(path, ["pos", "neg"]).sha256  # same texts and label names: same data


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (['{"text": "a", "labels": ["pos"]}', '{"text": "b", "labels": ["pos", "happy"]}'],
         r"line 2: unknown label 'happy'; the model's labels: neg, pos"),
        (['{"text": "a", "labels": ["pos"]', ], r"line 1: not valid JSON"),
        (['["a"]'], r"line 1: expected an object"),
        (['{"text": "", "labels": []}'], r'line 1: "text" is empty'),
        (['{"text": 3, "labels": []}'], r'line 1: "text" is int, not a string'),
        (['{"labels": []}'], r'line 1: expected an object with a "text" string'),
        (['{"text": "a", "labels": [1]}'], r'line 1: "labels" must be a list of label names'),
        (['{"text": "a", "labels": {"pos": 1}}'], r'line 1: "labels" must be a list of label names'),
        (['{"text": "a", "labels": 3}'], r'line 1: "labels" must be a list of label names'),
        ([""], r"holds no examples"),
    ],
)
def test_jsonl_errors_name_the_line(tmp_path, lines, message):
    path = tmp_path / "bad.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(InputError, match=message):
        read_jsonl(path, ["neg", "pos"])


@pytest.mark.parametrize(("row", "count"), [('["pos", "neg"]', 2), ("[]", 0)])
def test_a_single_label_model_needs_one_label_a_row(tmp_path, row, count):
    """Issue 22: a softmax model predicts exactly one label, so a row with two (or none) could never be matched."""
    path = tmp_path / "data.jsonl"
    path.write_text(f'{{"text": "a", "labels": ["pos"]}}\n{{"text": "b", "labels": {row}}}\n', encoding="utf-8")
    assert len(read_jsonl(path, ["neg", "pos"])) == 2  # a multi-label model takes any set
    with pytest.raises(InputError, match=rf'line 2: "labels" holds {count} labels, but this single-label \(softmax\) '
                                         "model predicts exactly one: give one label per row$"):
        read_jsonl(path, ["neg", "pos"], single_label=True)
    path.write_text('{"text": "a", "labels": "pos"}\n{"text": "b", "labels": ["neg", "neg"]}\n', encoding="utf-8")
    assert read_jsonl(path, ["neg", "pos"], single_label=True).gold.tolist() == [[False, True], [True, False]]


def test_missing_file(tmp_path):
    with pytest.raises(InputError, match="is not a file"):
        read_jsonl(tmp_path / "nope.jsonl", ["a"])
