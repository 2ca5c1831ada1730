"""Fixtures for the serve tests: a tiny model's converted artifacts and one loaded Classifier per session.

The tiny structbert (zh) is the one the runtime tests convert too, so a session builds it once for both."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from npuport.runtime import Classifier, load


@pytest.fixture(scope="session")
def artifacts(converted) -> str:  # type: ignore[no-untyped-def]
    return str(converted("structbert").root)


@pytest.fixture(scope="session")
def classifier(artifacts: str) -> Iterator[Classifier]:
    with load(artifacts) as loaded:
        yield loaded
