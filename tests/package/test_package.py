"""npuport package / verify: only what passed ships; a package checks itself on the target; tampering is refused;
Triton configs satisfy Triton's own schema; ATC scripts are explicit. (Malicious archives: tests/core/test_archive.py.)"""

from __future__ import annotations

import json
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest
from cli_runner import npuport  # type: ignore[import-not-found]
from google.protobuf import text_format
from tritonclient.grpc import model_config_pb2
from typer.testing import CliRunner

from npuport.cli import app
from npuport.core.devices import CpuClass, Device, cpu_class
from npuport.core.errors import InputError, IntegrityError, ParityError
from npuport.core.files import sha256_file
from npuport.core.manifest import Bucket, Manifest, Placement, Platform, Validation
from npuport.core.reports.bench import BenchRecord
from npuport.core.sums import check_sums, read_sums
from npuport.package.atc import gear_script, routes
from npuport.package.bundle import build_package
from npuport.package.verify import platform_differences, verify_package
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
        build_package(partly_validated_bert, tmp_path / "p", device=Device("cuda"), variants=["onnx-fp32-dynamic"])
    with pytest.raises(ParityError, match="no variant has a passing validation on npu:0"):
        build_package(partly_validated_bert, tmp_path / "p", device=Device("npu"))
    assert not (tmp_path / "p").exists() and not list(tmp_path.glob(".p*"))


def test_a_failed_validation_is_not_packaged(converted, tmp_path):  # type: ignore[no-untyped-def]
    root = tmp_path / "bert"
    shutil.copytree(converted("bert").root, root)
    validate_artifacts(root, variants=["onnx-fp32-dynamic"], profiles=None)
    from npuport.validate.profiles import resolve_profiles

    validate_artifacts(root, variants=["onnx-int8-dynamic"], profiles=resolve_profiles(overrides=["int8.max_abs_error=1e-9"]))
    with pytest.raises(ParityError, match=r"onnx-int8-dynamic \(failed its int8 profile on cpu\)"):
        build_package(root, tmp_path / "p", variants=["onnx-int8-dynamic"])
    events: list[dict] = []
    assert build_package(root, tmp_path / "p", archive=False, progress=events.append).variants == ["onnx-fp32-dynamic"]
    # progress: the announced steps are the steps done, one per file copied, then the checksums
    done = [e["label"] for e in events if e["event"] == "done"]
    assert events[0] == {"event": "total", "steps": len(done)}
    assert set(done) == {f.path for f in Manifest.load(tmp_path / "p").all_files()} | {"SHA256SUMS"}
    # the failed int8 verdict edited to `passed` by hand (then its report's flags too): its report's figures decide
    manifest = json.loads((root / "manifest.json").read_text())
    for record in manifest["validations"]:
        record["passed"] = True
    (root / "manifest.json").write_text(json.dumps(manifest))
    refused = r"onnx-int8-dynamic: its verdict says passed, but the figures in reports/validation-cpu.json fail its int8 profile: max abs error"
    for edit_report in (False, True):
        if edit_report:
            report = json.loads((root / "reports/validation-cpu.json").read_text())
            report["passed"] = True
            for entry in report["variants"]:
                entry.update(passed=True, failures=[], checks=[c | {"passed": True} for c in entry["checks"]])
            (root / "reports/validation-cpu.json").write_text(json.dumps(report))
        with pytest.raises(ParityError, match=refused):
            build_package(root, tmp_path / "forged")
        assert not (tmp_path / "forged").exists()


def test_package_on_a_full_disk_names_the_package_and_leaves_nothing(partly_validated_bert, tmp_path):  # type: ignore[no-untyped-def]
    """Issue 22: with no room left, `package` named the source file it copied from (on the disk that has room)."""
    import resource
    import signal

    from cli_runner import NPUPORT, cli_env  # type: ignore[import-not-found]

    largest = max(path.stat().st_size for path in partly_validated_bert.rglob("*.onnx"))

    def small_files() -> None:  # a file size limit stands in for a full disk: the same failed write, EFBIG
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (largest // 2, largest // 2))

    output = tmp_path / "dist" / "tiny"
    cli = subprocess.run([*NPUPORT, "package", str(partly_validated_bert), "-o", str(output)], capture_output=True,
                         text=True, timeout=300, env=cli_env(), preexec_fn=small_files)
    assert cli.returncode != 0 and cli.stderr.strip().splitlines() == [
        f"error: file size limit reached while writing {output}; nothing was left behind"], cli.stderr
    assert not output.exists() and not list(output.parent.iterdir())


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


def test_verify_names_another_compiler_precision_setting_or_node_placement_than_at_validation():
    """On an accelerator a verdict also holds for its compiler's precision setting and where the nodes ran (no NPU
    here: the records are written by hand as an Ascend validation would write them)."""
    placed = Placement(file="b1s32.onnx", provider="CANNExecutionProvider", nodes=180, partitions=1)
    there = Platform(cpu_class="arm64-neon", cpu_features=[], engine="onnxruntime (CANNExecutionProvider, CPUExecutionProvider)",
                     versions={"onnxruntime": "1.24.4"}, precision_mode="precision_mode=must_keep_origin_dtype", placement=[placed])
    record = Validation(report="reports/v.json", variant="onnx-fp32-static", sha256="0" * 64, device="npu:0", profile="fp32",
                        passed=True, created="2026-01-01T00:00:00+00:00", platform=there)

    class Replay:
        variant = "onnx-fp32-static"
        platform = there.model_copy(update={"precision_mode": "precision_mode_v2=origin", "placement": [placed.model_copy(
            update={"nodes": 175, "partitions": 6, "cpu_ops": {"LayerNormalization": 5}})]})

    assert platform_differences([record], [Replay()]) == [  # type: ignore[list-item]
        "precision_mode_v2=origin here, precision_mode=must_keep_origin_dtype at validation (onnx-fp32-static)",
        "nodes placed as CANNExecutionProvider ran 175 nodes in 6 partitions; on the CPU: LayerNormalization×5 here, "
        "CANNExecutionProvider ran 180 nodes in 1 partition, none on the CPU at validation (onnx-fp32-static)"]
    assert platform_differences([record], [type("Same", (), {"variant": "onnx-fp32-static", "platform": there})()]) == []  # type: ignore[list-item]


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
    with pytest.raises(IntegrityError, match="SHA256SUMS and the manifest disagree on onnx/fp32-dynamic.onnx"):
        verify_package(copy)
    (copy / "extra.py").write_text("print('hi')")
    with pytest.raises(IntegrityError, match="extra.py is in .* but not listed in SHA256SUMS"):
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


def test_triton_models_hold_their_own_files_and_configs_fit_tritons_schema(package):  # type: ignore[no-untyped-def]
    manifest = Manifest.load(package.directory)
    repository = package.directory / "triton"
    configs = {p.parent.name: p for p in repository.glob("*/config.pbtxt")}
    # the text model (Python backend), one model per dynamic variant, one per bucket of the static one
    assert len(configs) == 1 + 3 + len(manifest.variant("onnx-fp16-static").buckets)
    text = text_format.Parse(configs.pop("tiny-bert").read_text(), model_config_pb2.ModelConfig())  # serve's name
    assert text.backend == "python" and [(i.name, i.data_type) for i in text.input] == [("TEXT", model_config_pb2.TYPE_STRING)]
    assert [(o.name, list(o.dims)) for o in text.output] == [("SCORES", [manifest.source.num_labels]), ("LABELS", [1])]
    assert text.parameters["variant"].string_value == "onnx-fp32-dynamic"  # what serve runs on the CPU by default
    assert text.max_batch_size == 16 and not text.dynamic_batching.preferred_batch_size
    own = repository / "tiny-bert" / "1" / "tiny-bert"  # the text model's package, checked by itself
    assert (own.parent / "model.py").is_file() and check_sums(own, read_sums(own)) == len(manifest.all_files()) + 1
    with load(own) as classifier:
        assert classifier.variant.id == "onnx-fp32-dynamic"
    for name, path in configs.items():
        config = text_format.Parse(path.read_text(), model_config_pb2.ModelConfig())
        assert config.name == name and (path.parent / "labels.txt").read_text().split("\n")[0] == manifest.source.labels[0]
        variant = next(v for v in manifest.variants if name.split("__")[1] == v.id)
        bucket = next((b for b in variant.buckets if name.endswith(f"__{b.label}")), None)
        # the backend's default file name in the version folder, a second name of the package's own file
        version, model_file = path.parent / "1", "model.pt" if variant.format == "torchscript" else "model.onnx"
        weights = variant.weights
        assert sorted(p.name for p in version.iterdir()) == sorted([model_file] + ([Path(weights.path).name] if weights else []))
        assert (version / model_file).samefile(package.directory / variant.file_for(bucket).path)
        if weights is not None:  # the external-data file the bucket graphs share, under the name the graph reads
            assert (version / Path(weights.path).name).samefile(package.directory / weights.path)
        assert not config.default_model_filename
        assert config.platform == ("pytorch_libtorch" if variant.format == "torchscript" else "onnxruntime_onnx")
        assert [i.name.split("__")[0] for i in config.input] == manifest.source.input_names
        assert all(i.data_type == model_config_pb2.TYPE_INT64 for i in config.input)
        assert [o.name.split("__")[0] for o in config.output] == ["logits"]
        if bucket is None:
            assert config.max_batch_size == 16 and config.dynamic_batching.max_queue_delay_microseconds > 0
            assert not config.dynamic_batching.preferred_batch_size  # Triton batches up to max_batch_size
            assert list(config.input[0].dims) == [-1] and list(config.output[0].dims) == [manifest.source.num_labels]
        else:
            assert config.max_batch_size == 0 and not config.HasField("dynamic_batching")
            assert list(config.input[0].dims) == [bucket.batch, bucket.seq]
            assert list(config.output[0].dims) == [bucket.batch, manifest.source.num_labels]


def test_atc_scripts_name_every_bucket_shape_and_an_explicit_precision(package):  # type: ignore[no-untyped-def]
    manifest = Manifest.load(package.directory)
    static = manifest.variant("onnx-fp16-static")
    scripts = {p.name: p for p in (package.directory / "atc").glob("*.sh")}
    assert sorted(scripts) == ["onnx-fp16-static.compare.sh", "onnx-fp16-static.gears.sh", "onnx-fp16-static.sh"]
    assert "atc/onnx-fp16-static.onnx" in read_sums(package.directory)  # the self-contained model ATC compiles
    text = scripts["onnx-fp16-static.sh"].read_text()
    for script in scripts.values():
        subprocess.run(["sh", "-n", str(script)], check=True)
    for bucket in static.buckets:
        shape = ";".join(f"{name}:{bucket.batch},{bucket.seq}" for name in manifest.source.input_names)
        assert f"--input_shape={shape}" in text
    assert text.count(" --precision_mode=must_keep_origin_dtype --output=") == len(static.buckets)
    assert "--framework=5" in text and '--soc_version="$SOC_VERSION"' in text and "--model=atc/onnx-fp16-static.onnx" in text
    (gears,) = [line for line in scripts["onnx-fp16-static.gears.sh"].read_text().splitlines() if line.startswith("atc ")]
    names = manifest.source.input_names
    assert f"--input_shape={';'.join(f'{name}:-1,-1' for name in names)}" in gears
    want = ";".join(",".join(f"{b.batch},{b.seq}" for _ in names) for b in static.buckets)  # per gear: every input's dims
    assert f"--dynamic_dims={want}" in gears and "--keep_dtype" not in gears


def test_atc_writes_outside_the_package_and_verify_still_passes(package, tmp_path, atc_env):  # type: ignore[no-untyped-def]
    """The stand-in `atc` (fake_atc.py: ATC's documented grammar) accepts every script and writes its --output file,
    as ATC does: the .om files land beside the package."""
    copy = Path(shutil.copytree(package.directory, tmp_path / "tiny-bert"))
    before = sorted(p.relative_to(copy) for p in copy.rglob("*"))
    for script in sorted(p for p in (copy / "atc").glob("*.sh") if not p.name.endswith(".compare.sh")):
        subprocess.run(["sh", str(script)], env=atc_env, check=True, cwd=tmp_path)
    buckets = Manifest.load(copy).variant("onnx-fp16-static").buckets
    assert sorted(p.name for p in (tmp_path / "tiny-bert-om").iterdir()) == sorted(
        ["fp16-static-gears.om"] + [f"fp16-static-{b.label}.om" for b in buckets])
    assert sorted(p.relative_to(copy) for p in copy.rglob("*")) == before
    assert verify_package(copy).passed
    named = tmp_path / "elsewhere"
    subprocess.run(["sh", str(copy / "atc" / "onnx-fp16-static.gears.sh"), str(named)], env=atc_env, check=True)
    assert [p.name for p in named.iterdir()] == ["fp16-static-gears.om"]
    inside = subprocess.run(["sh", str(copy / "atc" / "onnx-fp16-static.sh"), str(copy / "om")], env=atc_env,
                            capture_output=True, text=True)
    assert inside.returncode == 2 and "lies inside the package" in inside.stderr and not (copy / "om").exists()


def test_gear_scripts_respect_atc_limits(package):  # type: ignore[no-untyped-def]
    static = Manifest.load(package.directory).variant("onnx-fp16-static")
    (route,) = routes(static, "tune/onnx-fp16-tuned.keep_dtype.cfg")  # an fp16 graph gets no keep-list: it would keep fp16
    many = static.model_copy(update={"buckets": [Bucket(batch=1, seq=8 * (i + 1)) for i in range(5)]})
    with pytest.warns(UserWarning, match="5 ATC gears"):
        assert gear_script(many, route) is not None
    too_many = static.model_copy(update={"buckets": [Bucket(batch=1, seq=8 * (i + 1)) for i in range(101)]})
    with pytest.warns(UserWarning, match="exceed ATC's limit of 100 gears"):
        assert gear_script(too_many, route) is None


def test_a_package_is_at_most_a_tenth_larger_than_the_distinct_files_it_ships(package):  # type: ignore[no-untyped-def]
    """Counted over the whole folder and the tarball, Triton repository included: no file is stored twice (the
    repository's names of the package's files are hard links, and links in the tarball)."""
    stored: dict[tuple[int, int], int] = {}
    distinct: dict[str, int] = {}
    for path in (p for p in package.directory.rglob("*") if p.is_file()):
        stat = path.stat()
        stored[(stat.st_dev, stat.st_ino)] = stat.st_size
        distinct[sha256_file(path)] = stat.st_size
    assert sum(stored.values()) <= 1.1 * sum(distinct.values()), f"{sum(stored.values())} bytes for {sum(distinct.values())}"
    assert package.bytes == sum(stored.values()) - (package.directory / "SHA256SUMS").stat().st_size  # as reported
    with tarfile.open(package.archive) as tar:
        members = tar.getmembers()
    assert sum(m.size for m in members if m.isfile()) <= 1.1 * sum(distinct.values())
    assert {m.name.split("/")[1] for m in members if m.islnk()} == {"triton"}
    manifest = Manifest.load(package.directory)
    weights = manifest.variant("onnx-fp16-static").weights
    assert weights is not None and weights.path in read_sums(package.directory)


def test_a_target_gets_what_it_runs_best_and_is_told_what_was_left_out(partly_validated_bert, tmp_path):  # type: ignore[no-untyped-def]
    cli = CliRunner().invoke(app, ["package", str(partly_validated_bert), "-o", str(tmp_path / "ascend"), "--target", "ascend",
                                   "--no-archive", "--json"])
    assert cli.exit_code == 0, cli.output
    decisions = {d["variant"]: d for d in json.loads(cli.output)["target"]}
    assert [v for v, d in decisions.items() if d["chosen"]] == ["onnx-fp16-static"]
    assert "ATC" in decisions["onnx-fp16-static"]["why"]
    assert decisions["onnx-int8-dynamic"]["why"] == "ascend runs onnx-fp16-static better"
    assert decisions["torchscript-fp16-dynamic"]["why"] == "no passing validation on cpu"
    ascend = Manifest.load(tmp_path / "ascend")
    assert [v.id for v in ascend.variants] == ["onnx-fp16-static"] and (tmp_path / "ascend" / "atc" / "onnx-fp16-static.gears.sh").is_file()
    cpu = build_package(partly_validated_bert, tmp_path / "cpu", target="cpu", archive=False)
    assert cpu.variants == ["onnx-int8-dynamic"]
    assert "no bench records" in next(d.why for d in cpu.choices if d.chosen)
    assert build_package(partly_validated_bert, tmp_path / "cuda", target="cuda", archive=False).variants == ["onnx-fp32-dynamic"]
    with pytest.raises(InputError, match="give --target or --variants, not both"):
        build_package(partly_validated_bert, tmp_path / "x", target="cpu", variants=["onnx-fp32-dynamic"])


def test_cpu_ranks_by_engine_speed_on_the_verdicts_class_and_skips_what_is_slower_than_eager(partly_validated_bert,  # type: ignore[no-untyped-def]
                                                                                            tmp_path):
    """Bench records written as `npuport bench` writes them: int8 wins end to end (avoided padding) but is slower than
    eager fp32 engine-only, so fp32 ships; a record from another CPU class says nothing here."""
    root = Path(shutil.copytree(partly_validated_bert, tmp_path / "bert"))
    manifest = Manifest.load(root)
    verdict = manifest.verdict(manifest.variant("onnx-fp32-dynamic"), "cpu")
    assert verdict is not None and verdict.platform is not None

    def record(variant: str, end_to_end: float, engine: float, cpu: str) -> dict[str, object]:
        latency = {"calls": 1, "mean_ms": 1.0, "p50_ms": 1.0, "p90_ms": 1.0, "p99_ms": 1.0, "min_ms": 1.0, "max_ms": 1.0,
                   "total_s": 1e-3}
        paired = lambda rate, ratio: {"latency": latency, "throughput": rate, "speedup": {"throughput": ratio},  # noqa: E731
                                      "baseline": {"latency": latency, "throughput": rate / ratio}}
        v = manifest.variant(variant)
        return BenchRecord.model_validate({
            "variant": variant, "sha256": v.digest, "format": v.format, "precision": v.precision, "shape": v.shape,
            "device": "cpu", "engine": "onnxruntime", "bytes": v.load_bytes, "max_length": 128, "threads": 1,
            "spinning": {}, "cpu_class": cpu, "loadavg_1min": [0.0, 0.0],
            "first_call": {"verify_s": 0.1, "load_s": 0.1, "first_predict_s": 0.1},
            "memory": {"method": "rss-delta", "mib": 1.0, "covers": "load"}, "parity": manifest.parity(v, "cpu"),
            "batch_size": 16, "texts": 16, "calls": 1, **paired(end_to_end * 10, end_to_end),
            "engine_only": paired(engine * 10, engine), "slower_than_baseline": engine < 1,
            "created": "2026-01-01T00:00:00+00:00", "text_source": "bundled corpus (en)",
            "run": "2026-01-01T00:00:00.000000+00:00"}).model_dump()

    here = verdict.platform.cpu_class
    records = [record("onnx-fp32-dynamic", 3.0, 1.2, here), record("onnx-int8-dynamic", 6.0, 0.8, here),
               record("onnx-fp16-static", 9.0, 9.0, "x86-64-other")]
    (root / "reports").mkdir(exist_ok=True)
    (root / "reports" / "bench-cpu.json").write_text(json.dumps({"records": records}), encoding="utf-8")
    cpu = build_package(root, tmp_path / "cpu", target="cpu", archive=False)
    assert cpu.variants == ["onnx-fp32-dynamic"]
    why = next(d.why for d in cpu.choices if d.chosen)
    assert "fastest engine-only" in why and "1.20× eager" in why and "never chosen, slower than eager fp32: onnx-int8-dynamic" in why
