"""Session-scoped tiny models of every supported architecture, built offline, and their converted artifacts;
the two views of those artifacts that tests in several directories share.

Helper modules beside this file (cli_runner: the one way to run the CLI; serving: a real uvicorn server) are
importable by name from any test, since pytest puts this directory on sys.path for it. The stand-in `atc`
(package/fake_atc.py) is on PATH through the `atc_env` fixture."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from npuport import zoo
from npuport.convert.pipeline import ConvertResult, convert_model
from npuport.convert.plan import ConvertOptions
from npuport.core.buckets import parse_buckets

ARCHITECTURES = {"bert": "en", "roberta": "en", "distilbert": "en", "structbert": "zh"}
TEST_BUCKETS = tuple(parse_buckets("1x32,4x64,16x64"))


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """tiny_model('roberta') → a decisive tiny model directory (structbert in ModelScope layout)."""
    root = tmp_path_factory.mktemp("models")
    built: dict[str, Path] = {}

    def get(model_type: str) -> Path:
        if model_type not in built:
            spec = zoo.tiny_spec(model_type, ARCHITECTURES[model_type])
            built[model_type] = zoo.build_model_dir(spec, root / model_type)
        return built[model_type]

    return get


@pytest.fixture(scope="session")
def converted(tiny_model: Callable[[str], Path], tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], ConvertResult]:
    """converted('bert') → the full default matrix of a tiny model, with small test buckets."""
    root = tmp_path_factory.mktemp("artifacts")
    results: dict[str, ConvertResult] = {}

    def get(model_type: str) -> ConvertResult:
        if model_type not in results:
            options = ConvertOptions(buckets=TEST_BUCKETS)
            results[model_type] = convert_model(tiny_model(model_type), root / model_type, options, isolate=False)
        return results[model_type]

    return get


@pytest.fixture(scope="session")
def structbert_artifacts(converted: Callable[[str], ConvertResult]) -> str:
    """The shared session conversion of the tiny structbert (zh), as a path string: read-only, never written to."""
    return str(converted("structbert").root)


@pytest.fixture
def bert_copy(converted: Callable[[str], ConvertResult], tmp_path: Path) -> Path:
    """A private copy of the tiny bert's artifacts (without reports/) for a test that writes reports or edits the
    manifest, which the shared conversion must never see."""
    return Path(shutil.copytree(converted("bert").root, tmp_path / "bert", ignore=shutil.ignore_patterns("reports")))


@pytest.fixture(scope="session")
def atc_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """An environment whose PATH finds the stand-in `atc` (package/fake_atc.py, run by this interpreter), with
    SOC_VERSION set as the scripts require."""
    bin_dir = tmp_path_factory.mktemp("atc-bin")
    wrapper = bin_dir / "atc"
    wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{Path(__file__).parent / "package" / "fake_atc.py"}" "$@"\n')
    wrapper.chmod(0o755)
    return os.environ | {"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "SOC_VERSION": "Ascend310P3"}
