"""Fixtures that several convert tests share."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from npuport import zoo


@pytest.fixture(scope="session")
def untrained(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """untrained('albert') → a tiny random model directory of that type (structbert: zh, ModelScope layout)."""
    root = tmp_path_factory.mktemp("untrained")
    built: dict[str, Path] = {}

    def get(model_type: str) -> Path:
        if model_type not in built:
            spec = zoo.tiny_spec(model_type, "zh" if model_type == "structbert" else "en", recipe="none")
            built[model_type] = zoo.build_model_dir(spec, root / model_type)
        return built[model_type]

    return get
