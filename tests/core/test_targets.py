"""One table of deploy targets (core.targets): what `convert --target` builds, `package --target` ships and `load`
runs by default on the target's device agree, because all three read it."""

from __future__ import annotations

from pathlib import Path

import pytest

from npuport.convert.plan import ConvertOptions, for_target, plan_variants
from npuport.core.devices import DEPLOY_TARGETS, Device
from npuport.core.manifest import Manifest, Variant
from npuport.core.targets import TARGETS
from npuport.package.targets import choose_for_target
from npuport.runtime.loader import choose_variant


def variant(variant_id: str) -> Variant:
    """Only what the table reads: format, precision, shape, engine, transforms (no files: nothing is loaded)."""
    fmt, precision, shape = variant_id.split("-")
    return Variant.model_construct(id=variant_id, format=fmt, precision=precision, shape=shape, files=[])


def manifest_of(ids: list[str]) -> Manifest:
    return Manifest.model_construct(variants=[variant(i) for i in ids], validations=[])  # only variants are read


@pytest.mark.parametrize("name", DEPLOY_TARGETS)
def test_convert_package_and_load_agree_on_each_target(name, tmp_path: Path):
    target = TARGETS[name]  # type: ignore[index]
    built = [plan.id for plan in plan_variants(for_target(ConvertOptions(), name))]
    assert sorted(built) == sorted(c.name for c in target.choices if c.built)  # convert builds exactly these
    manifest = manifest_of(built)
    shipped = next(d.variant for d in choose_for_target(tmp_path, manifest, name, list(manifest.variants), target.device) if d.chosen)
    assert shipped == target.choices[0].name  # no bench records: the first choice
    loaded, because = choose_variant(manifest, None, Device(target.device))
    if target.exact is None:
        assert loaded.id == shipped and because == f"default for {target.device}: {target.choices[0].why}"
    else:  # the cpu: load runs the exact fp32 graph unasked, the package ships the fastest that passed
        assert loaded.id == target.exact.name and target.exact.fits(loaded)


def test_fallbacks_follow_the_table_and_a_variant_outside_it_is_still_loadable(tmp_path: Path):
    torch_only = manifest_of(["torchscript-fp16-dynamic", "torchscript-fp32-dynamic", "torchscript-fp16-static"])
    assert choose_variant(torch_only, None, Device("cuda"))[0].id == "torchscript-fp16-dynamic"
    assert choose_variant(torch_only, None, Device("npu"))[0].id == "torchscript-fp16-static"
    chosen = next(d for d in choose_for_target(tmp_path, torch_only, "cuda", list(torch_only.variants), "cuda") if d.chosen)
    assert chosen.variant == "torchscript-fp16-dynamic" and "no fp16 ONNX" in chosen.why
    odd = manifest_of(["onnx-bf16-dynamic"])
    loaded, because = choose_variant(odd, None, Device("npu"))
    assert loaded.id == "onnx-bf16-dynamic" and "none of onnx-fp16-static" in because and "the first variant" in because
    assert choose_variant(torch_only, None, Device("cpu"))[0].id == "torchscript-fp32-dynamic"  # fp32: the closest
