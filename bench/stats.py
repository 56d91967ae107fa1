"""Pure summary arithmetic for the benchmarks: percentiles, throughput, ratios. No I/O, no clocks."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0 ≤ q ≤ 100), interpolating linearly between closest ranks.

    The same definition as numpy's default ("linear", Hyndman & Fan type 7): rank q/100 · (n - 1) in the
    sorted values, so percentile(v, 0) is the minimum, percentile(v, 100) the maximum and percentile(v, 50)
    the usual median.
    """
    if not values:
        raise ValueError("percentile of no values")
    if not 0 <= q <= 100:
        raise ValueError(f"percentile must be within 0..100, not {q}")
    ordered = sorted(values)
    rank = q / 100 * (len(ordered) - 1)
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    fraction = rank - low
    return ordered[low] + (ordered[high] - ordered[low]) * fraction


@dataclass(frozen=True)
class Summary:
    """One measured phase: `count` requests completed in `seconds` of wall-clock time."""

    count: int
    seconds: float
    rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    mean_ms: float
    max_ms: float

    def as_dict(self, digits: int = 3) -> dict[str, float | int]:
        return {k: round(v, digits) if isinstance(v, float) else v for k, v in asdict(self).items()}


def summarize(latencies_s: Sequence[float], elapsed_s: float) -> Summary:
    """Throughput over the whole phase and latency percentiles in milliseconds from per-request seconds."""
    if not latencies_s:
        raise ValueError("no latencies to summarize")
    if elapsed_s <= 0:
        raise ValueError(f"elapsed time must be positive, not {elapsed_s}")
    ms = [s * 1000 for s in latencies_s]
    return Summary(
        count=len(ms),
        seconds=elapsed_s,
        rps=len(ms) / elapsed_s,
        p50_ms=percentile(ms, 50),
        p90_ms=percentile(ms, 90),
        p99_ms=percentile(ms, 99),
        mean_ms=sum(ms) / len(ms),
        max_ms=max(ms),
    )


def ratio(subject: float, baseline: float, digits: int = 3) -> float | None:
    """subject / baseline, rounded; None when the baseline is zero (no meaningful ratio)."""
    if baseline == 0:
        return None
    return round(subject / baseline, digits)


def ratios(subject: Summary, baseline: Summary) -> dict[str, float | None]:
    """The figures quoted for a benchmark: throughput and latency, each relative to the baseline.

    rps above 1 means the subject serves more per second than the baseline; p50/p99 above 1 mean it is slower.
    """
    return {
        "rps": ratio(subject.rps, baseline.rps),
        "p50": ratio(subject.p50_ms, baseline.p50_ms),
        "p99": ratio(subject.p99_ms, baseline.p99_ms),
    }
