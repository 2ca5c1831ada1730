"""`npuport validate` as a user runs it: a failing variant exits 8 with its FAIL lines and one error line; texts of
the user's own are checked against the source model."""

from __future__ import annotations

import json

from cli_runner import npuport  # type: ignore[import-not-found]


def test_the_cli_exits_non_zero_on_failure_with_one_error_line(bert_copy):  # type: ignore[no-untyped-def]
    root = bert_copy
    assert npuport("validate", str(root), "--variants", "onnx-fp32-dynamic").returncode == 0
    passed = (root / "manifest.json").read_bytes()
    result = npuport("validate", str(root), "--variants", "onnx-fp32-dynamic", "--profile", "fp32.max_abs_error=1e-12")
    assert result.returncode == 8, result.stdout + result.stderr
    assert "FAIL onnx-fp32-dynamic: max abs error" in result.stdout
    assert "error: 1 variant(s) failed validation on cpu: onnx-fp32-dynamic" in result.stderr
    # limits of the user's own: the stored verdict stands, the reports go beside the recorded ones
    assert "not recorded in the manifest" in result.stdout and (root / "manifest.json").read_bytes() == passed
    assert (root / "reports" / "unrecorded" / "validation-cpu.json").is_file()
    recorded = npuport("validate", str(root), "--variants", "onnx-fp32-dynamic", "--profile", "fp32.max_abs_error=1e-12",
                       "--record", "--json")
    assert recorded.returncode == 8 and json.loads(recorded.stdout)["recorded"] is True
    verdicts = json.loads((root / "manifest.json").read_text())["validations"]
    assert [v["passed"] for v in verdicts if v["variant"] == "onnx-fp32-dynamic"] == [False]


def test_a_limit_no_variant_can_meet_is_refused_before_anything_runs(bert_copy):  # type: ignore[no-untyped-def]
    for limit in ("fp32.max_abs_error=nan", "fp32.max_abs_error=-1", "fp32.min_cosine=2", "fp32.min_cosine=inf"):
        result = npuport("validate", str(bert_copy), "--profile", limit)
        assert result.returncode == 7 and result.stderr.startswith(f"error: --profile '{limit}': fp32.")
    assert not (bert_copy / "reports").exists()


def test_custom_texts_use_the_source_model_as_reference(bert_copy, tmp_path):  # type: ignore[no-untyped-def]
    root = bert_copy
    texts = tmp_path / "texts.txt"
    texts.write_text("I am so happy today!\nThis is terrible news.\n" + "long text " * 200 + "\n", encoding="utf-8")
    result = npuport("validate", str(root), "--variants", "onnx-fp32-dynamic", "--texts", str(texts), "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["passed"] and "3 texts from the user" in data["reference"]
    assert data["variants"][0]["end_to_end"]["probabilities"]["texts"] == 3
