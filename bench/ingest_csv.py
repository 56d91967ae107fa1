"""Benchmark: 100,000 indicator values pushed as CSV through the REST gateway, into the database with their
event, beside the raw rate of a SQLAlchemy Core executemany of the same rows into the same database.

The REST figure is the whole path a portal sees: HTTP upload, gateway (auth), gRPC, CSV parsing and validation
of every row, the registry and held-values lookups, the writes, the outbox event, the commit. The baseline is
only the INSERT executemany and its commit, with its row dicts built before the clock starts and the garbage
collector paused as the service pauses it. Each round empties the values table first, so both write into the
same, empty table; medians of the rounds are reported, and the median of the per-round ratios (the two figures
of a round run back to back, so a busy machine slows both alike).

Registered in `python -m bench` (`make bench`); alone: `python -m bench.ingest_csv [--values N] [--rounds R]
[--database-url URL]` (prints JSON).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import nats
from gaoxin.events.v1 import events_pb2
from sqlalchemy import Engine, delete

from bench.load import Load
from bench.report import machine, note
from services.common.bulk import gc_paused
from services.common.db import make_engine, transaction
from services.indicators.domain.catalogue import RAW
from services.indicators.events import INDICATOR_VALUES_ACCEPTED
from services.indicators.store.tables import indicator_value_revisions, indicator_values, value_batches
from services.platform import Platform, isolated_settings

NAME = "ingest_csv"
DESCRIPTION = "100,000 indicator values as CSV: gateway → gRPC → parse, validate, write, event; beside Core executemany"
GOAL = 0.40  # of the raw executemany rate
YEARS = range(2000, 2101)
COUNTY = "320706"


def rows_for(count: int) -> list[tuple[str, str, int, str]]:
    """(zone, indicator, year, value): every raw indicator of every year of enough zones."""
    rows: list[tuple[str, str, int, str]] = []
    zone = 0
    while len(rows) < count:
        for year in YEARS:
            for indicator in RAW:
                value = str(1000 + zone + year) if indicator.integral else f"{zone * 1000 + year}.{year % 100:02d}"
                rows.append((f"BENCH-{zone:04d}", indicator.code, year, value))
        zone += 1
    return rows[:count]


def csv_body(rows: list[tuple[str, str, int, str]]) -> bytes:
    lines = ["zone_code,indicator,year,value,source"]
    lines += [f"{z},{i},{y},{v},bench" for z, i, y, v in rows]
    return ("\n".join(lines) + "\n").encode()


def clear(engine: Engine) -> None:
    with transaction(engine) as conn:
        for table in (indicator_value_revisions, indicator_values, value_batches):
            conn.execute(delete(table))


def raw_executemany(engine: Engine, rows: list[tuple[str, str, int, str]]) -> float:
    params = [
        {"zone_code": z, "indicator": i, "year": y, "value": v, "source": "bench", "batch_id": "raw", "version": 1}
        for z, i, y, v in rows
    ]
    with gc_paused():  # as the service does: the baseline gets the same advantage
        started = time.perf_counter()
        with transaction(engine) as conn:
            conn.execute(indicator_values.insert(), params)
        return time.perf_counter() - started


def rest_csv(api: httpx.Client, body: bytes, expected: int) -> tuple[float, str]:
    started = time.perf_counter()
    reply = api.post("/v1/indicator-values:batch", content=body, headers={"Content-Type": "text/csv"})
    elapsed = time.perf_counter() - started
    if reply.status_code != 200 or reply.json()["created"] != expected:
        raise RuntimeError(f"ingest refused: {reply.status_code} {reply.text[:500]}")
    batch_id: str = reply.json()["batch_id"]
    return elapsed, batch_id


async def events_seen(nats_url: str, batch_ids: set[str]) -> dict[str, int]:
    """How many IndicatorValuesAccepted events JetStream holds for each batch (one is right)."""
    nc = await nats.connect(nats_url)
    seen = dict.fromkeys(batch_ids, 0)
    try:
        js = nc.jetstream()
        sub = await js.subscribe(INDICATOR_VALUES_ACCEPTED, ordered_consumer=True)
        deadline = time.monotonic() + 30.0
        while time.monotonic() < deadline:
            try:
                msg = await sub.next_msg(timeout=1.0)
            except Exception:
                if all(seen.values()):
                    break
                continue
            event = events_pb2.IndicatorValuesAccepted.FromString(msg.data)
            if event.batch_id in seen:
                seen[event.batch_id] += 1
    finally:
        await nc.close()
    return seen


def run(load: Load) -> dict[str, object]:
    """The registry's entry point; the request-load settings of `make bench` do not apply to one big batch."""
    return measure()


def measure(values: int = 100_000, rounds: int = 5, database_url: str | None = None) -> dict[str, Any]:
    rows = rows_for(values)
    body = csv_body(rows)
    zones = sorted({z for z, _, _, _ in rows})
    with tempfile.TemporaryDirectory(prefix="gaoxin-bench-", ignore_cleanup_errors=True) as tmp:
        overrides = {"indicators_database_url": database_url} if database_url else {}
        platform = Platform(isolated_settings(Path(tmp), **overrides))
        platform.start()
        engine = make_engine(platform.settings.database_url("indicators"))
        headers = {"Authorization": f"Bearer {platform.admin_key}"}
        try:
            with httpx.Client(base_url=platform.gateway_url, headers=headers, timeout=300) as api:
                api.put(f"/v1/counties/{COUNTY}", json={"name": "海州区"}).raise_for_status()
                for zone in zones:
                    api.put(f"/v1/zones/{zone}", json={"name": f"基准测试区 {zone}", "county_code": COUNTY})
                raw_seconds, rest_seconds, batch_ids = [], [], []
                for round_number in range(1, rounds + 1):
                    note(f"{NAME}: round {round_number} of {rounds}")
                    clear(engine)
                    raw_seconds.append(raw_executemany(engine, rows))
                    clear(engine)
                    elapsed, batch_id = rest_csv(api, body, len(rows))
                    rest_seconds.append(elapsed)
                    batch_ids.append(batch_id)
            events = asyncio.run(events_seen(platform.settings.resolved_nats_url, set(batch_ids)))
        finally:
            clear(engine)
            engine.dispose()
            platform.stop()
    rest_rate = len(rows) / statistics.median(rest_seconds)
    raw_rate = len(rows) / statistics.median(raw_seconds)
    paired = statistics.median(raw / rest for raw, rest in zip(raw_seconds, rest_seconds, strict=True))
    return {
        "benchmark": NAME,
        "description": DESCRIPTION,
        "database": "postgresql" if database_url else "sqlite",
        "values": len(rows),
        "csv_bytes": len(body),
        "rounds": rounds,
        "figure": {
            "name": "REST CSV ingest (gateway → gRPC → parse, validate, revisions, write, outbox event, commit)",
            "values_per_second": round(rest_rate),
            "seconds": [round(s, 3) for s in rest_seconds],
        },
        "baseline": {
            "name": "SQLAlchemy Core executemany INSERT + commit, same rows, same database",
            "values_per_second": round(raw_rate),
            "seconds": [round(s, 3) for s in raw_seconds],
        },
        "ratio": round(rest_rate / raw_rate, 3),
        "ratio_paired_median": round(paired, 3),
        "goal": GOAL,
        "meets_goal": rest_rate / raw_rate >= GOAL,
        "events": {"batches": len(batch_ids), "each_published_once": all(n == 1 for n in events.values())},
        "machine": machine(),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.ingest_csv", description=__doc__.split("\n\n")[0])
    parser.add_argument("--values", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--database-url", help="indicators database (default: a SQLite file in a temp dir)")
    args = parser.parse_args(argv)
    print(json.dumps(measure(args.values, args.rounds, args.database_url), ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
