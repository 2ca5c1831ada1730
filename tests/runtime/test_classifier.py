"""npuport.runtime.load + Classifier.predict: every variant agrees with the eager model on real corpus texts,
static buckets pad and split correctly, concurrent calls match sequential ones, and every error is typed.

The npu path is exercised only up to its decision (torch_npu absent → which error); it has not been run on
Ascend hardware.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import torch

from npuport.convert.check import TOLERANCE
from npuport.core.corpus import load_corpus
from npuport.core.decisions import parse_threshold, resolve_thresholds
from npuport.core.devices import Device
from npuport.core.errors import BackendUnavailableError, InputError, IntegrityError, ManifestError
from npuport.model.source import load_source
from npuport.runtime import Classifier, load
from npuport.runtime.loader import choose_variant
from npuport.runtime.ort_runner import OrtRunner
from npuport.runtime.torch_runner import TorchScriptRunner

LANG = {"structbert": "zh", "roberta": "en"}  # 3 model inputs (token_type_ids) and 2
VARIANTS = [
    "torchscript-fp32-dynamic", "torchscript-fp32-static", "torchscript-fp16-dynamic", "torchscript-fp16-static",
    "torchscript-bf16-dynamic", "torchscript-bf16-static",
    "onnx-fp32-dynamic", "onnx-fp32-static", "onnx-fp16-dynamic", "onnx-fp16-static", "onnx-int8-dynamic",
]


def corpus_texts(lang: str, normal: int = 12) -> list[str]:
    """Every edge-case kind of the bundled corpus (long, emoji, punct, one_char, mixed) and some normal texts."""
    examples = load_corpus(lang)
    return [e.text for e in examples if e.kind != "normal"] + [e.text for e in examples if e.kind == "normal"][:normal]


@pytest.fixture(scope="module")
def eager(tiny_model):  # type: ignore[no-untyped-def]
    """eager(arch, texts, max_length) → (probabilities, token counts): the source model, one text at a time."""
    cache: dict[tuple[str, tuple[str, ...], int], tuple[np.ndarray, list[int]]] = {}
    sources = {}

    def get(arch: str, texts: list[str], max_length: int) -> tuple[np.ndarray, list[int]]:
        key = (arch, tuple(texts), max_length)
        if key not in cache:
            source = sources.setdefault(arch, load_source(tiny_model(arch)))
            probs, lengths = [], []
            for text in texts:
                encoded = source.tokenizer(text, truncation=True, max_length=max_length, return_tensors="pt")
                with torch.inference_mode():
                    logits = source.model(**{n: encoded[n] for n in source.info.input_names}).logits
                probs.append(torch.sigmoid(logits)[0].numpy())
                lengths.append(int(encoded["input_ids"].shape[1]))
            cache[key] = (np.array(probs), lengths)
        return cache[key]

    return get


def scores(predictions) -> np.ndarray:  # type: ignore[no-untyped-def]
    return np.array([list(p.scores.values()) for p in predictions])


@pytest.mark.parametrize("variant_id", VARIANTS)
@pytest.mark.parametrize("arch", sorted(LANG))
def test_every_variant_agrees_with_the_eager_model(converted, eager, arch, variant_id):
    result = converted(arch)
    assert {v.id for v in result.manifest.variants} == set(VARIANTS)
    texts = corpus_texts(LANG[arch])
    with load(result.root, variant_id) as classifier:
        want, lengths = eager(arch, texts, classifier.max_length)
        threshold = float(np.quantile(want, 0.9))  # the tiny models' probabilities are small: ~10% positives
        predictions = classifier.predict(texts, threshold=threshold)
    got = scores(predictions)
    error = float(np.abs(got - want).max())
    precision = classifier.variant.precision
    assert error <= TOLERANCE[precision], f"{variant_id}: max |Δp| {error:.3g}"
    assert [p.text for p in predictions] == texts
    assert [p.tokens for p in predictions] == lengths
    assert all(p.truncated == (p.original_tokens > p.tokens) for p in predictions)
    if precision != "int8":  # top-1 must agree unless the reference's own top-2 sit within the measured error
        ranked = np.sort(want, axis=1)
        clear = ranked[:, -1] - ranked[:, -2] > 2 * error
        assert (got.argmax(1) == want.argmax(1))[clear].all(), variant_id
        decided = np.abs(want - threshold) > error
        assert ((got >= threshold) == (want >= threshold))[decided].all(), variant_id
    for prediction in predictions:
        expected = sorted((label for label, p in prediction.scores.items() if p >= threshold), key=lambda l: -prediction.scores[l])
        assert prediction.labels == expected
        assert [label for label, _ in prediction.top] == sorted(prediction.scores, key=lambda l: -prediction.scores[l])


@pytest.mark.parametrize("variant_id", ["onnx-fp32-static", "torchscript-fp32-static"])
def test_static_variant_splits_37_texts_over_a_largest_bucket_of_16(converted, eager, monkeypatch, variant_id):
    result = converted("structbert")
    texts = corpus_texts("zh", normal=40)[:37]
    shapes: list[tuple[int, int]] = []
    for runner_class in (OrtRunner, TorchScriptRunner):
        monkeypatch.setattr(runner_class, "_infer_impl", _recording(runner_class._infer_impl, shapes))
    with load(result.root, variant_id) as classifier:
        assert classifier.max_length == 64  # the largest test bucket, 1x32,4x64,16x64
        want, lengths = eager("structbert", texts, 64)
        one_batch = classifier.predict(texts, batch_size=64)
        assert shapes == [(16, 64), (16, 64), (16, 64)]  # 16 + 16 + 5 rows, the last padded with copies
        shapes.clear()
        default = classifier.predict(texts)
        short = classifier.predict(["好"])
    assert shapes[-1] == (1, 32)  # one short text: the smallest bucket
    assert len(one_batch) == 37 and [p.text for p in one_batch] == texts
    assert [p.tokens for p in one_batch] == lengths and len(set(lengths)) > 10  # mixed lengths
    np.testing.assert_allclose(scores(one_batch), want, atol=TOLERANCE["fp32"])
    np.testing.assert_allclose(scores(default), want, atol=TOLERANCE["fp32"])
    assert short[0].tokens == 3


def _recording(infer, shapes: list[tuple[int, int]]):  # type: ignore[no-untyped-def]
    def wrapper(self, feed):  # type: ignore[no-untyped-def]
        shapes.append(tuple(feed["input_ids"].shape))
        return infer(self, feed)

    return wrapper


@pytest.mark.parametrize("variant_id", ["onnx-fp32-dynamic", "torchscript-fp16-static"])
def test_concurrent_predict_matches_sequential(converted, variant_id):
    texts = corpus_texts("en", normal=40)
    subsets = [texts[i::4] for i in range(4)]
    with load(converted("roberta").root, variant_id, threads=2) as classifier:
        sequential = [classifier.predict(subset, batch_size=8) for subset in subsets]
        with ThreadPoolExecutor(max_workers=4) as pool:
            concurrent = list(pool.map(lambda subset: classifier.predict(subset, batch_size=8), subsets * 3))
    for index, predictions in enumerate(concurrent):
        expected = sequential[index % 4]
        assert [p.text for p in predictions] == [p.text for p in expected]
        assert [p.labels for p in predictions] == [p.labels for p in expected]
        np.testing.assert_allclose(scores(predictions), scores(expected), atol=1e-6)


def test_default_variant_follows_the_device_and_says_why(converted):
    manifest = converted("roberta").manifest
    chosen = {kind: choose_variant(manifest, None, Device(kind)) for kind in ("cpu", "cuda", "npu")}
    assert {kind: v.id for kind, (v, _) in chosen.items()} == {
        "cpu": "onnx-fp32-dynamic", "cuda": "onnx-fp16-dynamic", "npu": "onnx-fp16-static"}  # core.targets
    assert chosen["cpu"][1].startswith("default for cpu: ")
    torchscript_only = manifest.model_copy(update={"variants": [v for v in manifest.variants if v.format == "torchscript"]})
    assert choose_variant(torchscript_only, None, Device("cpu"))[0].id == "torchscript-fp32-dynamic"
    no_fp16 = manifest.model_copy(update={"variants": [v for v in manifest.variants if v.precision != "fp16"]})
    variant, because = choose_variant(no_fp16, None, Device("cuda"))
    assert variant.id == "onnx-fp32-dynamic" and "no fp16 dynamic variant" in because
    assert choose_variant(manifest, "onnx-int8-dynamic", Device("cpu"))[1] == "asked for by name"
    with load(converted("roberta").root) as classifier:
        assert classifier.variant_id == "onnx-fp32-dynamic"
        assert classifier.describe().startswith("onnx-fp32-dynamic on cpu via onnxruntime (CPUExecutionProvider); default for cpu")


def test_thresholds_per_label_and_unknown_labels(converted):
    with load(converted("structbert").root) as classifier:
        text = ["今天天气真好，心情非常愉快！"]
        everything = classifier.predict(text, threshold=0.0)[0]
        assert everything.labels == [label for label, _ in everything.top] and len(everything.labels) == 7
        best = everything.top[0][0]
        assert everything.top[0][1] < classifier.manifest.source.threshold  # so the default decides nothing here
        per_label = classifier.predict(text, threshold={best: 1.0, everything.top[1][0]: 0.0})[0]
        assert per_label.labels == [everything.top[1][0]]  # the others keep the default
        assert [label for label, _ in classifier.predict(text, top_k=3)[0].top] == [l for l, _ in everything.top[:3]]
        with pytest.raises(InputError, match=r"threshold for unknown label\(s\) 'joyful'; labels: 恐惧, 愤怒"):
            classifier.predict(text, threshold={"joyful": 0.3})
        with pytest.raises(InputError, match="between 0 and 1"):
            classifier.predict(text, threshold=1.5)
        with pytest.raises(InputError, match="top_k must be at least 1"):
            classifier.predict(text, top_k=0)
    assert parse_threshold("0.3") == 0.3 and parse_threshold("高兴=0.4, 悲伤=0.2") == {"高兴": 0.4, "悲伤": 0.2}
    with pytest.raises(InputError, match="expected LABEL=NUMBER"):
        parse_threshold("=0.4")


def test_single_label_models_take_the_argmax_of_a_softmax(converted, tmp_path):
    root = shutil.copytree(converted("roberta").root, tmp_path / "art")
    manifest = json.loads((root / "manifest.json").read_text())
    manifest["source"]["problem_type"] = "single_label_classification"
    (root / "manifest.json").write_text(json.dumps(manifest))
    with load(root) as classifier:
        predictions = classifier.predict(["I love it", "this is awful"], threshold=0.99)
        redecided = [classifier.redecide(p, resolve_thresholds(0.0, classifier.labels, 0.5), 2) for p in predictions]
    for prediction, again in zip(predictions, redecided):
        assert sum(prediction.scores.values()) == pytest.approx(1.0, abs=1e-5)
        assert prediction.labels == [prediction.top[0][0]] == again.labels and again.top == prediction.top[:2]


def test_redecide_equals_predict_under_those_thresholds(converted):
    texts = corpus_texts("zh", normal=4)
    with load(converted("structbert").root) as classifier:
        once = classifier.predict(texts)
        for threshold, top_k in [(0.0, None), (0.2, 2), ({"高兴": 0.9, "悲伤": 0.1}, 1)]:
            thresholds = resolve_thresholds(threshold, classifier.labels, classifier.manifest.source.threshold)
            assert [classifier.redecide(p, thresholds, top_k) for p in once] == classifier.predict(texts, threshold, top_k)


def test_over_long_texts_are_truncated_and_counted(converted):
    long = "我今天真的非常开心。" * 100
    with load(converted("structbert").root, "onnx-fp16-static") as classifier:
        truncated, short = classifier.predict([long, "好"])
    assert truncated.truncated and truncated.tokens == 64 and truncated.original_tokens == 1002
    assert not short.truncated and short.tokens == short.original_tokens == 3


@pytest.mark.parametrize(("texts", "message"), [
    ([], "no texts"),
    (["fine", "   "], "text 1 is empty"),
    (["fine", ""], "text 1 is empty"),
    ("a bare string", "not one string"),
    (["fine", 3], "text 1 is int, not a string"),
])
def test_bad_inputs_are_input_errors(converted, texts, message):
    with load(converted("roberta").root) as classifier, pytest.raises(InputError, match=message):
        classifier.predict(texts)


def test_closed_classifier_refuses_to_predict(converted):
    classifier = load(converted("roberta").root)
    classifier.close()
    with pytest.raises(RuntimeError, match="is closed"):
        classifier.predict(["hello"])


def test_unknown_variant_lists_the_available_ones(converted):
    with pytest.raises(ManifestError, match="unknown variant 'onnx-fp64-dynamic'; available: torchscript-fp32-dynamic, "):
        load(converted("roberta").root, "onnx-fp64-dynamic")


def test_tampered_files_fail_the_load_of_what_uses_them(converted, tmp_path):
    root = shutil.copytree(converted("roberta").root, tmp_path / "art")
    target = root / "onnx/fp32-static-b4s64.onnx"
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 0xFF
    target.write_bytes(bytes(data))
    with pytest.raises(IntegrityError, match="onnx/fp32-static-b4s64.onnx does not match the manifest"):
        load(root, "onnx-fp32-static")
    with load(root, "onnx-fp32-dynamic") as classifier:  # other variants' files are not this load's business
        assert isinstance(classifier, Classifier)
    (root / "tokenizer/tokenizer.json").write_text("{}")
    with pytest.raises(IntegrityError, match="tokenizer/tokenizer.json does not match"):
        load(root, "onnx-fp32-dynamic")


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_cuda_without_cuda_fails_at_load_time(converted):
    root = converted("roberta").root
    with pytest.raises(BackendUnavailableError, match="--device cuda:0 with ONNX Runtime needs CUDAExecutionProvider"):
        load(root, device="cuda")  # the default there: fp16 dynamic ONNX (core.targets)
    with pytest.raises(BackendUnavailableError, match="--device cuda is unavailable"):
        load(root, "torchscript-fp16-dynamic", device="cuda")


@pytest.mark.skipif(importlib.util.find_spec("torch_npu") is not None, reason="torch_npu is installed")
def test_npu_without_torch_npu_names_it(converted):
    root = converted("roberta").root
    with pytest.raises(BackendUnavailableError, match="--device npu:0 with ONNX Runtime needs CANNExecutionProvider"):
        load(root, device="npu")  # the default there: fp16 static ONNX (core.targets)
    with pytest.raises(BackendUnavailableError, match="needs torch_npu, which is not installed"):
        load(root, "torchscript-fp16-static", device="npu")
