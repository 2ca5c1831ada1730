"""Shape buckets: one policy shared by convert (static files), runtime (padding/splitting) and validate."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from npuport.core.errors import BucketError
from npuport.core.manifest import MAX_BATCH, MAX_SEQ, Bucket

_BUCKET = re.compile(r"^\s*(\d+)\s*[xX×]\s*(\d+)\s*$")
DEFAULT_BUCKETS = "1x64,1x128,16x128"
# What one more model call costs, in padded tokens: small against a large model's per-token work, about one
# short text's worth for a tiny model (measured: ~0.1 ms per ONNX Runtime call vs ~6 µs per token of a 4-layer
# 256-wide encoder on one core).
CALL_COST_TOKENS = 16
# Planned sequence lengths are multiples of this: vector units and the NPU's cube unit work in tiles of 8-16
# tokens, so a 37-token bucket costs what a 40-token one does, and a plan of round numbers is easy to read.
SEQ_ALIGN = 8
DEFAULT_MAX_BUCKETS = 4


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


def sequence_limit(max_length: int, buckets: Sequence[Bucket]) -> int:
    """Tokens per text under `buckets`: the model's max_length, or the longest bucket's sequence if shorter."""
    return min(max_length, max((b.seq for b in buckets), default=max_length))


def golden_seq_len(max_length: int, buckets: Sequence[Bucket]) -> int:
    """Columns of the golden rows convert and import record: `sequence_limit` of the static buckets, without any
    of the default buckets (128 tokens), so a dynamic-only model's reference stays small."""
    return sequence_limit(max_length, buckets or parse_buckets(DEFAULT_BUCKETS))


def by_length(lengths: Sequence[int] | np.ndarray, among: Sequence[int] | np.ndarray | None = None) -> np.ndarray:
    """Indices of the texts (all, or those in `among`) by ascending token length, ties in input order."""
    lengths = np.asarray(lengths)
    index = np.arange(len(lengths)) if among is None else np.asarray(among, dtype=np.int64)
    return index[np.argsort(lengths[index], kind="stable")]


def length_batches(lengths: Sequence[int] | np.ndarray, size: int,
                   among: Sequence[int] | np.ndarray | None = None) -> list[np.ndarray]:
    """`by_length` cut into batches of `size`: a batch padded to its longest text then pads little."""
    order = by_length(lengths, among)
    return [order[start : start + size] for start in range(0, len(order), size)]


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


def bucket_for(buckets: Sequence[Bucket], rows: int, seq: int) -> Bucket | None:
    """The bucket a batch of `rows` texts of at most `seq` tokens is padded to: the smallest area that holds it
    (ties: the shorter sequence), None if none does. The runtime's rule; validation samples with it too."""
    roomy = [b for b in buckets if b.batch >= rows and b.seq >= seq]
    return min(roomy, key=lambda b: (b.batch * b.seq, b.seq), default=None)


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
            best = bucket_for(fitting, batch - start, seq)
            if best:
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


@dataclass(frozen=True)
class Coverage:
    """How a bucket set fits texts of given token lengths, each padded to the smallest sequence that holds it and
    cut to the largest: tokens kept, padding tokens added, texts truncated (batch rows filled with copies are not
    counted: how full a batch is depends on arrivals, not on lengths)."""

    texts: int
    tokens: int
    padding: int
    truncated: int

    @property
    def waste(self) -> float:
        """Share of the computed tokens that are padding."""
        return self.padding / max(1, self.tokens + self.padding)

    @property
    def truncated_share(self) -> float:
        return self.truncated / max(1, self.texts)


def coverage(lengths: Sequence[int] | np.ndarray, buckets: Sequence[Bucket]) -> Coverage:
    lengths = np.asarray(lengths, dtype=np.int64)
    seqs = np.array(sorted({b.seq for b in buckets}), dtype=np.int64)
    kept = np.minimum(lengths, seqs[-1])
    padded_to = seqs[np.searchsorted(seqs, kept)]
    return Coverage(texts=len(lengths), tokens=int(kept.sum()), padding=int((padded_to - kept).sum()),
                    truncated=int((lengths > seqs[-1]).sum()))


@dataclass(frozen=True)
class BucketPlan:
    """Buckets planned from token lengths, beside how today's default buckets fit the same texts."""

    buckets: list[Bucket]
    before: Coverage
    after: Coverage
    max_length: int
    max_truncated: float

    def to_dict(self) -> dict[str, object]:
        return {"buckets": ",".join(map(str, self.buckets)), "default_buckets": DEFAULT_BUCKETS,
                "max_length": self.max_length, "max_truncated": self.max_truncated,
                **{side: asdict(c) | {"waste": c.waste, "truncated_share": c.truncated_share}
                   for side, c in (("before", self.before), ("after", self.after))}}


# Today's policy, the default for planned batch sizes: one text at every sequence, 16 at the longest.
DEFAULT_BATCH_SIZES = tuple(sorted({b.batch for b in parse_buckets(DEFAULT_BUCKETS)}))


def plan_buckets(lengths: Sequence[int] | np.ndarray, max_length: int, max_buckets: int = DEFAULT_MAX_BUCKETS,
               max_truncated: float = 0.0, batch_sizes: Sequence[int] = DEFAULT_BATCH_SIZES) -> BucketPlan:
    """At most `max_buckets` batch x sequence buckets for texts of these token lengths (special tokens included, before
    truncation): the smallest batch size at every planned sequence, each larger one at the longest sequence (the
    shape of DEFAULT_BUCKETS). The sequences minimise padding tokens, each text padded to the smallest sequence that
    holds it, with at most `max_truncated` of the texts cut by the longest one (texts over max_length, which the
    model cuts anyway, count only when the longest bucket would cut them shorter).

    Exact dynamic programming over the candidate cut points, every length rounded up to SEQ_ALIGN (at most
    max_length / SEQ_ALIGN of them): cost[k][j] = least padding covering the texts up to candidate j with k sequences."""
    lengths = np.asarray(lengths, dtype=np.int64)
    sizes = sorted(set(batch_sizes))
    if not len(lengths):
        raise BucketError("no texts to plan buckets from")
    if not sizes or sizes[0] < 1 or sizes[-1] > MAX_BATCH:
        raise BucketError(f"batch sizes must be 1..{MAX_BATCH}, got {','.join(map(str, batch_sizes)) or 'none'}")
    sequences = max_buckets - (len(sizes) - 1)
    if sequences < 1:
        raise BucketError(f"{max_buckets} buckets leave no room for {len(sizes)} batch sizes: give at least {len(sizes)} buckets")
    if not 0.0 <= max_truncated < 1.0:
        raise BucketError(f"the truncated share must be in [0, 1), got {max_truncated}")
    kept = np.minimum(lengths, max_length)
    aligned = np.minimum(-(-kept // SEQ_ALIGN) * SEQ_ALIGN, max_length)
    candidates, group = np.unique(aligned, return_inverse=True)
    count = np.concatenate([[0], np.cumsum(np.bincount(group))])  # count[j + 1]: texts with aligned length <= candidate j
    tokens = np.concatenate([[0], np.cumsum(np.bincount(group, weights=kept))])
    allowed = math.floor(max_truncated * len(lengths))  # texts the longest bucket may cut shorter than the model would

    def padding(first: int, last: int) -> float:  # texts of candidates first..last, padded to candidate last
        return candidates[last] * (count[last + 1] - count[first]) - (tokens[last + 1] - tokens[first])

    p = len(candidates)
    cost = [[padding(0, j) for j in range(p)]]
    cut: list[list[int]] = [[-1] * p]
    for _ in range(1, sequences):
        row, back = [], []
        for j in range(p):
            best = min(((cost[-1][i] + padding(i + 1, j), i) for i in range(j)), default=(math.inf, -1))
            row.append(best[0])
            back.append(best[1])
        cost.append(row)
        cut.append(back)
    feasible = [(cost[k][j], len(lengths) - count[j + 1], k, j) for k in range(sequences) for j in range(p)
                if len(lengths) - count[j + 1] <= allowed]
    _, _, k, j = min(feasible)
    seqs: list[int] = []
    while j >= 0:
        seqs.append(int(candidates[j]))
        j, k = cut[k][j], k - 1
    seqs.reverse()
    buckets = [Bucket(batch=sizes[0], seq=s) for s in seqs] + [Bucket(batch=b, seq=seqs[-1]) for b in sizes[1:]]
    return BucketPlan(buckets=sorted(buckets, key=lambda b: (b.seq, b.batch)),
                    before=coverage(lengths, parse_buckets(DEFAULT_BUCKETS)), after=coverage(lengths, buckets),
                    max_length=max_length, max_truncated=max_truncated)
