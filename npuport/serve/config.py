"""Serving settings: batching, queue bound and request limits, checked once, and fitted to the variant's buckets.

No web-framework import here, so the CLI can check options before anything heavy is loaded.
"""

from __future__ import annotations

from dataclasses import dataclass

from npuport.errors import InputError
from npuport.manifest import Variant

DYNAMIC_MAX_BATCH = 16  # a dynamic variant has no largest bucket; 16 texts is where ORT on CPU stops gaining much


@dataclass(frozen=True)
class Limits:
    """What one POST /predict may carry. Bounds memory together with the queue bound."""

    max_texts: int = 64
    max_chars: int = 5000  # far beyond any model's max_length in tokens; stops megabyte texts from tying up tokenization

    @property
    def max_body_bytes(self) -> int:
        """The largest body a request within the limits can have: JSON may escape every character as \\uXXXX
        (6 bytes; 12 for a surrogate pair of 2 characters), plus quotes, commas and the other fields."""
        return self.max_texts * (self.max_chars * 6 + 8) + 4096


@dataclass(frozen=True)
class ServeConfig:
    max_batch_size: int | None = None  # texts per inference; None: the variant's largest bucket batch (static) or 16
    max_wait_ms: float = 2.0  # how long the oldest queued request may wait for others to join its batch
    max_queue: int = 1024  # texts waiting for a batch; a request that would exceed it gets 429
    limits: Limits = Limits()
    warmup: bool = True

    def check(self) -> ServeConfig:
        for name, value, least in (("max_batch_size", self.max_batch_size, 1), ("max_queue", self.max_queue, 1),
                                   ("max_texts", self.limits.max_texts, 1), ("max_chars", self.limits.max_chars, 1)):
            if value is not None and value < least:
                raise InputError(f"{name} must be at least {least}, got {value}")
        if not 0 <= self.max_wait_ms <= 10_000:
            raise InputError(f"max_wait_ms must be between 0 and 10000, got {self.max_wait_ms}")
        if self.limits.max_texts > self.max_queue:
            raise InputError(f"max_texts ({self.limits.max_texts}) exceeds max_queue ({self.max_queue}): "
                             "a request that large could never be queued")
        return self


def fitted_batch_size(variant: Variant, requested: int | None) -> tuple[int, str]:
    """Texts per inference for `variant`, and why.

    A static variant runs every batch padded up to a bucket, so coalescing up to its largest bucket's batch is
    free and going beyond it only splits into more runs: that batch is both the default and the cap.
    """
    if variant.shape == "static" and variant.buckets:
        largest = max(b.batch for b in variant.buckets)
        if requested is None:
            return largest, f"the largest bucket batch of {variant.id}"
        if requested > largest:
            return largest, f"capped at the largest bucket batch of {variant.id} (asked for {requested})"
        return requested, "asked for"
    if requested is None:
        return DYNAMIC_MAX_BATCH, "default for a dynamic-shape variant"
    return requested, "asked for"
