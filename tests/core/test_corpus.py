from collections import Counter

from npuport.core.corpus import GO_EMOTIONS, KINDS, ZH_LABELS, golden_selection, load_corpus


def test_zh_corpus_covers_the_seven_emotions_and_edge_cases():
    examples = load_corpus("zh")
    assert len(examples) >= 150
    labels = Counter(label for e in examples for label in e.labels)
    assert set(labels) == set(ZH_LABELS)
    assert min(labels.values()) >= 10
    kinds = Counter(e.kind for e in examples)
    assert all(kinds[k] >= 3 for k in KINDS)
    assert any(len(e.text) == 1 for e in examples)
    assert any(len(e.text) > 150 for e in examples if e.kind == "long")


def test_en_corpus_covers_all_28_goemotions_labels_and_edge_cases():
    examples = load_corpus("en")
    assert len(examples) >= 150
    labels = Counter(label for e in examples for label in e.labels)
    assert set(labels) == set(GO_EMOTIONS)
    kinds = Counter(e.kind for e in examples)
    assert all(kinds[k] >= 3 for k in KINDS)
    assert any(len(e.text.split()) > 128 for e in examples if e.kind == "long")
    assert any(all(not ch.isalnum() for ch in e.text) for e in examples if e.kind == "punct")


def test_ids_and_texts_are_unique():
    for lang in ("zh", "en"):
        examples = load_corpus(lang)
        assert len({e.id for e in examples}) == len(examples)
        assert len({e.text for e in examples}) == len(examples)


def test_golden_selection_is_deterministic_and_mixes_languages_and_kinds():
    first, second = golden_selection(), golden_selection()
    assert [e.id for e in first] == [e.id for e in second]
    assert {e.lang for e in first} == {"zh", "en"}
    assert {e.kind for e in first} == set(KINDS)
