"""npuport package / verify: only what passed ships; a package checks itself on the target; tampering is refused;
Triton configs satisfy Triton's own schema; ATC scripts are explicit. (Malicious archives: tests/core/test_archive.py.)"""

from __future__ import annotations

import json
import shutil
import subprocess
import tarfile

import pytest
from cli_runner import npuport  # type: ignore[import-not-found]
from google.protobuf import text_format
from tritonclient.grpc import model_config_pb2
from typer.testing import CliRunner

from npuport.cli import app
from npuport.core.devices import CpuClass, cpu_class
from npuport.core.errors import IntegrityError, ParityError
from npuport.core.manifest import Manifest
from npuport.package.bundle import build_package
from npuport.package.verify import verify_package
from npuport.runtime import load
from npuport.validate.gate import validate_artifacts

SHIPPED = ["onnx-fp32-dynamic", "onnx-fp16-static", "torchscript-fp32-dynamic", "onnx-int8-dynamic"]


@pytest.fixture(scope="module")
def partly_validated_bert(converted, tmp_path_factory):  # type: ignore[no-untyped-def]
    """Tiny bert artifacts with four variants validated on the CPU (the others never validated)."""
    root = tmp_path_factory.mktemp("package") / "bert"
    shutil.copytree(converted("bert").root, root)
    assert validate_artifacts(root, variants=SHIPPED).passed
    return root


@pytest.fixture(scope="module")
def package(partly_validated_bert, tmp_path_factory):  # type: ignore[no-untyped-def]
    return build_package(partly_validated_bert, tmp_path_factory.mktemp("dist") / "tiny-bert", triton=True)


def test_only_variants_validated_on_the_device_are_packaged(package, partly_validated_bert):  # type: ignore[no-untyped-def]
    assert sorted(package.variants) == sorted(SHIPPED)
    manifest = Manifest.load(package.directory)
    assert manifest.package is not None and manifest.package.device == "cpu"
    assert {v.id for v in manifest.variants} == set(SHIPPED)
    assert all(v.passed and v.device == "cpu" for v in manifest.validations)
    assert json.loads((package.directory / "labels.json").read_text())["id2label"]["0"] == manifest.source.labels[0]
    for rel in ("README.md", "SHA256SUMS", "golden/inputs.npz", "golden/reference.npz", "reports/validation-cpu.md",
                "reports/validation-cpu.json", "tokenizer/tokenizer.json"):
        assert (package.directory / rel).is_file(), rel
    assert not (package.directory / "torchscript" / "fp16-dynamic.pt").exists()
    assert package.archive is not None and tarfile.is_tarfile(package.archive)
    readme = (package.directory / "README.md").read_text()
    assert "npuport verify . --device cpu" in readme and "onnx-int8-dynamic" in readme
    here = cpu_class().name
    assert "Run `verify` on the machine you ship to" in readme and f"cpu, {here}, onnxruntime" in readme
    assert set(package.validated_on) == set(SHIPPED) and all(w.startswith(here) for w in package.validated_on.values())


def test_packaging_refuses_what_did_not_pass_for_that_device(partly_validated_bert, tmp_path):  # type: ignore[no-untyped-def]
    with pytest.raises(ParityError, match=r"onnx-fp16-dynamic \(never validated\)"):
        build_package(partly_validated_bert, tmp_path / "p", variants=["onnx-fp32-dynamic", "onnx-fp16-dynamic"])
    with pytest.raises(ParityError, match=r"validated only on cpu, not on cuda:0"):
        build_package(partly_validated_bert, tmp_path / "p", device="cuda", variants=["onnx-fp32-dynamic"])
    with pytest.raises(ParityError, match="no variant has a passing validation on npu:0"):
        build_package(partly_validated_bert, tmp_path / "p", device="npu")
    assert not (tmp_path / "p").exists() and not list(tmp_path.glob(".p*"))


def test_a_failed_validation_is_not_packaged(converted, tmp_path):  # type: ignore[no-untyped-def]
    root = tmp_path / "bert"
    shutil.copytree(converted("bert").root, root)
    validate_artifacts(root, variants=["onnx-fp32-dynamic"], profiles=None)
    from npuport.validate.profiles import resolve_profiles

    validate_artifacts(root, variants=["onnx-int8-dynamic"], profiles=resolve_profiles(overrides=["int8.max_abs_error=1e-9"]))
    with pytest.raises(ParityError, match=r"onnx-int8-dynamic \(failed its int8 profile on cpu\)"):
        build_package(root, tmp_path / "p", variants=["onnx-int8-dynamic"])
    assert build_package(root, tmp_path / "p", archive=False).variants == ["onnx-fp32-dynamic"]


def test_verify_passes_on_the_untouched_package_dir_and_archive(package):  # type: ignore[no-untyped-def]
    for target in (package.directory, package.archive):
        result = verify_package(target)
        assert result.passed, [(r.variant, r.failures) for r in result.results]
        assert {r.variant for r in result.results} == set(SHIPPED)
    cli = npuport("verify", str(package.archive))
    assert cli.returncode == 0, cli.stdout + cli.stderr
    assert "hashes OK" in cli.stdout and "onnx-int8-dynamic" in cli.stdout


def test_verify_on_another_cpu_class_says_so_first_and_gates_on_its_own_replay(package, monkeypatch):  # type: ignore[no-untyped-def]
    same = npuport("verify", str(package.directory))
    assert same.stdout.splitlines()[0].startswith(f"this machine ({cpu_class().name}") and "is the kind" in same.stdout
    other = "x86-64-avx2" if cpu_class().name != "x86-64-avx2" else "x86-64-avx512-vnni"
    monkeypatch.setattr("npuport.runtime.classifier.cpu_class", lambda: CpuClass(other, ("avx2",)))
    result = verify_package(package.directory)
    assert result.passed and len(result.results) == len(SHIPPED)  # the replay here decides, and it ran every variant
    assert any(f"CPU class {other} here, {cpu_class().name} at validation" in d for d in result.differences)
    # in-process (CliRunner), not npuport(): the other CPU class is a monkeypatch, which a subprocess would not see
    cli = CliRunner().invoke(app, ["verify", str(package.directory)])
    first = cli.output.splitlines()[0]
    assert cli.exit_code == 0 and "is NOT the kind the package was validated on" in first and other in first
    report = json.loads(CliRunner().invoke(app, ["verify", str(package.directory), "--json"]).output)
    assert report["differences"] and "NOT the kind" in report["machine"]


def test_verify_fails_on_a_tampered_package(package, tmp_path):  # type: ignore[no-untyped-def]
    copy = tmp_path / "tampered"
    shutil.copytree(package.directory, copy)
    model = copy / "onnx" / "fp32-dynamic.onnx"
    data = bytearray(model.read_bytes())
    data[len(data) // 2] ^= 0xFF
    model.write_bytes(bytes(data))
    with pytest.raises(IntegrityError, match="onnx/fp32-dynamic.onnx does not match SHA256SUMS"):
        verify_package(copy)
    cli = npuport("verify", str(copy))
    assert cli.returncode == 4 and "error: onnx/fp32-dynamic.onnx does not match SHA256SUMS" in cli.stderr
    # rewriting SHA256SUMS too is caught by the manifest's own hashes
    sums = copy / "SHA256SUMS"
    from npuport.core.files import sha256_file

    lines = [f"{sha256_file(model)}  onnx/fp32-dynamic.onnx" if line.endswith(" onnx/fp32-dynamic.onnx") else line
             for line in sums.read_text().splitlines()]
    sums.write_text("\n".join(lines) + "\n")
    with pytest.raises(IntegrityError, match="onnx/fp32-dynamic.onnx does not match the manifest"):
        verify_package(copy)
    (copy / "extra.py").write_text("print('hi')")
    with pytest.raises(IntegrityError, match="files SHA256SUMS does not list: extra.py"):
        verify_package(copy)


def test_load_and_predict_accept_packages(package, partly_validated_bert):  # type: ignore[no-untyped-def]
    texts = ["I am so happy today!", "This is the worst day of my life."]
    with load(partly_validated_bert, "onnx-fp32-dynamic") as original:
        want = [p.scores for p in original.predict(texts)]
    for target in (package.directory, package.archive):
        with load(target, "onnx-fp32-dynamic") as packaged:
            assert [p.scores for p in packaged.predict(texts)] == want
    cli = npuport("predict", str(package.archive), "--text", texts[0], "--json")
    assert cli.returncode == 0 and json.loads(cli.stdout.splitlines()[-1])["scores"] == pytest.approx(want[0])


def test_triton_configs_parse_with_tritons_schema_and_match_the_model(package):  # type: ignore[no-untyped-def]
    manifest = Manifest.load(package.directory)
    repository = package.directory / "triton"
    configs = {p.parent.name: p for p in repository.glob("*/config.pbtxt")}
    # one model per dynamic variant, one per bucket of the static one
    assert len(configs) == 3 + len(manifest.variant("onnx-fp16-static").buckets)
    for name, path in configs.items():
        config = text_format.Parse(path.read_text(), model_config_pb2.ModelConfig())
        assert config.name == name and (path.parent / "labels.txt").read_text().split("\n")[0] == manifest.source.labels[0]
        variant = next(v for v in manifest.variants if name.split("__")[1] == v.id.replace("-", "_"))
        model_file = path.parent / "1" / ("model.pt" if variant.format == "torchscript" else "model.onnx")
        assert model_file.is_file()
        assert config.platform == ("pytorch_libtorch" if variant.format == "torchscript" else "onnxruntime_onnx")
        assert [i.name.split("__")[0] for i in config.input] == manifest.source.input_names
        assert all(i.data_type == model_config_pb2.TYPE_INT64 for i in config.input)
        assert [o.name.split("__")[0] for o in config.output] == ["logits"]
        if variant.shape == "dynamic":
            assert config.max_batch_size == 16 and config.HasField("dynamic_batching")
            assert list(config.input[0].dims) == [-1] and list(config.output[0].dims) == [manifest.source.num_labels]
        else:
            bucket = next(b for b in variant.buckets if name.endswith(b.label))
            assert config.max_batch_size == 0 and not config.HasField("dynamic_batching")
            assert list(config.input[0].dims) == [bucket.batch, bucket.seq]
            assert list(config.output[0].dims) == [bucket.batch, manifest.source.num_labels]


def test_atc_scripts_name_every_bucket_shape_and_an_explicit_precision(package):  # type: ignore[no-untyped-def]
    manifest = Manifest.load(package.directory)
    (script,) = (package.directory / "atc").glob("*.sh")
    assert script.name == "onnx-fp16-static.sh"
    text = script.read_text()
    subprocess.run(["sh", "-n", str(script)], check=True)
    for bucket in manifest.variant("onnx-fp16-static").buckets:
        shape = ";".join(f"{name}:{bucket.batch},{bucket.seq}" for name in manifest.source.input_names)
        assert f"--input_shape={shape}" in text
    assert text.count(" --precision_mode=must_keep_origin_dtype --soc_version") == len(manifest.variant("onnx-fp16-static").buckets)
    assert "--framework=5" in text and '--soc_version="$SOC_VERSION"' in text
