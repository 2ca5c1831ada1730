"""`npuport doctor` on a tiny model's real artifacts: a perturbed layer is named first, an exact export stays within
budget at every layer, TorchScript is examined through its precision, and the CLI prints and writes the report."""

from __future__ import annotations

import json

import numpy as np
import onnx
import pytest
from cli_runner import npuport  # type: ignore[import-not-found]
from onnx import numpy_helper

from npuport.core.errors import ModelLoadError
from npuport.core.files import sha256_file
from npuport.core.manifest import Manifest
from npuport.doctor.localise import diagnose
from npuport.doctor.probes import probes
from npuport.model.source import load_source
from npuport.validate.profiles import resolve_profiles

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _perturb(root, variant_id: str, node_name: str, factor: float) -> None:
    """Scale the weight of one node in the variant's file and record the new hashes: an export broken in one layer."""
    manifest = Manifest.load(root)
    variant = manifest.variant(variant_id)
    path = root / variant.files[0].path
    model = onnx.load(str(path))
    node = next(n for n in model.graph.node if n.name == node_name)
    weights = {init.name: init for init in model.graph.initializer}
    name = next(i for i in node.input if i in weights)
    weights[name].CopyFrom(numpy_helper.from_array(numpy_helper.to_array(weights[name]) * factor, name))
    onnx.save(model, str(path))
    files = [f.model_copy(update={"sha256": sha256_file(path),
                                  "bytes": path.stat().st_size}) for f in variant.files]
    variants = [v.model_copy(update={"files": files}) if v.id == variant_id else v for v in manifest.variants]
    manifest.model_copy(update={"variants": variants}).save(root)


def test_probes_follow_the_model_in_forward_order(tiny_model):
    points = probes(load_source(tiny_model("bert")).model)
    assert [p.label for p in points] == ["embeddings", "layer 0 attention", "layer 0 feed-forward", "layer 1 attention",
                                         "layer 1 feed-forward", "pooler", "output (probabilities)"]


def test_a_perturbed_layer_is_named_first(bert_copy):
    _perturb(bert_copy, "onnx-fp32-dynamic", "/model/bert/encoder/layer.1/output/dense/MatMul", 1.05)
    result = diagnose(bert_copy, "onnx-fp32-dynamic")
    first = result.first_past_budget
    assert first is not None and first.probe.label == "layer 1 feed-forward"
    before = [layer for layer in result.layers if layer.probe.label in ("embeddings", "layer 0 feed-forward", "layer 1 attention")]
    assert len(before) == 3 and all(layer.cosine_min >= 0.99999 and not layer.past_budget for layer in before)
    assert ("MatMul", "/model/bert/encoder/layer.1/output/dense/MatMul") in result.suspects
    assert first.max_rel_error > 100 * before[-1].max_rel_error
    _assert_plot_agrees_with_the_budget(result)


def _assert_plot_agrees_with_the_budget(result) -> None:
    """A point above the budget line is exactly a point past the budget; the relative error has no budget line."""
    import matplotlib.pyplot as plt

    from npuport.doctor.plot import draw_depth

    figure = draw_depth(result)
    top, bottom = figure.axes
    gap, budget = top.lines[0].get_ydata(), top.lines[1].get_ydata()[0]
    assert [bool(g > budget) for g in gap] == [layer.past_budget for layer in result.layers]
    assert all(len(set(line.get_ydata())) > 1 or line.get_xdata()[0] == line.get_xdata()[-1] for line in bottom.lines)
    plt.close(figure)


def test_an_exact_export_is_within_budget_everywhere_and_the_cli_writes_the_report(bert_copy):
    done = npuport("doctor", bert_copy, "--variant", "onnx-fp32-static", "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["first_past_budget"] is None and report["budget_min_cosine"] == 0.99999
    assert [layer["point"] for layer in report["layers"]][-1] == "output (probabilities)"
    assert all(layer["cosine_min"] >= 0.99999 and layer["max_abs_error"] < 1e-4 for layer in report["layers"])
    stored = bert_copy / "reports" / "doctor-onnx-fp32-static-cpu.json"
    assert json.loads(stored.read_text(encoding="utf-8"))["layers"] == report["layers"]
    assert stored.with_suffix(".png").read_bytes()[:8] == PNG_SIGNATURE
    strict = diagnose(bert_copy, "onnx-int8-dynamic", profiles=resolve_profiles(None, ["int8.min_cosine=1.0"]))
    assert strict.first_past_budget is strict.layers[0] and strict.layers[0].probe.label == "embeddings"


def test_torchscript_rows_come_from_its_precision_and_the_logits_from_the_artifact(bert_copy):
    result = diagnose(bert_copy, "torchscript-fp16-dynamic")
    assert result.layers[-1].tensor == "torchscript-fp16-dynamic (the artifact)"
    assert any("TorchScript keeps no hooks" in note for note in result.notes)
    errors = [layer.max_rel_error for layer in result.layers[:-1]]
    assert 0 < min(errors) and max(errors) < 0.05 and np.isfinite(errors).all()  # fp16 rounding, not exact, not broken


def test_without_the_source_model_doctor_says_what_is_missing(bert_copy):
    manifest = Manifest.load(bert_copy)
    moved = manifest.source.model_copy(update={"path": str(bert_copy / "gone")})
    manifest.model_copy(update={"source": moved}).save(bert_copy)
    with pytest.raises(ModelLoadError, match="doctor needs the source model"):
        diagnose(bert_copy, "onnx-fp32-dynamic")
