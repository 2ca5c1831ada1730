"""The one timestamp every record and manifest carries."""

from __future__ import annotations

from datetime import datetime, timezone


def utc_now() -> str:
    """UTC, ISO 8601, whole seconds."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def utc_now_precise() -> str:
    """UTC to the microsecond: a bench run's id (runs in a script follow each other within a second)."""
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")
