"""`convert --buckets auto --texts`: one plan drives the static files and the validation (a parity row per bucket)."""

from collections.abc import Callable
from pathlib import Path

from npuport.convert.pipeline import convert_model
from npuport.convert.plan import ConvertOptions
from npuport.core.corpus import load_corpus
from npuport.validate.gate import validate_artifacts


def test_planned_buckets_become_the_static_files_and_each_gets_its_parity_row(tiny_model: Callable[[str], Path],
                                                                            tmp_path: Path):
    traffic = tmp_path / "traffic.txt"
    traffic.write_text("\n".join(e.text for e in load_corpus("en")) + "\n", encoding="utf-8")
    options = ConvertOptions(formats=("onnx",), precisions=("fp32",), shapes=("static",), fuse="none", buckets=(),
                             bucket_texts=traffic)
    result = convert_model(tiny_model("bert"), tmp_path / "bert", options, isolate=False)
    assert result.bucket_plan is not None and result.bucket_plan.after.padding < result.bucket_plan.before.padding
    [variant] = result.manifest.variants
    assert variant.buckets == result.bucket_plan.buckets and len(variant.files) == len(variant.buckets) <= 4

    [validation] = validate_artifacts(result.root).results
    assert validation.passed
    assert [row["bucket"] for row in validation.buckets] == [str(b) for b in variant.buckets]
    assert all(row["texts"] > 0 for row in validation.buckets)
