"""Pooling measured phases and alternating a subject with its baseline (bench/load.py, bench/paired.py)."""

from __future__ import annotations

import pytest

from bench.load import Measured, pooled
from bench.paired import Goal, alternate
from bench.stats import summarize


def phase(latencies_ms: list[float], seconds: float, client_cpu_percent: float = 50.0) -> Measured:
    latencies = tuple(ms / 1000 for ms in latencies_ms)
    return Measured(summarize(latencies, seconds), client_cpu_percent, latencies)


def test_pooled_phases_count_every_latency_and_their_summed_time() -> None:
    one = phase([1.0] * 100, seconds=1.0, client_cpu_percent=40.0)
    other = phase([3.0] * 300, seconds=3.0, client_cpu_percent=80.0)
    both = pooled([one, other])
    assert both.summary.count == 400
    assert both.summary.seconds == 4.0
    assert both.summary.rps == 100.0
    assert both.summary.p50_ms == pytest.approx(3.0)
    assert both.summary.mean_ms == pytest.approx(2.5)
    assert both.client_cpu_percent == pytest.approx(70.0)  # weighted by time: (40·1 + 80·3) / 4


def test_pooling_nothing_is_refused() -> None:
    with pytest.raises(ValueError):
        pooled([])


def test_alternate_measures_baseline_then_subject_each_round_and_keeps_each_rounds_ratios() -> None:
    calls: list[str] = []
    subject_rps = iter([100.0, 300.0])  # the machine sped up between the rounds

    def baseline() -> Measured:
        calls.append("baseline")
        return phase([10.0] * 200, seconds=1.0 if len(calls) == 1 else 1 / 3)

    def subject() -> Measured:
        calls.append("subject")
        rps = next(subject_rps)
        return phase([20.0] * int(rps), seconds=1.0)

    paired = alternate(2, baseline, subject)
    assert calls == ["baseline", "subject", "baseline", "subject"]
    assert [r["rps"] for r in paired.rounds] == [0.5, 0.5]
    assert paired.subject.summary.count == 400
    assert paired.baseline.summary.count == 400
    assert paired.subject.summary.rps == pytest.approx(200.0)  # 400 in 2 s
    assert paired.baseline.summary.rps == pytest.approx(300.0)  # 400 in 4/3 s


def test_alternate_needs_a_round() -> None:
    with pytest.raises(ValueError):
        alternate(0, lambda: phase([1.0], 1.0), lambda: phase([1.0], 1.0))


def test_a_goal_needs_both_throughput_and_tail_latency() -> None:
    goal = Goal(min_rps=0.5, max_p99=2.0)
    assert goal.met_by({"rps": 0.5, "p50": 3.0, "p99": 2.0})
    assert not goal.met_by({"rps": 0.499, "p50": 1.0, "p99": 1.0})
    assert not goal.met_by({"rps": 0.9, "p50": 1.0, "p99": 2.01})
    assert not goal.met_by({"rps": None, "p50": 1.0, "p99": 1.0})
