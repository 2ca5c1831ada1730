"""`npuport tune` on a tiny model's real artifacts: a failing int8 becomes a passing calibrated QDQ variant with the
nodes it kept in fp32 recorded, and fp16 writes an ATC keep-list naming exactly the nodes it kept."""

from __future__ import annotations

import json
import subprocess

import onnx
import pytest
from cli_runner import npuport  # type: ignore[import-not-found]

from npuport.core.errors import ParityError
from npuport.core.manifest import Manifest
from npuport.package.bundle import build_package
from npuport.tune.search import tune
from npuport.validate.gate import validate_artifacts
from npuport.validate.profiles import resolve_profiles

STRICT_INT8 = "int8.min_cosine=0.993"  # the tiny BERT's all-int8 QDQ reaches 0.989: step 0 fails


def _producers(model: onnx.ModelProto) -> dict[str, onnx.NodeProto]:
    return {output: node for node in model.graph.node for output in node.output}


def test_a_failing_int8_becomes_a_passing_qdq_variant_with_its_kept_nodes_recorded(bert_copy):
    done = npuport("tune", bert_copy, "--precision", "int8", "--method", "static", "--smoothing", "off", "--profile", STRICT_INT8,
                   "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    steps = result["steps"]
    assert not steps[0]["passed"] and steps[-1]["passed"] and steps[0]["kept"] == 0 < steps[-1]["kept"]
    assert result["variant"] == "onnx-int8-tuned" and result["kept_fp32"]
    manifest = Manifest.load(bert_copy)
    variant = manifest.variant("onnx-int8-tuned")
    assert variant.tuning is not None and variant.tuning.kept_fp32 == result["kept_fp32"]
    assert variant.tuning.method == "static-qdq" and variant.tuning.calibration == "minmax" and variant.tuning.smoothing == "off"
    assert variant.quantization is not None and variant.quantization.method == "static-qdq"
    model = onnx.load(str(bert_copy / variant.files[0].path))
    producers = _producers(model)
    matmuls = [node for node in model.graph.node if node.op_type == "MatMul"]
    quantized = [n for n in matmuls if all(producers.get(i) is not None and producers[i].op_type == "DequantizeLinear"
                                           for i in n.input)]
    kept = {n.name for n in matmuls if n not in quantized}
    assert quantized and any(node.op_type == "QuantizeLinear" for node in model.graph.node)
    assert set(result["kept_fp32"]) & {n.name for n in matmuls} <= kept  # every kept MatMul really is unquantized
    run = validate_artifacts(bert_copy, variants=["onnx-int8-tuned"], profiles=resolve_profiles(None, [STRICT_INT8]))
    assert run.passed  # the gate tune stopped at is the one validate applies


def test_fp16_writes_the_nodes_it_kept_as_an_atc_keep_list(bert_copy, atc_env, tmp_path):
    result = tune(bert_copy, "fp16", profiles=resolve_profiles(None, ["fp16.max_abs_error=0.0006"]))
    assert result.passed and result.kept and result.keep_list is not None
    model = onnx.load(str(bert_copy / "onnx" / "fp16-tuned.onnx"))
    listed = result.keep_list.read_text(encoding="utf-8").splitlines()  # the kept nodes that compute in floating point
    ops = {n.name: n.op_type for n in model.graph.node}
    assert listed == [name for name in result.kept if name in listed]
    assert {ops[name] for name in result.kept if name not in listed} <= {"Gather"}  # shape-dim Gathers: no float dtype
    weights = {init.name: init.data_type for init in model.graph.initializer}
    kept_weighted = [n for n in model.graph.node if n.name in result.kept and n.op_type in ("MatMul", "Gemm")
                     and n.input[1] in weights]
    assert kept_weighted and all(weights[n.input[1]] == onnx.TensorProto.FLOAT for n in kept_weighted)  # fp32 compute
    assert {n.name for n in kept_weighted} <= set(listed)
    converted = [n for n in model.graph.node if n.name not in result.kept and n.op_type == "MatMul" and n.input[1] in weights]
    assert converted and all(weights[n.input[1]] == onnx.TensorProto.FLOAT16 for n in converted)
    manifest = Manifest.load(bert_copy)
    assert manifest.variant("onnx-fp16-tuned").tuning.keep_list.path == "tune/onnx-fp16-tuned.keep_dtype.cfg"  # type: ignore[union-attr]
    manifest.verify_files(bert_copy)  # the keep-list is hashed like every other file
    # The mixed ATC route: the fp32 static graph, force_fp16, and this list, which names ops that are fp32 there (the
    # stand-in atc checks each name against the graph it compiles).
    assert validate_artifacts(bert_copy, variants=["onnx-fp32-static"]).passed
    package = build_package(bert_copy, tmp_path / "ascend", variants=["onnx-fp32-static"], archive=False).directory
    mixed = package / "atc" / "onnx-fp32-static.mixed.gears.sh"
    assert "--precision_mode=force_fp16 --keep_dtype=tune/onnx-fp16-tuned.keep_dtype.cfg" in mixed.read_text()
    for script in sorted(p for p in (package / "atc").glob("*.sh") if not p.name.endswith(".compare.sh")):
        done = subprocess.run(["sh", str(script), str(tmp_path / "om")], env=atc_env, capture_output=True, text=True)
        assert done.returncode == 0, (script.name, done.stderr)
    assert json.loads((tmp_path / "om" / "fp32-mixed-static-gears.om").read_text())["keep_dtype"] == listed


def test_a_profile_nothing_can_meet_is_one_clear_failure(bert_copy):
    with pytest.raises(ParityError, match="no fp16 candidate passed its profile"):
        tune(bert_copy, "fp16", profiles=resolve_profiles(None, ["fp16.max_abs_error=0"]), max_steps=2).raise_if_failed()
    assert "onnx-fp16-tuned" not in {v.id for v in Manifest.load(bert_copy).variants}
