"""Benchmark: pure reward-rule evaluations per second, in this one process (one core), no I/O.

One evaluation is one rule judging one fact and returning its outcome with the reason and parameter versions
(an AwardDecision, or a NoAward saying why): a rank of a zone, a zone's recognitions, a county's listing, a
talent project. Inputs are seeded and varied (advances from -10 to +10, every year 2016-2030, both levels),
so most outcomes are refusals written out in full, as the simulation and the rules endpoint return them.
Each figure is the median of several timed runs. Goal: ≥ 100,000 evaluations per second for every rule.

Also reported: rank advance decided without writing out refusals (what a full reconciliation asks for).

Registered in `python -m bench` (`make bench`); alone: `python -m bench.rule_throughput` (prints JSON).
"""

from __future__ import annotations

import json
import random
import statistics
import time
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from bench.load import Load
from bench.report import machine, note
from services.common.convert import ZoneLevel
from services.rewards.domain.parameters import ParameterTable, ParameterVersion
from services.rewards.domain.rules import (
    DesignationFact,
    RankFact,
    RecognitionFact,
    TalentProjectFact,
    new_provincial_zone,
    pilot_county,
    rank_advance,
    rank_advance_in_year,
    talent_project,
)

NAME = "rule_throughput"
DESCRIPTION = "pure reward-rule evaluations per second on one core, each with its reason and parameter versions"
GOAL = 100_000
BATCH = 10_000
RUNS = 7


def per_second(label: str, batch: Callable[[], int], runs: int = RUNS) -> float:
    batch()  # warm caches (the parameter table memoises the versions of each date)
    rates = []
    for _ in range(runs):
        started = time.perf_counter()
        count = batch()
        rates.append(count / (time.perf_counter() - started))
    rate = statistics.median(rates)
    note(f"{NAME}: {label}: {rate:,.0f} evaluations/s")
    return rate


def run(load: Load) -> dict[str, object]:
    """The registry's entry point; the request-load settings of `make bench` do not apply here."""
    return measure()


def measure() -> dict[str, Any]:
    rng = random.Random(20210412)
    rate = ParameterVersion("talent_project.rate", Decimal("0.05"), 1, date(2021, 4, 12), 5, "benchmark")
    params = ParameterTable().with_versions([rate])
    levels = (ZoneLevel.NATIONAL, ZoneLevel.PROVINCIAL)

    ranks = [RankFact(rng.randint(2016, 2030), rng.choice(levels), rng.randint(11, 60)) for _ in range(BATCH)]
    # A tenth of the zones have no history; the others a best from 10 places below to 10 above.
    bests = [None if i % 10 == 0 else (fact.rank + rng.randint(-10, 10), 2015) for i, fact in enumerate(ranks)]
    histories = [
        [RankFact(year, level, rng.randint(1, 60)) for year in range(2016, 2031)]
        for level in (rng.choice(levels) for _ in range(BATCH // 15))
    ]
    start = date(2020, 1, 1)
    recognitions = [
        [RecognitionFact(start + timedelta(days=rng.randint(0, 2000)), rng.choice(levels))]
        + ([RecognitionFact(start + timedelta(days=rng.randint(0, 2000)), rng.choice(levels))] if i % 3 == 0 else [])
        for i in range(BATCH)
    ]
    listings = [
        [
            DesignationFact(
                rng.choice(("innovation_pilot", "ip_pilot", "ip_demonstration")),
                rng.choice(levels),
                start + timedelta(days=rng.randint(0, 2000)),
            )
        ]
        for _ in range(BATCH)
    ]
    zone_recognised = [RecognitionFact(date(2015, 1, 1), ZoneLevel.NATIONAL)]
    projects = [
        TalentProjectFact(
            f"TP-{i}",
            "项目",
            "Z",
            rng.choice(levels),
            rng.randint(1, 50_000_000),
            start + timedelta(days=rng.randint(0, 2000)),
        )
        for i in range(BATCH)
    ]

    def rank_one() -> int:
        for fact, best in zip(ranks, bests, strict=True):
            rank_advance_in_year("Z", fact, best, params)
        return len(ranks)

    def rank_histories(refusals: bool) -> Callable[[], int]:
        def batch() -> int:
            for history in histories:
                rank_advance("Z", history, params, refusals)
            return sum(len(h) for h in histories)

        return batch

    def zones() -> int:
        for history in recognitions:
            new_provincial_zone("Z", history, params)
        return len(recognitions)

    def counties() -> int:
        for history in listings:
            pilot_county("320706", history, params)
        return len(listings)

    def talent() -> int:
        for project in projects:
            talent_project(project, zone_recognised, params)
        return len(projects)

    figures = {
        "rank_advance (one rank against a given best)": per_second("rank advance, one rank", rank_one),
        "rank_advance (15-year zone histories)": per_second("rank advance, histories", rank_histories(True)),
        "new_provincial_zone": per_second("new provincial zone", zones),
        "pilot_county": per_second("pilot county", counties),
        "talent_project": per_second("talent project", talent),
    }
    awards_only = per_second("rank advance, histories, awards only", rank_histories(False))
    slowest = min(figures.values())
    return {
        "benchmark": NAME,
        "description": DESCRIPTION,
        "evaluations_per_second": {k: round(v) for k, v in figures.items()},
        "goal": {"at_least_per_second": GOAL, "met": slowest >= GOAL},
        "ratio_to_goal": {k: round(v / GOAL, 2) for k, v in figures.items()},
        "also": {"rank_advance (15-year histories, awards only)": round(awards_only)},
        "machine": machine(),
    }


def main() -> None:
    print(json.dumps(measure(), ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
