"""Indicator values, their revisions and the batches that pushed them: queries.

Ingestion reads the held values of a batch's keys in a few range queries and writes with executemany, so a
100,000-value batch costs a handful of statements, not one per value.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, select
from sqlalchemy.engine import Connection

from services.indicators.domain.values import Held, Key, Plan, ValueRow
from services.indicators.store.registry import chunks
from services.indicators.store.tables import indicator_value_revisions, indicator_values, value_batches


@dataclass(frozen=True)
class StoredValue:
    indicator: str
    value: str
    source: str
    batch_id: str
    version: int
    recorded_at: datetime
    superseded_at: datetime | None = None


def held_values(conn: Connection, rows: list[ValueRow]) -> dict[Key, Held]:
    """The current values of the batch's keys. Fetched by zone and year range, a superset (six indicators per
    zone and year at most), then narrowed to the keys asked for."""
    if not rows:
        return {}
    zone_codes = sorted({row.key[0] for row in rows})
    years = {row.key[2] for row in rows}
    v = indicator_values.c
    found: dict[Key, Held] = {}
    for chunk in chunks(zone_codes):
        query = select(v.zone_code, v.indicator, v.year, v.value, v.source, v.batch_id, v.version).where(
            v.zone_code.in_(chunk), v.year.between(min(years), max(years))
        )
        for r in conn.execute(query):
            found[(r.zone_code, r.indicator, r.year)] = Held(r.value, r.source, r.batch_id, r.version)
    if not found:
        return found  # the common first push: no need to build the batch's key set
    keys = {row.key for row in rows}
    return {key: held for key, held in found.items() if key in keys}


def stored_values(conn: Connection, keys: set[Key]) -> dict[Key, str]:
    """The current value of each of these keys that has one (e.g. the counterparts of a batch's rows that the
    part/whole check needs), fetched by zone, indicator and year range, then narrowed to the keys."""
    if not keys:
        return {}
    zone_codes = sorted({key[0] for key in keys})
    indicators = sorted({key[1] for key in keys})
    years = {key[2] for key in keys}
    v = indicator_values.c
    found: dict[Key, str] = {}
    for chunk in chunks(zone_codes):
        query = select(v.zone_code, v.indicator, v.year, v.value).where(
            v.zone_code.in_(chunk), v.indicator.in_(indicators), v.year.between(min(years), max(years))
        )
        for r in conn.execute(query):
            key = (r.zone_code, r.indicator, r.year)
            if key in keys:
                found[key] = r.value
    return found


def write_batch(
    conn: Connection, batch_id: str, source: str, request_id: str, received_at: datetime, accepted: int, plan: Plan
) -> None:
    conn.execute(
        value_batches.insert().values(
            batch_id=batch_id,
            source=source,
            received_at=received_at,
            request_id=request_id,
            accepted=accepted,
            created=len(plan.new),
            revised=len(plan.revised),
            unchanged=plan.unchanged,
        )
    )
    if plan.new:
        conn.execute(
            indicator_values.insert(),
            [
                {
                    "zone_code": zone_code,
                    "indicator": indicator,
                    "year": year,
                    "value": value,
                    "source": source,
                    "batch_id": batch_id,
                    "version": 1,
                }
                for (zone_code, indicator, year), value, source in plan.new
            ],
        )
    if plan.revised:
        conn.execute(
            indicator_value_revisions.insert(),
            [
                {
                    "zone_code": r.key[0],
                    "indicator": r.key[1],
                    "year": r.key[2],
                    "version": old.version,
                    "value": old.value,
                    "source": old.source,
                    "batch_id": old.batch_id,
                    "superseded_by": batch_id,
                }
                for r, old in plan.revised
            ],
        )
        v = indicator_values.c
        conn.execute(
            indicator_values.update()
            .where(
                v.zone_code == bindparam("k_zone"),
                v.indicator == bindparam("k_indicator"),
                v.year == bindparam("k_year"),
            )
            .values(
                value=bindparam("n_value"),
                source=bindparam("n_source"),
                batch_id=bindparam("n_batch"),
                version=bindparam("n_version"),
            ),
            [
                {
                    "k_zone": r.key[0],
                    "k_indicator": r.key[1],
                    "k_year": r.key[2],
                    "n_value": r.value,
                    "n_source": r.source,
                    "n_batch": batch_id,
                    "n_version": old.version + 1,
                }
                for r, old in plan.revised
            ],
        )


def current_values(conn: Connection, zone_codes: Iterable[str], year: int) -> dict[str, dict[str, StoredValue]]:
    """zone → indicator → current value, for one year."""
    v, b = indicator_values.c, value_batches.c
    result: dict[str, dict[str, StoredValue]] = {}
    for chunk in chunks(sorted(set(zone_codes))):
        query = (
            select(v.zone_code, v.indicator, v.value, v.source, v.batch_id, v.version, b.received_at)
            .join(value_batches, b.batch_id == v.batch_id)
            .where(v.zone_code.in_(chunk), v.year == year)
        )
        for r in conn.execute(query):
            stored = StoredValue(r.indicator, r.value, r.source, r.batch_id, r.version, r.received_at)
            result.setdefault(r.zone_code, {})[r.indicator] = stored
    return result


def value_history(conn: Connection, zone_code: str, indicator: str, year: int) -> list[StoredValue]:
    """Every version of one value, oldest first; the last is current."""
    r, b = indicator_value_revisions.c, value_batches
    pushed, replaced = b.alias("pushed"), b.alias("replaced")
    old = conn.execute(
        select(
            r.version,
            r.value,
            r.source,
            r.batch_id,
            pushed.c.received_at,
            replaced.c.received_at.label("superseded_at"),
        )
        .join(pushed, pushed.c.batch_id == r.batch_id)
        .join(replaced, replaced.c.batch_id == r.superseded_by)
        .where(r.zone_code == zone_code, r.indicator == indicator, r.year == year)
        .order_by(r.version)
    )
    history = [
        StoredValue(indicator, o.value, o.source, o.batch_id, o.version, o.received_at, o.superseded_at) for o in old
    ]
    current = current_values(conn, [zone_code], year).get(zone_code, {}).get(indicator)
    return [*history, current] if current else history
