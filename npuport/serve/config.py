"""Serving settings: batching, queue bound and request limits, checked once, and fitted to the variant's buckets.

No web-framework import here, so the CLI can check options before anything heavy is loaded.
"""

from __future__ import annotations

from dataclasses import dataclass

from npuport.core.errors import InputError
from npuport.core.manifest import Variant

DYNAMIC_MAX_BATCH = 16  # a dynamic variant has no largest bucket; 16 texts is where ORT on CPU stops gaining much
STATIC_WAIT_MS = 2.0


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
class Timeouts:
    """How long a client may take, in seconds. A slow client holds a connection, and at shutdown the process."""

    head_s: float = 10.0  # connection open (or previous response sent) → the whole request head; beyond it 408
    body_s: float = 20.0  # request head → the whole body (the largest allowed is ~2 MB); beyond it 408
    drain_s: float = 30.0  # SIGTERM → exit: requests still unanswered after it are cancelled

    def check(self) -> None:
        for name, value in (("head_timeout_s", self.head_s), ("body_timeout_s", self.body_s),
                            ("drain_timeout_s", self.drain_s)):
            if not 0 < value <= 3600:
                raise InputError(f"{name} must be more than 0 and at most 3600 seconds, got {value}")


@dataclass(frozen=True)
class ServeConfig:
    max_batch_size: int | None = None  # texts per inference; None: the variant's largest bucket batch (static) or 16
    max_wait_ms: float | None = None  # how long the oldest queued request may wait for others; None: fitted
    max_queue: int = 1024  # texts waiting for a batch; a request that would exceed it gets 429
    limits: Limits = Limits()
    warmup: bool = True
    timeouts: Timeouts = Timeouts()
    model_name: str | None = None  # the v2 endpoints' model name; None: the served directory's name, else "model"

    def check(self) -> ServeConfig:
        for name, value, least in (("max_batch_size", self.max_batch_size, 1), ("max_queue", self.max_queue, 1),
                                   ("max_texts", self.limits.max_texts, 1), ("max_chars", self.limits.max_chars, 1)):
            if value is not None and value < least:
                raise InputError(f"{name} must be at least {least}, got {value}")
        if self.max_wait_ms is not None and not 0 <= self.max_wait_ms <= 10_000:
            raise InputError(f"max_wait_ms must be between 0 and 10000, got {self.max_wait_ms}")
        if self.limits.max_texts > self.max_queue:
            raise InputError(f"max_texts ({self.limits.max_texts}) exceeds max_queue ({self.max_queue}): "
                             "a request that large could never be queued")
        self.timeouts.check()
        return self


@dataclass(frozen=True)
class Batching:
    """What the batcher does for one variant, and why (shown by GET /metadata)."""

    max_batch_size: int
    max_batch_size_because: str
    max_wait_ms: float
    max_wait_ms_because: str


def fit_batching(variant: Variant, config: ServeConfig) -> Batching:
    size, size_because = fitted_batch_size(variant, config.max_batch_size)
    wait, wait_because = fitted_wait_ms(variant, config.max_wait_ms)
    return Batching(size, size_because, wait, wait_because)


def fitted_wait_ms(variant: Variant, requested: float | None) -> tuple[float, str]:
    """How long a batch may wait to fill, and why.

    Dynamic shapes cost in proportion to the rows run, so nothing is gained by waiting: a batch leaves at once
    and the requests arriving while it runs form the next one (batches grow with the load by themselves). A
    static bucket costs the same however few of its rows are real, so a short wait to fill it pays.
    """
    if requested is not None:
        return requested, "asked for"
    if variant.shape == "static" and variant.buckets:
        return STATIC_WAIT_MS, "a static bucket costs the same however few of its rows are filled"
    return 0.0, "dynamic shapes: a batch leaves at once, the next forms while it runs"


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
