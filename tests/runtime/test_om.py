"""What `--target ascend` ships, run as shipped: the package's ATC scripts compile (stand-in atc) and `verify --device npu
--om DIR` replays the golden inputs through the `.om` gears. Only the vendor module is a stand-in (fake_ais_bench:
ais_bench's InferSession running the compiled ONNX with ONNX Runtime at exactly the compiled gears)."""

from __future__ import annotations

import importlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from npuport.cli import app
from npuport.core.devices import Device
from npuport.core.errors import BackendUnavailableError, InputError
from npuport.package.bundle import build_package
from npuport.package.verify import verify_package
from npuport.runtime import load
from npuport.validate.gate import validate_artifacts

FAKE_ACL = Path(__file__).parent / "fake_ais_bench"
VARIANT = "onnx-fp16-static"


@pytest.fixture(scope="module")
def compiled(converted, tmp_path_factory, atc_env):  # type: ignore[no-untyped-def]
    """An ascend package of the tiny bert's static fp16 ONNX, with its gears model compiled into `gears/` and its
    per-bucket models into `buckets/` by the package's own scripts."""
    root = Path(shutil.copytree(converted("bert").root, tmp_path_factory.mktemp("om") / "bert"))
    assert validate_artifacts(root, variants=[VARIANT]).passed
    package = build_package(root, root.parent / "ascend", variants=[VARIANT], archive=False).directory
    for script, folder in ((f"{VARIANT}.gears.sh", "gears"), (f"{VARIANT}.sh", "buckets")):
        subprocess.run(["sh", str(package / "atc" / script), str(root.parent / folder)], env=atc_env, check=True)
    return package, root.parent


@pytest.fixture
def acl(monkeypatch):  # type: ignore[no-untyped-def]
    """Ascend's runtime as ais_bench (the stand-in), importable in this process; its record of calls, emptied."""
    monkeypatch.syspath_prepend(str(FAKE_ACL))
    interface = importlib.import_module("ais_bench.infer.interface")
    yield interface.CALLS
    for name in [name for name in sys.modules if name.split(".")[0] == "ais_bench"]:
        del sys.modules[name]  # later tests in this process see no ais_bench, as on a machine without it


def test_verify_on_npu_replays_the_golden_inputs_through_the_gears_model(compiled, acl):  # type: ignore[no-untyped-def]
    package, folder = compiled
    result = verify_package(package, Device.parse("npu"), om=folder / "gears")
    assert result.passed, result.results[0].checks
    (replay,) = result.results
    assert replay.engine.startswith("ACL via ais_bench (fp16-static-gears.om sha256 ")
    assert replay.platform.precision_mode == "atc --precision_mode=must_keep_origin_dtype" and replay.device_only
    buckets = {(b.batch, b.seq) for b in load(package).variant.buckets}
    assert acl and {call[0] for call in acl} == {"fp16-static-gears.om"} and {call[1] for call in acl} == {"dymdims"}
    assert {shape for call in acl for shape in call[2]} <= buckets  # every batch padded to exactly a compiled gear
    assert len({call[2][0] for call in acl}) > 1  # the golden texts reach more than one gear


def test_predict_runs_one_om_per_bucket_when_no_gears_model_is_there(compiled, acl):  # type: ignore[no-untyped-def]
    package, folder = compiled
    cli = CliRunner().invoke(app, ["predict", str(package), "--device", "npu", "--om", str(folder / "buckets"),
                                   "--text", "a short one", "--text", "and another text, somewhat longer than it", "--json"])
    assert cli.exit_code == 0, cli.output
    assert len([json.loads(line) for line in cli.output.splitlines()]) == 2
    # two texts, one batch: padded to the smallest bucket that holds two rows, and run by that bucket's own model
    assert acl == [("fp16-static-b4s64.om", "static", [(4, 64)] * len(load(package).variant.inputs))]
    with load(package, device="npu", om=folder / "buckets") as classifier:
        assert classifier.engine.count(".om sha256") == len(classifier.variant.buckets)
    with load(folder / "bert", device="npu", om=folder / "gears") as classifier:  # every variant: the one compiled
        assert classifier.variant_id == VARIANT and classifier.chosen_because.startswith("its .om files are in")


def test_what_is_missing_is_one_clear_error(compiled, monkeypatch, tmp_path):  # type: ignore[no-untyped-def]
    package, folder = compiled
    with pytest.raises(BackendUnavailableError, match="through ais_bench, which is not installed: pip install msit"):
        load(package, device="npu", om=folder / "gears")
    with pytest.raises(InputError, match="give --device npu, not cpu"):
        load(package, device="cpu", om=folder / "gears")
    (tmp_path / "fp16-static-b1s32.om").write_text("{}")
    with pytest.raises(InputError, match=r"holds neither fp16-static-gears.om nor every bucket's .om \(fp16-static-b4s64.om"):
        load(package, VARIANT, device="npu", om=tmp_path)
    with pytest.raises(InputError, match="no static ONNX variant of these artifacts has its .om files there"):
        load(package, device="npu", om=tmp_path)
