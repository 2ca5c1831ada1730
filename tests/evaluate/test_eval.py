"""`npuport eval` on a tiny model's real artifacts: eval.json records, the reference, merging (the command line:
tests/cli/test_eval_cli.py)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from npuport.core.corpus import load_corpus
from npuport.core.manifest import Manifest
from npuport.core.reports.evaluation import read_eval
from npuport.core.reports.paths import EVAL_FILE
from npuport.evaluate.accuracy import EAGER_ID, evaluate
from npuport.runtime import load

VARIANTS = ["onnx-fp32-dynamic", "torchscript-bf16-dynamic", "onnx-int8-dynamic"]
# The tiny 28-label model's probabilities sit around 0.03-0.08 with the right top-1 for ~30% of texts: at this
# threshold it decides something for most texts, so the counts below are not all zero.
THRESHOLD = 0.05


def test_eval_scores_variants_beside_the_eager_reference(bert_copy):
    report = evaluate(bert_copy, variants=VARIANTS, threshold=THRESHOLD)
    manifest = Manifest.load(bert_copy)
    stored = json.loads((bert_copy / EVAL_FILE).read_text(encoding="utf-8"))
    assert [r["variant"] for r in stored["records"]] == [EAGER_ID, *VARIANTS]
    assert stored["reference"]["kind"] == "eager" and stored["data"]["texts"] == len(load_corpus("en"))
    reference, *variants = report.records
    assert reference.reference and reference.sha256 == manifest.source.weights_sha256 and reference.delta is None
    for record in variants:
        assert record.sha256 == manifest.variant(record.variant).digest and record.device == "cpu"
        assert record.delta is not None and record.changed is not None
        assert 0.0 <= record.accuracy <= 1.0 and len(record.per_label) == 28

    fp32 = variants[0]
    assert fp32.changed == 0 and fp32.delta == {"accuracy": 0.0, "micro_f1": 0.0, "macro_f1": 0.0}
    assert fp32.micro_f1 > 0.1 and sum(row["predicted"] for row in fp32.per_label) > 100

    # The same numbers counted independently, from the label sets predict returns.
    corpus = load_corpus("en")
    with load(bert_copy, "onnx-fp32-dynamic") as classifier:
        predicted = [set(p.labels) for p in classifier.predict([e.text for e in corpus], threshold=THRESHOLD)]
    gold = [set(e.labels) for e in corpus]
    assert fp32.accuracy == pytest.approx(np.mean([p == g for p, g in zip(predicted, gold)]))
    tp = sum(len(p & g) for p, g in zip(predicted, gold))
    fp = sum(len(p - g) for p, g in zip(predicted, gold))
    fn = sum(len(g - p) for p, g in zip(predicted, gold))
    assert fp32.micro_f1 == pytest.approx(2 * tp / (2 * tp + fp + fn))
    joy = next(row for row in fp32.per_label if row["label"] == "joy")
    assert joy["support"] == sum("joy" in g for g in gold) and joy["predicted"] == sum("joy" in p for p in predicted)


def test_a_later_run_keeps_records_of_the_same_context(bert_copy):
    evaluate(bert_copy, variants=["onnx-int8-dynamic"])
    evaluate(bert_copy, variants=["onnx-fp16-dynamic"])
    kept = read_eval(bert_copy)
    assert kept is not None and [r.variant for r in kept.records] == [EAGER_ID, "onnx-fp16-dynamic", "onnx-int8-dynamic"]
    evaluate(bert_copy, variants=["onnx-fp16-dynamic"], threshold=0.3)  # another threshold: a new context
    replaced = read_eval(bert_copy)
    assert replaced is not None and [r.variant for r in replaced.records] == [EAGER_ID, "onnx-fp16-dynamic"]
    assert replaced.threshold == "0.3"


def test_without_the_source_model_the_fp32_variant_is_the_reference(bert_copy, tmp_path):
    manifest = Manifest.load(bert_copy)
    moved = manifest.model_copy(update={"source": manifest.source.model_copy(update={"path": str(tmp_path / "gone")})})
    moved.save(bert_copy)
    report = evaluate(bert_copy, variants=["onnx-fp16-dynamic"])
    assert report.reference["kind"] == "variant" and report.reference["variant"] == "onnx-fp32-dynamic"
    assert "is not available" in report.reference["why"]
    assert [r.variant for r in report.records] == ["onnx-fp32-dynamic", "onnx-fp16-dynamic"]
    assert report.records[0].reference and report.records[0].sha256 == manifest.variant("onnx-fp32-dynamic").digest
