"""torch.export (`.pt2`): opt-in format, dynamic batch and sequence, loaded by the runtime and validated like any variant."""

from collections.abc import Callable
from pathlib import Path

import numpy as np

from npuport.convert.pipeline import convert_model
from npuport.convert.plan import ConvertOptions, plan_variants
from npuport.model.reference import EagerReference
from npuport.model.source import load_source
from npuport.runtime import load
from npuport.validate.gate import validate_artifacts

VARIANT = "torchexport-fp32-dynamic"


def test_torchexport_is_opt_in_and_dynamic_only():
    assert not any(p.format == "torchexport" for p in plan_variants(ConvertOptions()))
    asked = plan_variants(ConvertOptions(formats=("torchexport",)))
    assert [p.id for p in asked] == ["torchexport-fp32-dynamic", "torchexport-fp16-dynamic"]


def test_pt2_round_trips_at_batch_3_by_77_tokens_equal_to_eager(tiny_model: Callable[[str], Path], tmp_path: Path):
    model_dir = tiny_model("bert")
    options = ConvertOptions(formats=("torchexport",), precisions=("fp32",), shapes=("dynamic",))
    result = convert_model(model_dir, tmp_path / "bert", options, isolate=False)
    [variant] = result.manifest.variants
    assert variant.id == VARIANT and variant.files[0].path.endswith(".pt2")

    source = load_source(model_dir)
    texts = ["今天天气真好，心情非常愉快！", "I am so happy today! " * 10, "?!"]  # short, truncated at 77, tiny
    batch = source.tokenizer(texts, truncation=True, padding="max_length", max_length=77, return_tensors="np")
    feed = {name: batch[name].astype(np.int64) for name in source.info.input_names}
    want = EagerReference(source.model, source.info.input_names).logits(feed)
    with load(result.root, variant=VARIANT) as classifier:  # a shape neither export nor check saw
        got = classifier.logits(feed)
    assert got.shape == want.shape == (3, source.info.num_labels)
    np.testing.assert_allclose(got, want, atol=1e-5)
    assert validate_artifacts(result.root).passed
