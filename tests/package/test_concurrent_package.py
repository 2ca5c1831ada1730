"""Two `npuport package` runs into one target: one run at a time (`.<name>.lock` beside the target), so what is left
is one run's directory with that same run's tarball, and `verify` passes on both."""

from __future__ import annotations

import os
import subprocess
import tarfile

import pytest
from cli_runner import NPUPORT, cli_env, npuport  # type: ignore[import-not-found]

from npuport.core.files import directory_lock
from npuport.core.manifest import Manifest
from npuport.package.verify import verify_package
from npuport.validate.gate import validate_artifacts

VARIANTS = ("onnx-fp32-dynamic", "onnx-int8-dynamic")
BUSY = r"error: package {target} is being written by another npuport run \(pid {pid}\); wait for it to finish or stop it, then run again"


@pytest.fixture
def validated(bert_copy):  # type: ignore[no-untyped-def]
    assert validate_artifacts(bert_copy, variants=list(VARIANTS)).passed
    return bert_copy


def test_two_package_runs_into_one_target_leave_one_runs_directory_and_tarball(validated, tmp_path):
    target = tmp_path / "dist" / "tiny"
    runs = [subprocess.Popen([*NPUPORT, "package", str(validated), "-o", str(target), "--variants", variant],
                             env=cli_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            for variant in VARIANTS]
    outcomes = [(run.wait(timeout=300), run.stderr.read() if run.stderr else "") for run in runs]
    assert any(code == 0 for code, _ in outcomes), outcomes
    for run, (code, stderr) in zip(runs, outcomes, strict=True):
        if code != 0:  # refused at once, naming the run that holds the target
            other = next(r for r in runs if r is not run)
            assert code == 7 and stderr.strip().splitlines() == [stderr.strip()], stderr
            assert __import__("re").fullmatch(BUSY.format(target=target, pid=other.pid), stderr.strip()), stderr
    shipped = [v.id for v in Manifest.load(target).variants]
    assert shipped in ([VARIANTS[0]], [VARIANTS[1]])
    with tarfile.open(target.with_name("tiny.tar.gz")) as tar:  # the tarball comes from the run that built the directory
        packed = {m.name.removeprefix("tiny/"): tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}  # type: ignore[union-attr]
    assert packed == {p.relative_to(target).as_posix(): p.read_bytes() for p in target.rglob("*") if p.is_file()}
    assert verify_package(target).passed and verify_package(target.with_name("tiny.tar.gz")).passed
    assert sorted(p.name for p in target.parent.iterdir()) == ["tiny", "tiny.tar.gz"]  # no staging, no lock left


def test_a_package_run_is_refused_at_once_while_another_holds_the_target(validated, tmp_path):
    target = tmp_path / "dist" / "tiny"
    with directory_lock(target, f"package {target}"):
        assert (target.parent / ".tiny.lock").is_file()
        result = npuport("package", validated, "-o", target, "--variants", VARIANTS[0])
    assert result.returncode == 7
    assert __import__("re").fullmatch(BUSY.format(target=target, pid=os.getpid()), result.stderr.strip()), result.stderr
    assert sorted(p.name for p in target.parent.iterdir()) == []
