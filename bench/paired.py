"""A subject and its baseline measured in turn, round after round, and pooled.

On a shared machine the speed drifts by a fifth within a minute; measured once each, one after the other, the
two can fall on different sides of a drift and the ratio swings with it. Alternating them for `rounds` rounds,
both servers running throughout (an idle one costs nothing), puts each round's pair in the same conditions;
the pooled figures and their ratios are what a benchmark reports, with every round's ratios beside them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bench.load import Measured, pooled
from bench.report import note
from bench.stats import ratios


@dataclass(frozen=True)
class Goal:
    """What a benchmark's pooled ratios must reach: at least `min_rps` of the baseline's requests/s, at most
    `max_p99` times its p99."""

    min_rps: float
    max_p99: float

    def met_by(self, ratio: dict[str, float | None]) -> bool:
        rps, p99 = ratio.get("rps"), ratio.get("p99")
        return rps is not None and p99 is not None and rps >= self.min_rps and p99 <= self.max_p99

    def as_dict(self) -> dict[str, float]:
        return {"min_rps": self.min_rps, "max_p99": self.max_p99}


@dataclass(frozen=True)
class Paired:
    subject: Measured
    baseline: Measured
    rounds: tuple[dict[str, float | None], ...]  # each round's ratios (rps, p50, p99), in order


def alternate(rounds: int, baseline: Callable[[], Measured], subject: Callable[[], Measured]) -> Paired:
    """`rounds` times: measure the baseline, then the subject; pooled over the rounds."""
    if rounds < 1:
        raise ValueError(f"rounds must be at least 1, not {rounds}")
    baselines: list[Measured] = []
    subjects: list[Measured] = []
    per_round: list[dict[str, float | None]] = []
    for number in range(1, rounds + 1):
        note(f"round {number} of {rounds}")
        baselines.append(baseline())
        subjects.append(subject())
        per_round.append(ratios(subjects[-1].summary, baselines[-1].summary))
        note(f"round {number}: ratios {per_round[-1]}")
    return Paired(pooled(subjects), pooled(baselines), tuple(per_round))
