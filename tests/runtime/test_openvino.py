"""OpenVINO as the engine of ONNX variants: the same file, the inference precision explicit and recorded, refused
off the CPU, built only beside the fp32 dynamic ONNX graph it runs."""

from __future__ import annotations

import numpy as np
import pytest

from npuport.convert.pipeline import convert_model
from npuport.convert.plan import ConvertOptions
from npuport.core.devices import CPU
from npuport.core.errors import BackendUnavailableError, InputError
from npuport.core.manifest import Manifest
from npuport.runtime import load
from npuport.validate.gate import validate_artifacts

TEXTS = ["I am so happy today!", "This is sad.", "What a surprise, thank you so much for the gift"]


@pytest.fixture(scope="module")
def openvino_artifacts(tiny_model, tmp_path_factory):  # type: ignore[no-untyped-def]
    options = ConvertOptions(formats=("onnx",), precisions=("fp32",), shapes=("dynamic",), engines=("onnxruntime", "openvino"))
    return convert_model(tiny_model("bert"), tmp_path_factory.mktemp("ov") / "bert", options, isolate=False).root


def test_openvino_variants_run_the_fp32_file_at_an_explicit_precision(openvino_artifacts):  # type: ignore[no-untyped-def]
    manifest = Manifest.load(openvino_artifacts)
    ort, ov32, ov16 = (manifest.variant(v) for v in ("onnx-fp32-dynamic", "openvino-fp32-dynamic", "openvino-bf16-dynamic"))
    assert ov32.files == ort.files == ov16.files and (ov32.engine, ov16.engine, ort.engine) == ("openvino", "openvino", None)
    assert (ov32.precision, ov16.precision) == ("fp32", "bf16") and manifest.owned_bytes(ov16) == 0
    clf = load(openvino_artifacts, "openvino-fp32-dynamic")
    assert "INFERENCE_PRECISION_HINT=f32" in clf.engine and "runs f32" in clf.engine
    exact = load(openvino_artifacts)  # the cpu default stays ONNX Runtime's fp32
    assert exact.variant_id == "onnx-fp32-dynamic" and exact.engine.startswith("onnxruntime")
    got = [[s for _, s in sorted(p.scores.items())] for p in clf.predict(TEXTS)]
    want = [[s for _, s in sorted(p.scores.items())] for p in exact.predict(TEXTS)]
    assert np.allclose(got, want, atol=1e-5)


def test_a_verdict_records_the_precision_openvino_ran(openvino_artifacts):  # type: ignore[no-untyped-def]
    run = validate_artifacts(openvino_artifacts, CPU, ["openvino-fp32-dynamic", "openvino-bf16-dynamic"])
    assert run.passed
    manifest = Manifest.load(openvino_artifacts)
    for variant, hint in (("openvino-fp32-dynamic", "f32"), ("openvino-bf16-dynamic", "bf16")):
        verdict = manifest.verdict(manifest.variant(variant), "cpu")
        assert verdict is not None and verdict.platform is not None and "openvino" in verdict.platform.versions
        assert f"INFERENCE_PRECISION_HINT={hint}" in verdict.platform.engine and verdict.profile.startswith(variant.split("-")[1])


def test_openvino_runs_on_the_cpu_only_and_needs_the_fp32_dynamic_graph(openvino_artifacts):  # type: ignore[no-untyped-def]
    with pytest.raises(BackendUnavailableError, match="OpenVINO variants run on --device cpu only"):
        load(openvino_artifacts, "openvino-bf16-dynamic", device="npu")
    with pytest.raises(InputError, match="--engines openvino runs the fp32 dynamic ONNX graph"):
        from npuport.convert.plan import plan_variants

        plan_variants(ConvertOptions(formats=("onnx",), precisions=("int8",), shapes=("dynamic",), engines=("openvino",)))
