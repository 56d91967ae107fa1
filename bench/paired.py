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
