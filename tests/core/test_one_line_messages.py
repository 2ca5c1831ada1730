"""Inputs that used to fail late or in several lines fail at once in one clear line (issue 15, item 12): a bucket
spec of absurd size, `verify` of a missing, empty or non-gzip file, `validate --report` naming a file."""

from __future__ import annotations

import gzip
import time

import pytest
from cli_runner import npuport  # type: ignore[import-not-found]

from npuport.core.archive import safe_extract, unpacked
from npuport.core.buckets import parse_buckets
from npuport.core.errors import BucketError, InputError, IntegrityError, ManifestError
from npuport.core.manifest import MAX_BATCH, MAX_SEQ, Bucket
from npuport.package.verify import verify_package
from npuport.validate.gate import validate_artifacts


@pytest.mark.parametrize("spec", ["99999999999999999999x64", f"{MAX_BATCH + 1}x64", f"1x{MAX_SEQ + 1}", "1x" + "9" * 5000])
def test_an_absurd_bucket_is_refused_when_parsed(spec):
    """`--buckets 99999999999999999999x64` was accepted and failed 69 s later."""
    with pytest.raises(BucketError, match=rf"bad bucket .*: a bucket holds at most {MAX_BATCH} texts of {MAX_SEQ} tokens$") as info:
        parse_buckets(spec)
    assert len(str(info.value)) < 200
    assert parse_buckets(f"{MAX_BATCH}x{MAX_SEQ},1x64") == [Bucket(batch=1, seq=64), Bucket(batch=MAX_BATCH, seq=MAX_SEQ)]


def test_convert_refuses_an_absurd_bucket_before_any_work(tiny_model, tmp_path):
    model_dir = tiny_model("bert")
    started = time.perf_counter()
    cli = npuport("convert", model_dir, "-o", tmp_path / "out", "--buckets", "99999999999999999999x64")
    assert cli.returncode == 5 and cli.stderr.strip() == \
        "error: bad bucket '99999999999999999999x64': a bucket holds at most 4096 texts of 65536 tokens"
    assert time.perf_counter() - started < 30 and not (tmp_path / "out").exists()


def test_verify_of_a_missing_path_says_it_does_not_exist(tmp_path):
    """It said "no manifest.json", as if the path were a directory missing its manifest."""
    for missing in (tmp_path / "nope.tar.gz", tmp_path / "nope"):
        with pytest.raises(ManifestError, match=f"^{missing} does not exist$"):
            verify_package(missing)
        with pytest.raises(ManifestError, match="does not exist$"):
            unpacked(missing)
    cli = npuport("verify", tmp_path / "nope.tar.gz")
    assert cli.returncode == 4 and cli.stderr == f"error: {tmp_path / 'nope.tar.gz'} does not exist\n"


@pytest.mark.parametrize(("content", "reason"), [
    (b"", "is empty: not a .tar.gz package"),
    (b"hello\n", "is not a readable .tar.gz package: not a gzip file"),
    (gzip.compress(b"not a tar archive at all" * 40), "is not a readable .tar.gz package: "),
    (gzip.compress(b"x" * 4096)[:-12], "is not a readable .tar.gz package: "),
    (gzip.compress(b"x" * 4096)[:10] + b"\xff" * 40, "is not a readable .tar.gz package: "),
], ids=["empty", "not-gzip", "gzip-not-tar", "truncated", "corrupt-deflate"])
def test_an_unreadable_archive_is_one_line(tmp_path, content, reason):
    """`verify` of a non-gzip or empty file printed five lines (one per method tarfile tried)."""
    archive = tmp_path / "bad.tar.gz"
    archive.write_bytes(content)
    with pytest.raises(IntegrityError, match=f"^{archive} {reason}") as info:
        safe_extract(archive, tmp_path / "out")
    assert "\n" not in str(info.value) and len(str(info.value)) < 400


def test_verify_cli_of_a_non_gzip_file_is_one_line(tmp_path):
    archive = tmp_path / "bad.tar.gz"
    archive.write_bytes(b"hello\n")
    cli = npuport("verify", archive)
    assert cli.returncode == 4 and cli.stderr == f"error: {archive} is not a readable .tar.gz package: not a gzip file\n"


@pytest.mark.parametrize("kind", ["file", "below-a-file"])
def test_validate_checks_the_report_directory_before_validating(bert_copy, tmp_path, monkeypatch, kind):
    """`validate --report FILE` failed only after the whole validation."""
    report = tmp_path / "report.txt"
    report.write_text("not a directory")
    target = report if kind == "file" else report / "sub"

    def never(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise AssertionError("validated before checking where the reports go")

    monkeypatch.setattr("npuport.validate.gate.validate_variant", never)
    manifest = (bert_copy / "manifest.json").read_bytes()
    message = "is a file, not a directory" if kind == "file" else "cannot write reports to .*: Not a directory"
    with pytest.raises(InputError, match=f"report directory {report} {message}$" if kind == "file" else message):
        validate_artifacts(bert_copy, variants=["onnx-fp32-dynamic"], report_dir=target)
    assert (bert_copy / "manifest.json").read_bytes() == manifest and report.read_text() == "not a directory"
