"""The one progress protocol: a long-running entry point takes `progress: Progress | None = None` and calls it
with small JSON-ready event dicts (a child process forwards them as lines, see convert.worker):

- `{"event": "total", "steps": N}`: how many steps are coming (absent: the total is unknown);
- `{"event": "start", "label": L}`: step L begins;
- `{"event": "done", "label": L, "steps": K}`: K steps (default 1) are finished.

Torch-free and UI-free: the CLI renders the events; a library caller may pass any callable or None.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

Event = dict[str, Any]
Progress = Callable[[Event], None]


def total(steps: int) -> Event:
    return {"event": "total", "steps": steps}


def start(label: str) -> Event:
    return {"event": "start", "label": label}


def done(label: str | None = None, steps: int = 1) -> Event:
    return {"event": "done", "label": label, "steps": steps}


def _ignore(event: Event) -> None:
    return None


def reporter(progress: Progress | None) -> Progress:
    """`progress`, or a callable that ignores every event (`progress=None` is the default everywhere)."""
    return progress or _ignore


@contextmanager
def step(progress: Progress, label: str) -> Iterator[None]:
    """`start(label)` before the block, `done(label)` after it (not when it raises)."""
    progress(start(label))
    yield
    progress(done(label))
