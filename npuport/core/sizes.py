"""File sizes as people read them, in one spelling."""

from __future__ import annotations


def megabytes(size: int) -> str:
    return f"{size / 1e6:,.1f} MB"
