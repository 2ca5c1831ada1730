"""Fixtures for the serve tests: one Classifier loaded per session from the shared structbert artifacts.

The tiny structbert (zh) is the one the runtime and CLI tests use too, so a session converts it once for all."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from npuport.runtime import Classifier, load


@pytest.fixture(scope="session")
def classifier(structbert_artifacts: str) -> Iterator[Classifier]:
    with load(structbert_artifacts) as loaded:
        yield loaded
