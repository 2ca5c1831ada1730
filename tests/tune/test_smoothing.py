"""SmoothQuant before int8, on a two-layer graph whose input has one outlier channel (as BERT-like encoders do):
smoothing computes the same function in fp32, keeps every MatMul's name, flattens the activation ranges, and its
dynamic int8 file stays closer to fp32 than the unsmoothed one; `choose_alpha` therefore picks a smoothed α."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from npuport.convert.quantize import quantize_dynamic_int8
from npuport.tune.smoothing import activation_ranges, choose_alpha, smooth, smoothable

WIDTH, HIDDEN, OUTLIER = 32, 48, 30.0


@pytest.fixture(scope="module")
def outlier_graph(tmp_path_factory):
    """x [batch, seq, WIDTH] → (x @ A, x @ B) → relu(sum) @ C: two MatMuls share one input, a third reads another."""
    rng = np.random.default_rng(0)
    weights = {name: rng.normal(0, 0.2, shape).astype(np.float32)
               for name, shape in (("A", (WIDTH, HIDDEN)), ("B", (WIDTH, HIDDEN)), ("C", (HIDDEN, 4)))}
    nodes = [helper.make_node("MatMul", ["x", "A"], ["a"], name="left"),
             helper.make_node("MatMul", ["x", "B"], ["b"], name="right"),
             helper.make_node("Add", ["a", "b"], ["s"], name="add"),
             helper.make_node("Relu", ["s"], ["h"], name="relu"),
             helper.make_node("MatMul", ["h", "C"], ["logits"], name="head")]
    graph = helper.make_graph(nodes, "outliers", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", "t", WIDTH])],
                              [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["n", "t", 4])],
                              [numpy_helper.from_array(w, name) for name, w in weights.items()])
    path = tmp_path_factory.mktemp("smoothing") / "base.onnx"
    onnx.save_model(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    return path


def _batches(seed: int) -> list[dict[str, np.ndarray]]:
    rng = np.random.default_rng(seed)
    batches = []
    for _ in range(4):
        x = rng.normal(0, 1, (2, 8, WIDTH)).astype(np.float32)
        x[..., 3] *= OUTLIER  # one channel far larger than the rest
        batches.append({"x": x})
    return batches


def _run(path, batches) -> np.ndarray:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return np.concatenate([session.run(None, feed)[0].reshape(-1, 4) for feed in batches])


def test_smoothing_keeps_the_function_and_the_names_and_flattens_the_ranges(outlier_graph, tmp_path):
    calibration = _batches(1)
    ranges = activation_ranges(outlier_graph, calibration)
    assert set(ranges) == {"x", "h"} and ranges["x"].argmax() == 3
    smoothed = smooth(outlier_graph, tmp_path / "smoothed.onnx", ranges, 0.5)
    held_out = _batches(2)
    np.testing.assert_allclose(_run(smoothed, held_out), _run(outlier_graph, held_out), rtol=1e-4, atol=1e-4)
    model = onnx.load(str(smoothed))
    assert {"left", "right", "head"} <= {node.name for node in model.graph.node}
    assert [node.op_type for node in model.graph.node].count("Mul") == 2  # one per activation tensor, shared by A and B
    assert set(smoothable(model)) == {"x_smoothed", "h_smoothed"}
    flat = activation_ranges(smoothed, calibration)["x_smoothed"]
    assert flat.max() / np.median(flat) < ranges["x"].max() / np.median(ranges["x"]) / 3


def test_smoothed_int8_stays_closer_to_fp32_and_choose_alpha_picks_it(outlier_graph, tmp_path):
    calibration, held_out = _batches(1), _batches(2)
    ranges = activation_ranges(outlier_graph, calibration)

    def error(path) -> float:
        quantized = tmp_path / f"{path.stem}-int8.onnx"
        quantize_dynamic_int8(path, quantized, [])
        return float(np.abs(_run(quantized, held_out) - _run(outlier_graph, held_out)).mean())

    assert error(smooth(outlier_graph, tmp_path / "s.onnx", ranges, 0.5)) < error(outlier_graph) / 2
    base, chosen = choose_alpha(outlier_graph, ranges, lambda src, out: quantize_dynamic_int8(src, out, []),
                                lambda path: _run(path, calibration), tmp_path, alphas=(0.5, 0.8))
    assert chosen.alpha in (0.5, 0.8) and base != outlier_graph and set(chosen.scores) == {"none", "α=0.5", "α=0.8"}
    assert min(chosen.scores.values()) == chosen.scores[f"α={chosen.alpha}"] < chosen.scores["none"]
    assert chosen.label.startswith(f"SmoothQuant α={chosen.alpha}")
