"""Session-scoped tiny models of every supported architecture, built offline, and their converted artifacts."""

from __future__ import annotations

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
