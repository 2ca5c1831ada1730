"""npuport import: an ONNX export made elsewhere (here an Optimum-like folder: model.onnx from torch.onnx.export, the
tokenizer, no manifest) becomes artifacts that validate and package like npuport's own; its precision and shape mode
are read from the graph; a folder without a manifest tells predict's user what to run."""

from __future__ import annotations

from pathlib import Path

import onnx
import pytest
from typer.testing import CliRunner

from npuport.cli import app
from npuport.convert.adopt import adopt_onnx
from npuport.core.errors import ConversionError
from npuport.core.sums import read_sums
from npuport.package.bundle import build_package
from npuport.runtime import load
from npuport.validate.gate import validate_artifacts


@pytest.fixture(scope="module")
def export(tiny_model, tmp_path_factory) -> tuple[Path, Path]:  # type: ignore[no-untyped-def]
    """(folder, source): the tiny bert exported the way Optimum lays it out — model.onnx with dynamic axes named as
    Optimum names them, the tokenizer beside it — and the model directory it came from."""
    import torch

    from npuport.model.adapter import LogitsOnly
    from npuport.model.source import load_source

    source = tiny_model("bert")
    loaded = load_source(source)
    folder = tmp_path_factory.mktemp("optimum-export")
    names = loaded.info.input_names
    feed = loaded.tokenizer(["a short text", "a somewhat longer text to pad"], padding=True, return_tensors="pt")
    axes = {name: {0: "batch_size", 1: "sequence_length"} for name in names} | {"logits": {0: "batch_size"}}
    torch.onnx.export(LogitsOnly(loaded.model, names), tuple(feed[n] for n in names), str(folder / "model.onnx"),
                      input_names=names, output_names=["logits"], dynamic_axes=axes, opset_version=17, dynamo=False)
    loaded.tokenizer.save_pretrained(str(folder))
    return folder, source


def test_an_optimum_folder_is_imported_validated_and_packaged(export, tmp_path):  # type: ignore[no-untyped-def]
    folder, source = export
    result = adopt_onnx(folder, source, tmp_path / "art")
    variant = result.manifest.variants[0]
    assert (variant.id, variant.precision, variant.shape) == ("onnx-fp32-dynamic", "fp32", "dynamic")
    assert [s.name for s in variant.inputs] == ["input_ids", "attention_mask", "token_type_ids"]
    assert variant.transforms[0].startswith("imported from model.onnx (pytorch")
    assert variant.export_check.max_abs_prob_error <= 1e-4
    assert validate_artifacts(tmp_path / "art").passed
    package = build_package(tmp_path / "art", tmp_path / "dist" / "imported", archive=False)
    assert {"config.json", "onnx/fp32-dynamic.onnx"} <= set(read_sums(package.directory))
    with load(package.directory) as packaged, load(tmp_path / "art") as artifacts:
        texts = ["what a lovely day", "this is terrible"]
        assert [p.scores for p in packaged.predict(texts)] == [p.scores for p in artifacts.predict(texts)]


def test_precision_and_shape_are_read_from_the_graph(export, tmp_path):  # type: ignore[no-untyped-def]
    from onnxruntime.quantization import QuantType, quantize_dynamic

    folder, source = export
    quantize_dynamic(folder / "model.onnx", tmp_path / "int8.onnx", weight_type=QuantType.QUInt8)
    assert adopt_onnx(tmp_path / "int8.onnx", source, tmp_path / "int8").manifest.variants[0].id == "onnx-int8-dynamic"
    mixed = onnx.load(str(folder / "model.onnx"))
    mixed.graph.input[0].type.tensor_type.shape.dim[1].dim_value = 32  # input_ids fixed, the others symbolic
    onnx.save(mixed, str(tmp_path / "mixed.onnx"))
    with pytest.raises(ConversionError, match="mixes fixed and symbolic input dims"):
        adopt_onnx(tmp_path / "mixed.onnx", source, tmp_path / "mixed")


def test_predict_on_an_export_without_manifest_says_to_import_it(export):  # type: ignore[no-untyped-def]
    folder, _ = export
    cli = CliRunner().invoke(app, ["predict", str(folder), "--text", "hello"])
    assert cli.exit_code == 4
    assert "looks like an ONNX export without a manifest.json: run `npuport import" in cli.stderr
