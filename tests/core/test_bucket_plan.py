"""The bucket planner: its buckets cover a length distribution within the stated truncation, with the least padding."""

from itertools import combinations

import numpy as np
import pytest

from npuport.core.buckets import SEQ_ALIGN, coverage, plan_buckets
from npuport.core.errors import BucketError
from npuport.core.manifest import Bucket


def _lengths(seed: int, n: int = 300) -> np.ndarray:
    """Token lengths shaped like real traffic: many short texts, a long tail."""
    return np.clip(np.random.default_rng(seed).lognormal(3.3, 0.6, n).astype(int), 3, 400)


@pytest.mark.parametrize("max_truncated", [0.0, 0.03, 0.2])
def test_buckets_cover_the_lengths_within_the_stated_truncation(max_truncated: float):
    lengths = _lengths(1)
    plan = plan_buckets(lengths, max_length=512, max_truncated=max_truncated)
    longest = max(b.seq for b in plan.buckets)
    assert (lengths > longest).mean() <= max_truncated
    assert plan.after.truncated == int((lengths > longest).sum())
    assert len(plan.buckets) <= 4 and all(b.seq % SEQ_ALIGN == 0 for b in plan.buckets)
    assert plan.after.padding + plan.after.tokens == sum(min(s for s in {b.seq for b in plan.buckets} | {longest}
                                                             if s >= min(n, longest)) for n in lengths)


def test_the_plan_pads_least_among_every_choice_of_aligned_sequences():
    """Exact: no other set of at most three aligned sequences within the truncation limit pads fewer tokens."""
    lengths = _lengths(2, 120)
    plan = plan_buckets(lengths, max_length=512, max_buckets=4, max_truncated=0.05)
    candidates = sorted({int(-(-n // SEQ_ALIGN) * SEQ_ALIGN) for n in lengths})
    best = min(coverage(lengths, [Bucket(batch=1, seq=s) for s in seqs]).padding
               for k in (1, 2, 3) for seqs in combinations(candidates, k)
               if (lengths > max(seqs)).sum() <= int(0.05 * len(lengths)))
    assert plan.after.padding == best
    assert plan.after.padding < plan.before.padding


def test_batch_sizes_follow_todays_policy_or_the_given_ones():
    lengths = _lengths(3)
    default = plan_buckets(lengths, max_length=512)
    seqs = sorted({b.seq for b in default.buckets})
    assert [(b.batch, b.seq) for b in default.buckets] == [(1, s) for s in seqs] + [(16, seqs[-1])]
    given = plan_buckets(lengths, max_length=512, max_buckets=5, batch_sizes=[2, 8, 32])
    seqs = sorted({b.seq for b in given.buckets})
    assert len(seqs) == 3 and {(b.batch, b.seq) for b in given.buckets} == {(2, s) for s in seqs} | {(8, seqs[-1]), (32, seqs[-1])}


def test_texts_over_the_model_limit_are_cut_there_and_do_not_count_against_the_limit():
    plan = plan_buckets([10, 20, 600, 700], max_length=128, max_buckets=2, batch_sizes=[1])
    assert max(b.seq for b in plan.buckets) == 128
    assert plan.after.truncated == 2 and plan.after.tokens == 10 + 20 + 128 + 128


def test_one_length_needs_one_sequence_and_bad_requests_are_refused():
    assert [str(b) for b in plan_buckets([12] * 9, max_length=512).buckets] == ["1x16", "16x16"]
    with pytest.raises(BucketError, match="no texts"):
        plan_buckets([], max_length=512)
    with pytest.raises(BucketError, match="give at least 3 buckets"):
        plan_buckets([10], max_length=512, max_buckets=2, batch_sizes=[1, 4, 16])
    with pytest.raises(BucketError, match=r"share must be in \[0, 1\)"):
        plan_buckets([10], max_length=512, max_truncated=1.0)
