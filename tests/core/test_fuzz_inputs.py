"""Fuzz-style robustness (issue 15): a few hundred generated bad inputs — text files with odd bytes, encodings and JSON
shapes; manifests with random field corruptions; artifacts and packages (directories and tarballs) with damage — fed
to the loaders (`read_texts`, `read_jsonl`, `Manifest.load`, `read_config`, `npuport.runtime.load`, `verify_package`). Model directories' config.json get the same corruptions (`read_config`, a few through `load_source`). Each either
succeeds or raises an NpuportError whose message is one line (no newline, under 400 characters); the artifacts they
were copied from are unchanged. Seeded and bounded: the same cases every run, a few seconds in all.

(The serve JSON body fuzzing lives with the server's tests.)"""

from __future__ import annotations

import codecs
import copy
import gzip
import hashlib
import io
import json
import os
import random
import shutil
import tarfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from npuport.core.errors import NpuportError
from npuport.core.manifest import MANIFEST_NAME, Manifest
from npuport.core.texts import read_texts
from npuport.evaluate.data import read_jsonl
from npuport.model.config import read_config
from npuport.model.source import load_source
from npuport.package.bundle import build_package
from npuport.package.verify import verify_package
from npuport.runtime import load
from npuport.validate.gate import validate_artifacts

SEED = int(os.environ.get("NPUPORT_FUZZ_SEED", "15"))  # fixed; set another to explore beyond the suite's cases
VARIANT = "onnx-fp32-dynamic"
BUDGET_S = 60  # a hard ceiling far above the few seconds it takes, so a slow machine does not fail it
NASTY: list[Any] = [
    None, True, False, -1, 0, 1, 2**63, 10**30, 1e308, float("nan"), float("inf"), "", " ", "x" * 5000, "../x/evil.json",
    "/etc/passwd", "C:\\evil.onnx", "a\nb", "\ud800", "fp8", "0" * 64, [], {}, [1, "a", None], {"a": 1}, [[[[[]]]]],
]
ODD_TEXT = ["\u2028", "\u2029", "\x85", "\x00", "\r", "\x1b[31m", "\ufeff", "\U0001f600", "e\u0301", "\u202e", "汉字",
            "\udcff", " ", "\t", "\\", '"', "{", "}"]


# --- one check for every case ----------------------------------------------------------------------------------------

class Cases:
    """Runs cases, collecting what a case did that it must not: any exception other than an NpuportError, or a message
    that is not one short line. Reports them all at the end, so one run shows every problem."""

    def __init__(self) -> None:
        self.problems: list[str] = []
        self.outcomes = {"ok": 0, "refused": 0}
        self.started = time.perf_counter()

    def run(self, name: str, call: Callable[[], object], check: Callable[[Any], None] | None = None) -> None:
        try:
            result = call()
        except NpuportError as exc:
            message = str(exc)
            if "\n" in message or "\r" in message or len(message) >= 400 or not message.strip():
                self.problems.append(f"{name}: {type(exc).__name__} not one short line: {message[:600]!r}")
            self.outcomes["refused"] += 1
        except Exception as exc:  # noqa: BLE001 - any other type is the finding
            self.problems.append(f"{name}: {type(exc).__name__}: {str(exc)[:300]!r}")
        else:
            self.outcomes["ok"] += 1
            if check is not None:
                try:
                    check(result)
                except Exception as exc:  # noqa: BLE001
                    self.problems.append(f"{name}: accepted, but {type(exc).__name__}: {str(exc)[:300]!r}")

    def done(self, at_least: int) -> None:
        assert not self.problems, f"{len(self.problems)} cases misbehaved:\n" + "\n".join(self.problems[:40])
        assert sum(self.outcomes.values()) >= at_least, self.outcomes
        assert time.perf_counter() - self.started < BUDGET_S


def tree_digest(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


# --- text files -------------------------------------------------------------------------------------------------------

def _odd_line(rng: random.Random) -> str:
    return "".join(rng.choice(ODD_TEXT + ["a", "b", "hello"]) for _ in range(rng.randint(0, 6)))


def _json_line(rng: random.Random) -> str:
    shapes = [
        lambda: json.dumps({"text": _odd_line(rng)}, ensure_ascii=rng.random() < 0.5),
        lambda: json.dumps({"text": rng.choice(NASTY), "labels": rng.choice(NASTY)}),
        lambda: json.dumps({"text": "ok", "labels": rng.choice([["joy"], "joy", ["nope"], [1], "", None, ["joy", "joy"]])}),
        lambda: json.dumps(rng.choice(NASTY)),
        lambda: '{"text": "' + rng.choice(["\\ud800", "\\udfff x", "ok \\ud83d", "\\u0000", "\\u2028"]) + '"}',
        lambda: "[" * rng.choice([10, 5000]) + "]" * rng.choice([0, 10]),
        lambda: '{"text": ' + "1" * rng.choice([10, 5000]) + "}",
        lambda: '{"text": "unterminated',
        lambda: '{"text": NaN}',
        lambda: json.dumps({"text": "ok"})[: rng.randint(0, 12)],
    ]
    return rng.choice(shapes)()


def text_file_cases(rng: random.Random, count: int) -> Iterator[tuple[str, str, bytes]]:
    """(name, suffix, content) of odd text files: random bytes, odd characters in odd encodings, odd JSON shapes."""
    encodings = ["utf-8", "utf-8-sig", "utf-16", "utf-16-be", "utf-32", "latin-1", "gb18030", "cp1252"]
    for index in range(count):
        kind = index % 4
        suffix = rng.choice([".txt", ".jsonl"])
        if kind == 0:
            content = bytes(rng.randrange(256) for _ in range(rng.randint(0, 120)))
        elif kind == 1:
            text = rng.choice(["\n", "\r\n", "\r", "\u2028"]).join(_odd_line(rng) for _ in range(rng.randint(0, 5)))
            content = codecs.encode(text, rng.choice(encodings), errors="replace") if "\udcff" not in text else \
                text.encode("utf-8", errors="surrogatepass")
        else:
            suffix = ".jsonl"
            content = rng.choice(["\n", "\r\n", "\n\n"]).join(_json_line(rng) for _ in range(rng.randint(1, 4))) \
                .encode("utf-8", errors="surrogatepass")
        yield f"text-{index}-{kind}{suffix}", suffix, content


def _texts_ok(texts: list[str]) -> None:
    assert texts and all(isinstance(t, str) and t.strip() for t in texts)
    for text in texts:
        text.encode("utf-8")  # no lone surrogate reaches a tokenizer


def test_fuzzed_text_files(tmp_path):
    rng, cases = random.Random(SEED), Cases()
    for name, suffix, content in text_file_cases(rng, 240):
        path = tmp_path / name
        path.write_bytes(content)
        cases.run(name, lambda: read_texts(path), _texts_ok)
        if suffix == ".jsonl":
            cases.run(f"{name} (labelled)", lambda: read_jsonl(path, ["joy", "anger"]), lambda data: _texts_ok(data.texts))
    cases.done(at_least=300)
    assert cases.outcomes["ok"] > 0 and cases.outcomes["refused"] > 100, cases.outcomes


# --- manifests --------------------------------------------------------------------------------------------------------

def _locations(node: Any, at: tuple = ()) -> Iterator[tuple]:  # type: ignore[type-arg]
    yield at
    children = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, child in children:
        yield from _locations(child, (*at, key))


def _parent(raw: Any, at: tuple) -> Any:  # type: ignore[type-arg]
    for key in at[:-1]:
        raw = raw[key]
    return raw


def corrupt_json(raw: dict, rng: random.Random) -> tuple[str, bytes]:  # type: ignore[type-arg]
    """One random corruption of a JSON document (a manifest, a config.json): a field set to a nasty value, deleted or
    added, or the bytes damaged."""
    raw = copy.deepcopy(raw)
    at = rng.choice([loc for loc in _locations(raw) if loc])
    how = rng.choice(["set", "set", "set", "delete", "add", "bytes"])
    if how == "set":
        _parent(raw, at)[at[-1]] = copy.deepcopy(rng.choice(NASTY))
    elif how == "delete":
        del _parent(raw, at)[at[-1]]
    elif how == "add":
        target = _parent(raw, at)
        if isinstance(target, dict):
            target[rng.choice(["surprise", "../x", "", "path"])] = rng.choice(NASTY)
        else:
            target.append(copy.deepcopy(rng.choice(NASTY)))
    text = json.dumps(raw, indent=1)
    data = text.encode("utf-8", errors="surrogatepass")
    if how == "bytes":
        data = bytearray(data)
        position = rng.randrange(len(data))
        damage = rng.choice(["truncate", "flip", "insert"])
        if damage == "truncate":
            data = data[:position]
        elif damage == "flip":
            data[position] ^= 1 << rng.randrange(8)
        else:
            data[position:position] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 4)))
        return f"bytes-{damage}@{position}", bytes(data)
    return f"{how}:{'.'.join(map(str, at))}", data


@pytest.fixture(scope="module")
def pristine(converted, tmp_path_factory) -> Path:  # type: ignore[no-untyped-def]
    """The tiny bert's artifacts cut down to one variant (small to copy for every case); the conversion is untouched."""
    source = converted("bert").root
    before = tree_digest(source)
    root = tmp_path_factory.mktemp("fuzz") / "artifacts"
    manifest = Manifest.load(source)
    kept = manifest.model_copy(update={"variants": [manifest.variant(VARIANT)], "validations": []})
    for record in kept.all_files():
        (root / record.path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source / record.path, root / record.path)
    kept.save(root)
    yield root
    assert tree_digest(source) == before, "the fuzzing changed the converted artifacts it copied"


def test_fuzzed_manifests(pristine, tmp_path):
    rng, cases = random.Random(SEED), Cases()
    raw = json.loads((pristine / MANIFEST_NAME).read_text(encoding="utf-8"))
    for index in range(200):
        name, data = corrupt_json(raw, rng)
        folder = tmp_path / str(index)
        folder.mkdir()
        (folder / MANIFEST_NAME).write_bytes(data)
        cases.run(f"manifest {index} {name}", lambda: Manifest.load(folder))
    cases.done(at_least=200)
    assert cases.outcomes["refused"] > 100, cases.outcomes


def test_fuzzed_model_configs(tiny_model, tmp_path):
    """config.json corrupted like the manifests: read_config on every case, the whole model load on a few."""
    rng, cases = random.Random(SEED), Cases()
    model_dir = shutil.copytree(tiny_model("bert"), tmp_path / "model")
    raw = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
    for index in range(200):
        name, data = corrupt_json(raw, rng)
        (model_dir / "config.json").write_bytes(data)
        cases.run(f"config {index} {name}", lambda: read_config(model_dir))
        if index % 10 == 0:
            cases.run(f"config {index} {name} (load_source)", lambda: load_source(model_dir))
    cases.done(at_least=220)
    assert cases.outcomes["refused"] > 100, cases.outcomes


# --- artifacts directories, loaded -----------------------------------------------------------------------------------

def _rewrite_recorded(root: Path, rel: str, data: bytes) -> None:
    """Replace `rel` and update its sha256 in the manifest: bad bytes the hashes vouch for, so the loader must cope."""
    (root / rel).write_bytes(data)
    raw = json.loads((root / MANIFEST_NAME).read_text(encoding="utf-8"))
    digest = hashlib.sha256(data).hexdigest()

    def fix(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("path") == rel:
                node.update(sha256=digest, bytes=len(data))
            for child in node.values():
                fix(child)
        elif isinstance(node, list):
            for child in node:
                fix(child)

    fix(raw)
    (root / MANIFEST_NAME).write_text(json.dumps(raw), encoding="utf-8")


def damage_directory(root: Path, rng: random.Random, listed: list[str]) -> str:
    """One random damage to a copy of artifacts or a package: a file flipped, cut, removed, replaced by a folder, an
    extra file beside the tokenizer's, or garbage whose sha256 the manifest is made to vouch for."""
    rel = rng.choice(listed)
    path = root / rel
    how = rng.choice(["flip", "truncate", "delete", "folder", "extra", "vouched", "vouched", "vouched"])
    if how == "flip":
        data = bytearray(path.read_bytes())
        if data:
            data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
        path.write_bytes(bytes(data))
    elif how == "truncate":
        path.write_bytes(path.read_bytes()[: rng.randrange(max(1, path.stat().st_size))])
    elif how == "delete":
        path.unlink()
    elif how == "folder":
        path.unlink()
        path.mkdir()
    elif how == "extra":
        rel = rng.choice(["tokenizer/added_tokens.json", "tokenizer/vocab.txt", "tokenizer/.hidden", "tokenizer/sub/x.json"])
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(json.dumps({"happy": 3}))
    else:
        garbage = rng.choice([b"", b"{}", b"[1, 2]", b'{"model": {"type": "WordPiece"}}', b"\x00" * 64,
                              bytes(rng.randrange(256) for _ in range(200)), path.read_bytes()[: path.stat().st_size // 2]])
        if rel != MANIFEST_NAME:
            _rewrite_recorded(root, rel, garbage)
    return f"{how}:{rel}"


def _predicts(classifier: Any) -> None:
    with classifier:
        (prediction,) = classifier.predict(["I am so happy today!"])
        assert set(prediction.scores) == set(classifier.labels)


def _load(target: Path) -> Any:
    return load(target)


def test_fuzzed_artifacts_directories_load_or_refuse(pristine, tmp_path):
    rng, cases = random.Random(SEED), Cases()
    manifest = Manifest.load(pristine)
    listed = [record.path for record in manifest.all_files()]
    raw = json.loads((pristine / MANIFEST_NAME).read_text(encoding="utf-8"))
    for index in range(60):
        root = shutil.copytree(pristine, tmp_path / str(index))
        if index % 2:
            name, data = corrupt_json(raw, rng)
            (root / MANIFEST_NAME).write_bytes(data)
        else:
            name = damage_directory(root, rng, listed)
        cases.run(f"artifacts {index} {name}", lambda: _load(root), _predicts)
        shutil.rmtree(root)
    cases.done(at_least=60)
    assert cases.outcomes["refused"] > 30, cases.outcomes


# --- packages: directories and tarballs ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def package(pristine, tmp_path_factory) -> Path:  # type: ignore[no-untyped-def]
    source = shutil.copytree(pristine, tmp_path_factory.mktemp("fuzz-src") / "artifacts")
    assert validate_artifacts(source, variants=[VARIANT]).passed
    result = build_package(source, tmp_path_factory.mktemp("fuzz-dist") / "tiny", archive=True)
    assert result.archive is not None
    return result.directory


def _tarball(path: Path, members: list[tuple[tarfile.TarInfo, bytes | None]]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for info, data in members:
            if data is not None:
                info.size = len(data)
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return buffer.getvalue()


def damage_tarball(good: bytes, package: Path, rng: random.Random) -> tuple[str, bytes]:
    how = rng.choice(["truncate", "flip", "append", "prepend", "random", "gzip-random", "plain-tar", "members"])
    if how == "truncate":
        return how, good[: rng.randrange(len(good))]
    if how == "flip":
        data = bytearray(good)
        position = rng.randrange(len(data))
        data[position] ^= 1 << rng.randrange(8)
        return f"{how}@{position}", bytes(data)
    if how == "append":
        return how, good + bytes(rng.randrange(256) for _ in range(rng.randint(1, 600)))
    if how == "prepend":
        return how, bytes(rng.randrange(256) for _ in range(rng.randint(1, 16))) + good
    if how == "random":
        return how, bytes(rng.randrange(256) for _ in range(rng.randint(0, 2000)))
    if how == "gzip-random":
        return how, gzip.compress(bytes(rng.randrange(256) for _ in range(rng.randint(0, 3000))))
    if how == "plain-tar":
        return how, gzip.decompress(good)
    manifest = (package / MANIFEST_NAME).read_bytes()
    evil = rng.choice([
        [(tarfile.TarInfo("tiny/manifest.json"), manifest), (tarfile.TarInfo("tiny/../../evil.txt"), b"x")],
        [(tarfile.TarInfo("/tmp/evil.txt"), b"x")],
        [(tarfile.TarInfo("a/manifest.json"), manifest), (tarfile.TarInfo("b/manifest.json"), manifest)],
        [(tarfile.TarInfo("tiny/manifest.json"), manifest)],
        [(tarfile.TarInfo("tiny/manifest.json"), b"{")],
        [],
    ])
    link = tarfile.TarInfo("tiny/SHA256SUMS")
    link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
    if rng.random() < 0.3:
        evil = [*evil, (link, None)]
    return f"{how}:{[info.name for info, _ in evil]}", _tarball(package, evil)


def test_fuzzed_packages_verify_or_refuse(package, tmp_path):
    rng, cases = random.Random(SEED), Cases()
    listed = sorted(p.relative_to(package).as_posix() for p in package.rglob("*") if p.is_file())
    before = tree_digest(package)
    for index in range(30):
        root = shutil.copytree(package, tmp_path / f"dir{index}")
        name = damage_directory(root, rng, listed)
        cases.run(f"package dir {index} {name} (verify)", lambda: verify_package(root))
        cases.run(f"package dir {index} {name} (load)", lambda: _load(root), _predicts)
        shutil.rmtree(root)
    good = package.with_name(package.name + ".tar.gz").read_bytes()
    for index in range(50):
        name, data = damage_tarball(good, package, rng)
        archive = tmp_path / f"damaged{index}.tar.gz"
        archive.write_bytes(data)
        cases.run(f"tarball {index} {name} (verify)", lambda: verify_package(archive))
        if index % 3 == 0:
            cases.run(f"tarball {index} {name} (load)", lambda: _load(archive), _predicts)
    cases.done(at_least=120)
    assert tree_digest(package) == before
    assert cases.outcomes["refused"] > 80, cases.outcomes
