"""The benchmark summary arithmetic (bench/stats.py)."""

from __future__ import annotations

import pytest

from bench.stats import Summary, percentile, ratio, ratios, summarize


def test_percentile_of_one_to_a_hundred_interpolates_between_ranks() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 0) == 1.0
    assert percentile(values, 50) == pytest.approx(50.5)
    assert percentile(values, 99) == pytest.approx(99.01)
    assert percentile(values, 100) == 100.0


def test_percentile_ignores_input_order() -> None:
    assert percentile([5.0, 1.0, 4.0, 2.0, 3.0], 50) == 3.0
    assert percentile([5.0, 1.0, 4.0, 2.0, 3.0], 25) == 2.0
    assert percentile([10.0, 0.0], 90) == pytest.approx(9.0)


def test_percentile_of_a_single_value_is_that_value() -> None:
    assert percentile([7.5], 0) == 7.5
    assert percentile([7.5], 99) == 7.5


def test_percentile_refuses_no_values_and_out_of_range_q() -> None:
    with pytest.raises(ValueError):
        percentile([], 50)
    with pytest.raises(ValueError):
        percentile([1.0], 101)
    with pytest.raises(ValueError):
        percentile([1.0], -1)


def test_summarize_converts_seconds_to_milliseconds_and_counts_throughput() -> None:
    latencies = [0.001 * v for v in range(1, 101)]  # 1 ms … 100 ms
    summary = summarize(latencies, elapsed_s=2.0)
    assert summary.count == 100
    assert summary.seconds == 2.0
    assert summary.rps == 50.0
    assert summary.p50_ms == pytest.approx(50.5)
    assert summary.p90_ms == pytest.approx(90.1)
    assert summary.p99_ms == pytest.approx(99.01)
    assert summary.mean_ms == pytest.approx(50.5)
    assert summary.max_ms == pytest.approx(100.0)


def test_summarize_refuses_empty_or_timeless_phases() -> None:
    with pytest.raises(ValueError):
        summarize([], 1.0)
    with pytest.raises(ValueError):
        summarize([0.001], 0.0)


def test_as_dict_rounds_floats_and_keeps_the_count() -> None:
    summary = Summary(count=3, seconds=1.23456, rps=2.4299, p50_ms=1.0, p90_ms=2.0, p99_ms=3.0, mean_ms=2.0, max_ms=3.0)
    assert summary.as_dict(digits=2) == {
        "count": 3,
        "seconds": 1.23,
        "rps": 2.43,
        "p50_ms": 1.0,
        "p90_ms": 2.0,
        "p99_ms": 3.0,
        "mean_ms": 2.0,
        "max_ms": 3.0,
    }


def test_ratio_is_subject_over_baseline() -> None:
    assert ratio(250.0, 1000.0) == 0.25
    assert ratio(1.0, 3.0) == 0.333
    assert ratio(5.0, 0.0) is None


def test_ratios_quote_throughput_and_latency_against_the_baseline() -> None:
    subject = summarize([0.004, 0.008], elapsed_s=1.0)  # 2 rps, p50 6 ms, p99 7.96 ms
    baseline = summarize([0.001, 0.002, 0.001, 0.002], elapsed_s=0.5)  # 8 rps, p50 1.5 ms, p99 2 ms
    assert ratios(subject, baseline) == {"rps": 0.25, "p50": 4.0, "p99": 3.98}
