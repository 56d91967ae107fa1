"""Benchmark: decide every rank-advance award of 200 zones × 15 years of rankings from scratch, beside the time
to read those rank rows from the same database in the same run.

Subject ("recompute"): read the rank rows into facts, load the parameter table, and evaluate the rule for every
zone and year: the desired awards, what a full reconciliation starts from. Baseline ("read"): the same SELECT
of the rank rows, fetched as plain rows and nothing more. Goal: recompute ≤ 3 × read. Also reported, each with
its ratio to the read: the full reconciliation against a ledger that already holds those awards (reads the
granted awards too, plans nothing), and building the ledger from empty (writes every award and its event).

Ranks are a seeded permutation per year and level (100 national and 100 provincial zones, 2016-2030), so the
ledger ends with a realistic share of advances of 3 places or more. Rounds alternate subject and baseline;
medians are reported, and the median of the per-round ratios.

Registered in `python -m bench` (`make bench`); alone: `python -m bench.rewards_recompute [--rounds R]
[--database-url URL]` (prints JSON).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from alembic import command
from sqlalchemy import Engine, delete, func, select

from bench.load import Load
from bench.report import machine, note
from services.common.convert import ZoneLevel
from services.common.db import make_engine, reading, transaction
from services.common.migrate import alembic_config
from services.rewards import ledger, store
from services.rewards.domain.rules import RULES_BY_ID, AwardDecision

NAME = "rewards_recompute"
DESCRIPTION = "every rank-advance award of 200 zones × 15 years decided from scratch, beside reading the rank rows"
GOAL = 3.0  # recompute ≤ 3 × read
ZONES_PER_LEVEL = 100
YEARS = range(2016, 2031)


def seed(engine: Engine) -> int:
    rng = random.Random(20210412)
    rows = []
    for level in ZoneLevel:
        zones = [f"{level.value[:3].upper()}-{i:03d}" for i in range(ZONES_PER_LEVEL)]
        for year in YEARS:
            ranks = list(range(1, ZONES_PER_LEVEL + 1))
            rng.shuffle(ranks)
            rows += [
                {"zone_code": z, "year": year, "level": level.value, "rank": r}
                for z, r in zip(zones, ranks, strict=True)
            ]
    with transaction(engine) as conn:
        conn.execute(delete(store.zone_ranks))
        conn.execute(store.zone_ranks.insert(), rows)
    return len(rows)


def read_rows(engine: Engine) -> int:
    t = store.zone_ranks.c
    with reading(engine) as conn:
        return len(conn.execute(select(t.zone_code, t.year, t.level, t.rank)).all())


def recompute(engine: Engine) -> int:
    rule = RULES_BY_ID["rank_advance"]
    with reading(engine) as conn:
        facts = ledger.load_facts(conn, rule, None)
        params = ledger.parameter_table(conn)
    desired = [o for code in rule.named_in(facts) for o in rule.evaluate(code, facts, params, False)]
    return sum(isinstance(o, AwardDecision) for o in desired)


def reconcile(engine: Engine) -> tuple[int, int]:
    with transaction(engine) as conn:
        applied = ledger.reconcile(conn, rule="rank_advance", codes=None, trigger="benchmark", source="benchmark")
    return len(applied.granted), len(applied.revoked)


def empty_ledger(engine: Engine) -> None:
    with transaction(engine) as conn:
        conn.execute(delete(store.award_history))  # first: each entry refers to its award
        conn.execute(delete(store.awards))
        conn.execute(delete(store.outbox))


def timed(work: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = work()
    return time.perf_counter() - started, result


def run(load: Load) -> dict[str, object]:
    """The registry's entry point; the request-load settings of `make bench` do not apply here."""
    return measure()


def measure(rounds: int = 7, database_url: str | None = None) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="gaoxin-bench-", ignore_cleanup_errors=True) as tmp:
        url = database_url or f"sqlite:///{Path(tmp) / 'rewards.db'}"
        command.upgrade(alembic_config("rewards", url), "head")
        engine = make_engine(url)
        try:
            rows = seed(engine)
            empty_ledger(engine)
            build_seconds, (granted, _) = timed(lambda: reconcile(engine))
            with reading(engine) as conn:
                held = conn.execute(select(func.count()).select_from(store.awards)).scalar_one()
            note(f"{NAME}: {rows} rank rows, {granted} awards granted from empty in {build_seconds * 1000:.0f} ms")
            reads, recomputes, reconciles = [], [], []
            for number in range(1, rounds + 1):
                read_s, count = timed(lambda: read_rows(engine))
                recompute_s, desired = timed(lambda: recompute(engine))
                reconcile_s, changed = timed(lambda: reconcile(engine))
                assert count == rows and desired == granted == held and changed == (0, 0), (count, desired, changed)
                reads.append(read_s)
                recomputes.append(recompute_s)
                reconciles.append(reconcile_s)
                note(
                    f"{NAME}: round {number}/{rounds}: read {read_s * 1000:.1f} ms, recompute "
                    f"{recompute_s * 1000:.1f} ms, full reconciliation {reconcile_s * 1000:.1f} ms"
                )
        finally:
            empty_ledger(engine)
            engine.dispose()
    read_ms = statistics.median(reads) * 1000
    recompute_ms = statistics.median(recomputes) * 1000
    reconcile_ms = statistics.median(reconciles) * 1000
    paired = statistics.median(c / r for c, r in zip(recomputes, reads, strict=True))
    return {
        "benchmark": NAME,
        "description": DESCRIPTION,
        "database": "postgresql" if database_url else "sqlite",
        "rank_rows": rows,
        "zones": 2 * ZONES_PER_LEVEL,
        "years": len(YEARS),
        "awards": granted,
        "rounds": rounds,
        "subject": {"recompute_ms": round(recompute_ms, 2)},
        "baseline": {"read_ms": round(read_ms, 2)},
        "ratio": {"recompute_to_read": round(recompute_ms / read_ms, 2), "recompute_to_read_paired": round(paired, 2)},
        "goal": {"recompute_to_read_at_most": GOAL, "met": paired <= GOAL},
        "also": {
            "full_reconciliation_no_change_ms": round(reconcile_ms, 2),
            "full_reconciliation_to_read": round(reconcile_ms / read_ms, 2),
            "ledger_built_from_empty_ms": round(build_seconds * 1000, 2),
            "ledger_built_from_empty_to_read": round(build_seconds * 1000 / read_ms, 2),
        },
        "machine": machine(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.rewards_recompute", description=DESCRIPTION)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--database-url", default=None, help="default: a temporary SQLite file")
    args = parser.parse_args()
    print(json.dumps(measure(args.rounds, args.database_url), ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
