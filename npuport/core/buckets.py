"""Shape buckets: one policy shared by convert (static files), runtime (padding/splitting) and validate."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from npuport.core.errors import BucketError
from npuport.core.manifest import MAX_BATCH, MAX_SEQ, Bucket

_BUCKET = re.compile(r"^\s*(\d+)\s*[xX×]\s*(\d+)\s*$")
DEFAULT_BUCKETS = "1x64,1x128,16x128"
# What one more model call costs, in padded tokens: small against a large model's per-token work, about one
# short text's worth for a tiny model (measured: ~0.1 ms per ONNX Runtime call vs ~6 µs per token of a 4-layer
# 256-wide encoder on one core).
CALL_COST_TOKENS = 16


def parse_buckets(spec: str) -> list[Bucket]:
    """'1x64,1x128,16x128' → sorted, de-duplicated buckets; each within MAX_BATCH x MAX_SEQ, checked before any work."""
    buckets: set[Bucket] = set()
    for part in spec.split(","):
        match = _BUCKET.match(part)
        shown = part.strip() if len(part.strip()) <= 40 else part.strip()[:40] + "…"
        batch, seq = (_bounded(match[1]), _bounded(match[2])) if match else (0, 0)
        if batch < 1 or seq < 1:
            raise BucketError(f"bad bucket {shown!r}: expected BATCHxSEQUENCE with positive integers, e.g. 16x128")
        if batch > MAX_BATCH or seq > MAX_SEQ:
            raise BucketError(f"bad bucket {shown!r}: a bucket holds at most {MAX_BATCH} texts of {MAX_SEQ} tokens")
        buckets.add(Bucket(batch=batch, seq=seq))
    if not buckets:
        raise BucketError("no buckets given")
    return sorted(buckets, key=lambda b: (b.seq, b.batch))


def _bounded(digits: str) -> int:
    """The number, or one past any limit for a number too long to convert (Python refuses over 4,300 digits)."""
    return int(digits) if len(digits) <= 12 else 10**12


def check_buckets(buckets: list[Bucket], max_length: int, min_seq: int = 2) -> None:
    for bucket in buckets:
        if bucket.seq > max_length:
            raise BucketError(f"impossible bucket {bucket}: the model accepts at most {max_length} tokens per text")
        if bucket.seq < min_seq:
            raise BucketError(f"impossible bucket {bucket}: a sequence needs room for at least {min_seq} special tokens")


def length_groups(lengths: Sequence[int], call_cost: int = CALL_COST_TOKENS) -> list[tuple[int, int]]:
    """Cut a batch of texts sorted by ascending token length into consecutive groups [start, stop), each to be
    run as one call padded to its longest text, minimising padded tokens plus `call_cost` per call.

    Dynamic-shape variants use it so that 15 short texts and one long one run as two calls, not as 16 rows
    padded to the long one. Exact dynamic programming over the positions where the length changes."""
    if any(b < a for a, b in zip(lengths, lengths[1:])):
        raise BucketError("length_groups needs lengths in ascending order")
    n = len(lengths)
    if n == 0:
        return []
    # A group ends where the next length is larger (or at the end): splitting inside a run of equal lengths never helps.
    ends = [i + 1 for i in range(n) if i + 1 == n or lengths[i + 1] != lengths[i]]
    best = {0: 0}
    cut: dict[int, int] = {}
    for stop in ends:
        best[stop], cut[stop] = min((best[start] + (stop - start) * lengths[stop - 1] + call_cost, start)
                                    for start in [0, *ends] if start < stop)
    groups: list[tuple[int, int]] = []
    stop = n
    while stop:
        groups.append((cut[stop], stop))
        stop = cut[stop]
    return groups[::-1]


@dataclass(frozen=True)
class Chunk:
    """Rows [start, stop) of a batch, to be run in `bucket` (None: dynamic shapes, no padding beyond the batch)."""

    start: int
    stop: int
    bucket: Bucket | None


class BucketPolicy:
    """Static variants: pad a batch up to the smallest bucket that fits, split what exceeds the largest."""

    def __init__(self, buckets: list[Bucket] | None) -> None:
        self.buckets = sorted(buckets or [], key=lambda b: (b.seq, b.batch))

    @property
    def static(self) -> bool:
        return bool(self.buckets)

    @property
    def max_seq(self) -> int | None:
        return max(b.seq for b in self.buckets) if self.buckets else None

    def plan(self, batch: int, seq: int) -> list[Chunk]:
        if batch <= 0:
            return []
        if not self.static:
            return [Chunk(0, batch, None)]
        fitting = [b for b in self.buckets if b.seq >= seq]
        if not fitting:
            raise BucketError(f"a sequence of {seq} tokens fits no bucket (largest: {self.max_seq})")
        largest = max(fitting, key=lambda b: (b.batch, -b.seq))
        chunks: list[Chunk] = []
        start = 0
        while start < batch:
            remaining = batch - start
            roomy = [b for b in fitting if b.batch >= remaining]
            if roomy:
                best = min(roomy, key=lambda b: (b.batch * b.seq, b.seq))
                chunks.append(Chunk(start, batch, best))
                break
            chunks.append(Chunk(start, start + largest.batch, largest))
            start += largest.batch
        return chunks


def pad_to_bucket(feed: dict[str, np.ndarray], bucket: Bucket, pad_token_id: int) -> dict[str, np.ndarray]:
    """Right-pad the sequence with padding tokens and fill extra rows with copies of row 0 (dropped later).

    Copies rather than all-padding rows: a row whose attention mask is all zero is an input no model was
    trained on and some fused kernels turn it into NaN.
    """
    rows, seq = next(iter(feed.values())).shape
    if rows > bucket.batch or seq > bucket.seq:
        raise BucketError(f"a batch of {rows}x{seq} does not fit bucket {bucket}")
    padded: dict[str, np.ndarray] = {}
    for name, array in feed.items():
        fill = pad_token_id if name == "input_ids" else 0
        out = np.full((bucket.batch, bucket.seq), fill, dtype=array.dtype)
        out[:rows, :seq] = array
        out[rows:, :seq] = array[0]
        padded[name] = out
    return padded
