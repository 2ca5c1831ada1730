"""Percentile, latency, throughput and speed-up arithmetic on synthetic timings, against values computed by hand."""

from __future__ import annotations

import pytest

from npuport.bench.timing import latency_stats, percentile, speedup, throughput
from npuport.core.errors import InputError


def test_percentile_interpolates_between_closest_ranks():
    samples = [4.0, 1.0, 3.0, 2.0]  # sorted 1 2 3 4; rank = q/100 * 3
    assert percentile(samples, 0) == 1.0
    assert percentile(samples, 100) == 4.0
    assert percentile(samples, 50) == pytest.approx(2.5)  # rank 1.5
    assert percentile(samples, 90) == pytest.approx(3.7)  # rank 2.7: 3 + 0.7
    assert percentile(samples, 99) == pytest.approx(3.97)  # rank 2.97
    assert percentile([7.0], 99) == 7.0


def test_percentile_of_ten_calls():
    samples = [10, 20, 30, 40, 50, 60, 70, 80, 90, 1000]  # one slow outlier
    assert percentile(samples, 50) == pytest.approx(55.0)  # rank 4.5
    assert percentile(samples, 90) == pytest.approx(181.0)  # rank 8.1: 90 + 0.1 * 910
    assert percentile(samples, 99) == pytest.approx(918.1)  # rank 8.91: 90 + 0.91 * 910


def test_latency_stats_in_milliseconds():
    stats = latency_stats([0.002, 0.001, 0.004, 0.003])
    assert stats.calls == 4
    assert stats.mean_ms == pytest.approx(2.5)
    assert stats.p50_ms == pytest.approx(2.5)
    assert stats.p90_ms == pytest.approx(3.7)
    assert stats.p99_ms == pytest.approx(3.97)
    assert (stats.min_ms, stats.max_ms) == (pytest.approx(1.0), pytest.approx(4.0))
    assert stats.total_s == pytest.approx(0.010)
    assert stats.model_dump()["p50_ms"] == stats.p50_ms


def test_throughput_and_speedup():
    # 23 texts in batches of 16 (seed 001's set): 2 calls of 0.25 s and 0.25 s → 46 texts/s
    assert throughput(23, 0.5) == pytest.approx(46.0)
    # the baseline took 2.0 s for what the variant did in 0.4 s
    assert speedup(2.0, 0.4) == pytest.approx(5.0)
    # on the same texts, the throughput ratio is the speed-up of the total times: 57.5 / 11.5 texts/s
    assert throughput(23, 0.4) / throughput(23, 2.0) == pytest.approx(speedup(2.0, 0.4))


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: percentile([], 50), "no samples"),
        (lambda: percentile([1.0], 101), "within 0..100"),
        (lambda: latency_stats([]), "no timed calls"),
        (lambda: latency_stats([0.1, -0.1]), "non-negative"),
        (lambda: latency_stats([float("nan")]), "finite"),
        (lambda: throughput(10, 0.0), "positive duration"),
        (lambda: throughput(-1, 1.0), "non-negative"),
        (lambda: speedup(0.0, 1.0), "positive durations"),
    ],
)
def test_meaningless_input_is_refused(call, message):
    with pytest.raises(InputError, match=message):
        call()
