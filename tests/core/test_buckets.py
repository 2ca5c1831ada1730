import numpy as np
import pytest

from npuport.core.buckets import (
    BucketPolicy,
    by_length,
    check_buckets,
    golden_seq_len,
    length_batches,
    length_groups,
    pad_to_bucket,
    parse_buckets,
    sequence_limit,
)
from npuport.core.errors import BucketError
from npuport.core.manifest import Bucket


def test_parse_sorts_and_dedupes():
    assert parse_buckets("16x128, 1x64,1X128,1x64") == [Bucket(batch=1, seq=64), Bucket(batch=1, seq=128), Bucket(batch=16, seq=128)]


def test_check_buckets_refuses_sequences_beyond_the_model():
    check_buckets(parse_buckets("1x512"), 512)
    with pytest.raises(BucketError, match="at most 512"):
        check_buckets(parse_buckets("1x513"), 512)


def test_plan_pads_up_to_the_smallest_fitting_bucket():
    policy = BucketPolicy(parse_buckets("1x64,1x128,16x128"))
    assert [(c.start, c.stop, str(c.bucket)) for c in policy.plan(1, 30)] == [(0, 1, "1x64")]
    assert [(c.start, c.stop, str(c.bucket)) for c in policy.plan(1, 100)] == [(0, 1, "1x128")]
    assert [(c.start, c.stop, str(c.bucket)) for c in policy.plan(3, 30)] == [(0, 3, "16x128")]


def test_plan_splits_a_batch_of_37_over_a_largest_bucket_of_16():
    chunks = BucketPolicy(parse_buckets("1x64,1x128,16x128")).plan(37, 50)
    assert [(c.start, c.stop, str(c.bucket)) for c in chunks] == [(0, 16, "16x128"), (16, 32, "16x128"), (32, 37, "16x128")]


def test_plan_refuses_sequences_longer_than_every_bucket_and_dynamic_needs_no_plan():
    with pytest.raises(BucketError, match="fits no bucket"):
        BucketPolicy(parse_buckets("1x64")).plan(1, 65)
    assert [(c.start, c.stop, c.bucket) for c in BucketPolicy(None).plan(5, 300)] == [(0, 5, None)]


def test_pad_to_bucket_right_pads_and_fills_rows_with_copies():
    feed = {"input_ids": np.array([[5, 6, 7]]), "attention_mask": np.array([[1, 1, 1]])}
    padded = pad_to_bucket(feed, Bucket(batch=2, seq=5), pad_token_id=0)
    assert padded["input_ids"].tolist() == [[5, 6, 7, 0, 0], [5, 6, 7, 0, 0]]
    assert padded["attention_mask"].tolist() == [[1, 1, 1, 0, 0], [1, 1, 1, 0, 0]]
    with pytest.raises(BucketError):
        pad_to_bucket(feed, Bucket(batch=1, seq=2), 0)


def test_length_groups_runs_one_long_text_apart_from_short_ones():
    # one call: 16 rows x 288 + 16 = 4624 padded-token units; two: 15 x 22 + 16 + 288 + 16 = 650
    assert length_groups([22] * 15 + [288], call_cost=16) == [(0, 15), (15, 16)]
    # 5 and 100: together 2 x 100 + 16 = 216, apart 5 + 16 + 100 + 16 = 137
    assert length_groups([5, 100], call_cost=16) == [(0, 1), (1, 2)]


def test_length_groups_keeps_a_batch_whole_when_a_call_costs_more_than_the_padding():
    assert length_groups([5, 10], call_cost=16) == [(0, 2)]  # together 36, apart 47
    assert length_groups([10] * 8) == [(0, 8)]  # equal lengths: nothing to save
    assert length_groups([7]) == [(0, 1)] and length_groups([]) == []
    with pytest.raises(BucketError, match="ascending"):
        length_groups([9, 3])


def test_length_batches_sort_by_length_keep_ties_in_order_and_take_a_subset():
    lengths = [5, 3, 5, 1, 3]
    assert [b.tolist() for b in length_batches(lengths, 2)] == [[3, 1], [4, 0], [2]]
    assert by_length(lengths, among=[0, 1, 2]).tolist() == [1, 0, 2]


def test_sequence_limits_cap_by_the_model_and_fall_back_to_the_default_buckets():
    assert sequence_limit(512, parse_buckets("1x64,4x256")) == 256 and sequence_limit(100, parse_buckets("1x256")) == 100
    assert sequence_limit(512, []) == 512  # dynamic shapes: the model's limit
    assert golden_seq_len(512, []) == 128 and golden_seq_len(64, []) == 64 and golden_seq_len(512, parse_buckets("1x32")) == 32
