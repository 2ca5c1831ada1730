"""Run a batch under a bucket policy: pad up to a bucket, split what is too large, each chunk to its runner."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from npuport.core.buckets import BucketPolicy, pad_to_bucket
from npuport.core.manifest import Bucket
from npuport.runtime.runner import Runner


def run_chunks(
    runner_for: Callable[[Bucket | None], Runner], feed: dict[str, np.ndarray], policy: BucketPolicy, pad_token_id: int
) -> np.ndarray:
    """Logits of every row of `feed`, in order; a static variant has one file (runner) per bucket."""
    rows, seq = feed["input_ids"].shape
    parts: list[np.ndarray] = []
    for chunk in policy.plan(rows, seq):
        part = {name: array[chunk.start : chunk.stop] for name, array in feed.items()}
        if chunk.bucket is not None:
            part = pad_to_bucket(part, chunk.bucket, pad_token_id)
        parts.append(runner_for(chunk.bucket).infer(part)[: chunk.stop - chunk.start])
    return np.concatenate(parts, axis=0)


def run_feed(runner: Runner, feed: dict[str, np.ndarray], policy: BucketPolicy, pad_token_id: int) -> np.ndarray:
    """`run_chunks` with one runner for every bucket (a single file that accepts all of them)."""
    return run_chunks(lambda _bucket: runner, feed, policy, pad_token_id)
