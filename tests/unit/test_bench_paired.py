"""Pooling measured phases and alternating a subject with its baseline (bench/load.py, bench/paired.py)."""

from __future__ import annotations

import os

import pytest

from bench.load import Measured, pooled
from bench.paired import Goal, alternate
from bench.procs import cpu_seconds
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


def test_pooled_server_cpu_is_summed_and_shown_per_request() -> None:
    one = Measured(summarize((0.01,) * 100, 1.0), 50.0, (0.01,) * 100, server_cpu_s=0.2)
    other = Measured(summarize((0.01,) * 300, 1.0), 50.0, (0.01,) * 300, server_cpu_s=0.6)
    both = pooled([one, other])
    assert both.server_cpu_s == pytest.approx(0.8)
    assert both.server_cpu_ms_per_request == pytest.approx(2.0)  # 800 ms over 400 requests
    assert both.as_dict()["server_cpu_ms_per_request"] == 2.0
    # The load generator's share of a core over the phase, per request: 50% of 2 s over 400 requests.
    assert both.client_cpu_ms_per_request == pytest.approx(2.5)


def test_server_cpu_unknown_in_one_phase_is_unknown_pooled() -> None:
    known = Measured(summarize((0.01,) * 10, 1.0), 50.0, (0.01,) * 10, server_cpu_s=0.2)
    unknown = phase([10.0] * 10, seconds=1.0)
    assert pooled([known, unknown]).server_cpu_ms_per_request is None
    assert "server_cpu_ms_per_request" not in pooled([known, unknown]).as_dict()


def test_cpu_seconds_of_this_process_grows_with_work_and_is_none_without_pids() -> None:
    assert cpu_seconds([]) is None
    before = cpu_seconds([os.getpid()])
    assert before is not None
    sum(i * i for i in range(3_000_000))  # a few tens of ms of CPU, more than one clock tick
    after = cpu_seconds([os.getpid()])
    assert after is not None and after > before
