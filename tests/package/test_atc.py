"""ATC scripts against a stand-in `atc` that enforces ATC's documented grammar (fake_atc.py): every script npuport
writes is accepted, and each mistake ATC would refuse (or compile into something else) is refused."""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import numpy_helper
from typer.testing import CliRunner

from npuport.cli import app
from npuport.convert.plan import ConvertOptions, for_target
from npuport.core.atc import atc_model
from npuport.core.errors import InputError
from npuport.core.golden import GoldenInputs
from npuport.core.manifest import Manifest
from npuport.package.atc import atc_script, gear_script, routes, write_atc
from npuport.package.compare import golden_feed


@pytest.fixture(scope="module")
def atc_dir(converted, tmp_path_factory):  # type: ignore[no-untyped-def]
    """The tiny bert's artifacts with the ATC models and scripts of its static ONNX variants written beside them."""
    root = Path(shutil.copytree(converted("bert").root, tmp_path_factory.mktemp("atc") / "bert"))
    written = write_atc(root, Manifest.load(root))
    return root, written


def _run(script: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["sh", str(script), *args], env=env, capture_output=True, text=True)


def _atc(root: Path, env: dict[str, str], args: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["atc", *args], env=env, capture_output=True, text=True, cwd=root)


def _command(script: Path, om_dir: Path) -> list[str]:
    """The script's (last) atc command line as arguments, with its shell variables filled in."""
    line = [text for text in script.read_text().splitlines() if text.startswith("atc ")][-1]
    return [a.replace("$OM_DIR", str(om_dir)).replace("$SOC_VERSION", "Ascend310P3") for a in shlex.split(line)[1:]]


def test_every_script_is_accepted_and_compiles_the_self_contained_model_at_each_bucket(atc_dir, atc_env, tmp_path):  # type: ignore[no-untyped-def]
    root, written = atc_dir
    manifest = Manifest.load(root)
    assert sorted(p.relative_to(root).as_posix() for p in written if p.suffix != ".bin") == [
        "atc/onnx-fp16-static.compare.sh", "atc/onnx-fp16-static.gears.sh", "atc/onnx-fp16-static.onnx",
        "atc/onnx-fp16-static.sh", "atc/onnx-fp32-static.compare.sh", "atc/onnx-fp32-static.gears.sh",
        "atc/onnx-fp32-static.onnx", "atc/onnx-fp32-static.sh"]
    for script in (p for p in written if p.suffix == ".sh" and not p.name.endswith(".compare.sh")):
        done = _run(script, atc_env, str(tmp_path))
        assert done.returncode == 0, done.stderr
        assert "must_keep_origin_dtype" in script.read_text() and "AI CPU" in script.read_text()
    for variant in (manifest.variant("onnx-fp32-static"), manifest.variant("onnx-fp16-static")):
        model = onnx.load(str(root / atc_model(variant)))  # weights inside: nothing to read beside it
        assert not any(t.data_location == onnx.TensorProto.EXTERNAL for t in model.graph.initializer)
        validated = onnx.load(str(root / variant.files[0].path))  # read with its external weights by onnx itself
        assert [(t.name, numpy_helper.to_array(t).tobytes()) for t in model.graph.initializer] == [
            (t.name, numpy_helper.to_array(t).tobytes()) for t in validated.graph.initializer]
        assert [n.SerializeToString() for n in model.graph.node] == [n.SerializeToString() for n in validated.graph.node]
        assert [[d.dim_param for d in i.type.tensor_type.shape.dim] for i in model.graph.input] == [["batch", "sequence"]] * 3
        names = [s.name for s in variant.inputs]
        shapes = [{name: [b.batch, b.seq] for name in names} for b in variant.buckets]
        gears = json.loads((tmp_path / f"{variant.precision}-static-gears.om").read_text())
        assert gears["gears"] == shapes and gears["precision_mode"] == "must_keep_origin_dtype"
        for bucket, shape in zip(variant.buckets, shapes):
            assert json.loads((tmp_path / f"{variant.precision}-static-{bucket.label}.om").read_text())["gears"] == [shape]


def test_one_bucket_gets_a_static_shape_not_a_one_gear_model(atc_dir, atc_env, tmp_path):  # type: ignore[no-untyped-def]
    root, _ = atc_dir
    variant = Manifest.load(root).variant("onnx-fp32-static")
    single = variant.model_copy(update={"buckets": variant.buckets[:1], "files": variant.files[:1]})
    (route,) = routes(single, None)
    assert gear_script(single, route) is None
    script = tmp_path / "single.sh"
    script.write_text(atc_script(single, route).replace('PACKAGE="$(cd "$(dirname "$0")/.." && pwd)"', f'PACKAGE="{root}"'))
    assert "--dynamic_dims" not in script.read_text()
    assert _run(script, atc_env, str(tmp_path / "om")).returncode == 0
    assert [p.name for p in (tmp_path / "om").iterdir()] == [f"fp32-static-{variant.buckets[0].label}.om"]


def test_the_stand_in_refuses_each_mistake_atc_would(atc_dir, atc_env, tmp_path):  # type: ignore[no-untyped-def]
    root, _ = atc_dir
    manifest = Manifest.load(root)
    fp32, fp16 = manifest.variant("onnx-fp32-static"), manifest.variant("onnx-fp16-static")
    good = _command(root / "atc" / "onnx-fp32-static.gears.sh", tmp_path)
    assert _atc(root, atc_env, good).returncode == 0

    def replaced(option: str, value: str | None, args: list[str] = good) -> list[str]:
        kept = [a for a in args if not a.startswith(f"--{option}=")]
        return kept + ([f"--{option}={value}"] if value is not None else [])

    def model_file(name: str, edit) -> str:  # type: ignore[no-untyped-def]
        model = onnx.load(str(root / atc_model(fp32)))
        edit(model)
        onnx.save(model, str(tmp_path / name))
        return str(tmp_path / name)

    gear = ",".join(["1", "32"] * len(fp32.inputs))
    matmuls = [n.name for n in onnx.load(str(root / atc_model(fp16))).graph.node if n.op_type == "MatMul"][:2]
    (tmp_path / "fp16.cfg").write_text("\n".join(matmuls) + "\n")
    (tmp_path / "missing.cfg").write_text("/no/such/MatMul\n")
    (tmp_path / "fp32.cfg").write_text("\n".join(matmuls) + "\n")
    fused = next(v for v in manifest.variants if v.format == "onnx" and any(t.startswith("ort-fusion") for t in v.transforms))
    cases = {
        "1 gears; ATC takes 2 to 100": replaced("dynamic_dims", gear),
        "has 2 values; --input_shape has": replaced("dynamic_dims", f"{gear};1,32"),
        "is not an input of the model": [a.replace("input_ids:", "input:") for a in good],
        "-1 dims but no --dynamic_dims": replaced("dynamic_dims", None),
        "opset 19; ATC's ONNX parser reads operators up to opset 18":
            replaced("model", model_file("opset19.onnx", lambda m: m.opset_import[0].__setattr__("version", 19))),
        "operators outside the ONNX domain (com.microsoft:": replaced("model", fused.files[0].path),
        "in an external-data file": replaced("model", fp32.files[0].path),
        "--precision_mode=fp32: one of": replaced("precision_mode", "fp32"),
        "does not take effect with precision mode must_keep_origin_dtype": replaced("keep_dtype", str(tmp_path / "fp32.cfg")),
        "'/no/such/MatMul' is not an op of --model":
            replaced("keep_dtype", str(tmp_path / "missing.cfg"), replaced("precision_mode", "force_fp16")),
        f"{matmuls[0]!r} computes in float16 in --model": replaced("keep_dtype", str(tmp_path / "fp16.cfg"), replaced(
            "precision_mode", "force_fp16", replaced("model", atc_model(fp16)))),
    }
    for message, args in cases.items():
        done = _atc(root, atc_env, args)
        assert done.returncode == 1 and message in done.stderr, (message, done.stderr)
    # the same keep-list on the fp32 graph, with a mode it takes effect under, is accepted
    assert _atc(root, atc_env, replaced("keep_dtype", str(tmp_path / "fp32.cfg"), replaced("precision_mode", "force_fp16"))).returncode == 0


def test_target_ascend_refuses_an_opset_atc_cannot_parse(tiny_model, tmp_path):  # type: ignore[no-untyped-def]
    assert for_target(ConvertOptions(), "ascend").opset <= 18
    with pytest.raises(InputError, match="--target ascend: opset 19 is newer than ATC's ONNX parser reads"):
        for_target(ConvertOptions(opset=19), "ascend")
    cli = CliRunner().invoke(app, ["convert", str(tiny_model("bert")), "-o", str(tmp_path / "out"), "--target", "ascend",
                                   "--opset", "19"])
    assert cli.exit_code == InputError.exit_code and not (tmp_path / "out").exists()
    assert cli.output.strip().splitlines()[-1].startswith("error: --target ascend: opset 19")


def test_the_msit_comparison_reads_the_golden_token_ids_at_each_bucket_shape(atc_dir, atc_env, tmp_path):  # type: ignore[no-untyped-def]
    """The compare script run with a stand-in `msit` that records its arguments: for every bucket one `debug compare`
    of the ATC model with that bucket's .om (else the gears model), one .bin per input holding exactly the int64
    golden rows at the `-is` shape (what msit's np.fromfile reads back)."""
    root, _ = atc_dir
    manifest = Manifest.load(root)
    variant = manifest.variant("onnx-fp32-static")
    calls = tmp_path / "calls.jsonl"
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "msit").write_text(f'#!/bin/sh\nexec "{sys.executable}" -c "import json, sys; '
                                           f"open('{calls}', 'a').write(json.dumps(sys.argv[1:]) + chr(10))\" \"$@\"\n")
    (tmp_path / "bin" / "msit").chmod(0o755)
    env = atc_env | {"PATH": f"{tmp_path / 'bin'}:{atc_env['PATH']}"}
    om = tmp_path / "om"
    assert _run(root / "atc" / "onnx-fp32-static.gears.sh", env, str(om)).returncode == 0
    done = _run(root / "atc" / "onnx-fp32-static.compare.sh", env, str(om))
    assert done.returncode == 0, done.stderr
    runs = [json.loads(line) for line in calls.read_text().splitlines()]
    assert len(runs) == len(variant.buckets)
    golden = GoldenInputs.load(root / manifest.golden.inputs.path)
    for bucket, args in zip(variant.buckets, runs):
        flags = dict(zip(args[2::2], args[3::2]))
        assert args[:2] == ["debug", "compare"] and flags["-gm"] == atc_model(variant)
        assert flags["-om"] == str(om / "fp32-static-gears.om") and Path(flags["-o"]).name == bucket.label
        shapes = [part.split(":") for part in flags["-is"].split(";")]
        assert [name for name, _ in shapes] == [s.name for s in variant.inputs]
        expected = golden_feed(golden, bucket, 0)
        for (name, dims), path in zip(shapes, flags["-i"].split(",")):
            read = np.fromfile(path, dtype=np.int64).reshape([int(d) for d in dims.split(",")])
            assert read.shape == (bucket.batch, bucket.seq) and np.array_equal(read, expected[name]), name
