"""Publishing a conversion is atomic: at every step a manifest is present and every file it lists matches, a crash
(kill -9) at any step leaves a directory `load` uses as it is, and a re-run takes over what the crash left.

Faults are injected at each file-system mutation of `publish` (rename/replace/link/unlink/rmdir), the way kill -9
stops a process: the operation does not happen and nothing after it runs."""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from npuport.convert.pipeline import _check_output, convert_model
from npuport.convert.plan import ConvertOptions
from npuport.convert.publish import WORK_DIR, publish
from npuport.core.errors import ManifestError
from npuport.core.files import fresh_directory
from npuport.core.manifest import Manifest
from npuport.runtime import load

SMALL = ConvertOptions(formats=("onnx",), precisions=("fp32",), shapes=("dynamic",))
WITH_INT8 = ConvertOptions(formats=("onnx",), precisions=("fp32", "int8"), shapes=("dynamic",))
TEXT = ["the service was quick and friendly"]
MUTATIONS = ("replace", "rename", "link", "unlink", "rmdir")


class Killed(BaseException):
    """Stands for kill -9: not an Exception, so no handler on the way out cleans anything up."""


@contextlib.contextmanager
def faults(kill_at: int | None = None, before_each: Callable[[], None] | None = None) -> Iterator[list[int]]:
    """Count file-system mutations; raise Killed instead of the `kill_at`-th; call `before_each` before each."""
    count = [0]
    real = {name: getattr(os, name) for name in MUTATIONS}
    busy = [False]

    def wrap(name: str) -> Callable[..., object]:
        def op(*args: object, **kwargs: object) -> object:
            if busy[0]:
                return real[name](*args, **kwargs)
            count[0] += 1
            busy[0] = True
            try:
                if before_each is not None:
                    before_each()
            finally:
                busy[0] = False
            if count[0] == kill_at:
                raise Killed(f"killed before mutation {kill_at} ({name} {args[0]})")
            return real[name](*args, **kwargs)
        return op

    try:
        for name in MUTATIONS:
            setattr(os, name, wrap(name))
        yield count
    finally:
        for name, function in real.items():
            setattr(os, name, function)


@pytest.fixture(autouse=True)
def no_fsync(monkeypatch):  # type: ignore[no-untyped-def]
    """fsync orders writes against a power cut, which a kill does not need; hundreds of them cost seconds here."""
    monkeypatch.setattr(os, "fsync", lambda fd: None)


def _content(manifest: Manifest) -> tuple:  # type: ignore[type-arg]
    """What a manifest vouches for, blind to where a file sits (the transitional manifest points at links)."""
    return (manifest.source, sorted(r.sha256 for r in manifest.tokenizer.files), manifest.golden.inputs.sha256,
            manifest.golden.reference.sha256, {v.id: [f.sha256 for f in v.files] for v in manifest.variants})


def _scores(root: Path) -> dict[str, float]:
    with load(root) as classifier:
        return classifier.predict(TEXT)[0].scores


@pytest.fixture(scope="module")
def scenarios(tiny_model, tmp_path_factory):  # type: ignore[no-untyped-def]
    """Artifacts before (bert, fp32 + int8, with a report) and two conversions to publish over them: another model
    (every file changes, the tokenizer's file set too, int8 goes) and the same files without int8 (nothing changes,
    one variant goes: what re-converting the same model with fewer precisions gives)."""
    root = tmp_path_factory.mktemp("publish")
    old = convert_model(tiny_model("bert"), root / "old", WITH_INT8, isolate=False).manifest
    (root / "old/reports").mkdir()
    (root / "old/reports/validation-cpu.json").write_text('{"kept": true}')
    fewer = old.model_copy(update={"variants": [old.variant("onnx-fp32-dynamic")], "validations": []})
    for record in fewer.all_files():
        (root / "bert" / record.path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(root / "old" / record.path, root / "bert" / record.path)
    built = {"roberta": convert_model(tiny_model("roberta"), root / "roberta", SMALL, isolate=False).manifest, "bert": fewer}
    fewer.save(root / "bert")
    scores = {name: _scores(root / name) for name in ("old", "roberta", "bert")}
    return root, old, built, scores


def _setup(root: Path, name: str, out: Path, with_old: bool = True) -> Path:
    """`out` as the old artifacts (or empty), with `.staging` holding `name`'s files as convert leaves them."""
    if with_old:
        shutil.copytree(root / "old", out)
    staging = fresh_directory(out / ".staging")
    shutil.copytree(root / name, staging, dirs_exist_ok=True, ignore=shutil.ignore_patterns("manifest.json", "reports"))
    return staging


def _assert_published(out: Path, new: Manifest, reports: bool = True) -> None:
    assert Manifest.load(out) == new
    new.verify_files(out)
    left = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert left == sorted({r.path for r in new.all_files()} | {"manifest.json"} | ({"reports/validation-cpu.json"} if reports else set()))
    assert not (out / WORK_DIR).exists() and not (out / ".staging").exists()


@pytest.mark.parametrize("name", ["roberta", "bert"])
def test_every_instant_of_a_publish_has_a_manifest_whose_files_match(scenarios, tmp_path, name):
    root, old, built, _ = scenarios
    out = tmp_path / "out"
    staging = _setup(root, name, out)
    seen = set()

    def invariant() -> None:
        manifest = Manifest.load(out)  # never missing: the window was here
        manifest.verify_files(out)
        seen.add(_content(manifest) == _content(old))

    with faults(before_each=invariant) as count:
        publish(staging, out, built[name])
    assert count[0] > 10
    _assert_published(out, built[name])
    assert (out / "reports/validation-cpu.json").read_text() == '{"kept": true}'


@pytest.mark.parametrize("name", ["roberta", "bert"])
def test_a_kill_at_any_publish_step_leaves_a_loadable_directory_and_a_rerun_takes_over(scenarios, tiny_model, tmp_path, name):
    root, old, built, scores = scenarios
    new = built[name]
    with faults() as count:
        publish(_setup(root, name, tmp_path / "dry"), tmp_path / "dry", new)
    for step in range(1, count[0] + 1):
        out = tmp_path / f"killed-{step}"
        staging = _setup(root, name, out)
        with faults(kill_at=step), pytest.raises(Killed):
            publish(staging, out, new)
        manifest = Manifest.load(out)
        manifest.verify_files(out)
        assert _content(manifest) in (_content(old), _content(new)), step
        assert _scores(out) in (scores["old"], scores[name]), step
        assert (out / "reports/validation-cpu.json").is_file()
        _check_output(out)  # the re-run accepts the directory
        publish(_setup(root, name, out, with_old=False), out, new)  # and publishes over what the kill left
        _assert_published(out, new)
    if name != "roberta":
        return
    # one real re-run of convert over a directory killed mid-publish
    out = tmp_path / "convert-again"
    with faults(kill_at=count[0] // 2), pytest.raises(Killed):
        publish(_setup(root, name, out), out, new)
    again = convert_model(tiny_model(name), out, SMALL, isolate=False).manifest
    assert _content(again) == _content(new)
    _assert_published(out, again)


def test_a_first_conversion_killed_while_publishing_is_taken_over_by_the_rerun(scenarios, tmp_path):
    """No manifest existed: the journal written before the first file lands marks the directory as convert's own
    (the old code refused such a directory: "non-empty directory without an npuport manifest")."""
    root, _, built, _ = scenarios
    new = built["roberta"]
    with faults() as count:
        publish(_setup(root, "roberta", tmp_path / "dry", with_old=False), tmp_path / "dry", new)
    for step in range(1, count[0] + 1):
        out = tmp_path / f"killed-{step}"
        out.mkdir()
        with faults(kill_at=step), pytest.raises(Killed):
            publish(_setup(root, "roberta", out, with_old=False), out, new)
        try:
            Manifest.load(out).verify_files(out)  # a manifest, if any, is the new one, complete
        except ManifestError:
            assert not (out / "manifest.json").exists()
        _check_output(out)
        publish(_setup(root, "roberta", out, with_old=False), out, new)
        _assert_published(out, new, reports=False)
