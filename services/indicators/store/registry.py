"""Counties, designations, zones and recognitions: queries."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import bindparam, select
from sqlalchemy.engine import Connection

from services.common.convert import ZoneLevel
from services.common.db import insert_ignoring_duplicates
from services.indicators.domain.registry import Designation, Recognition, level_on
from services.indicators.store.tables import counties, designations, recognitions, zones


@dataclass(frozen=True)
class ZoneRow:
    zone_code: str
    name: str
    county_code: str
    parks: list[str]
    recognitions: list[Recognition]


def get_county(conn: Connection, county_code: str) -> str | None:
    return conn.execute(select(counties.c.name).where(counties.c.county_code == county_code)).scalar()


def upsert_county(conn: Connection, county_code: str, name: str) -> bool:
    """True when created."""
    now = datetime.now(UTC)
    if get_county(conn, county_code) is None:
        conn.execute(counties.insert().values(county_code=county_code, name=name, updated_at=now))
        return True
    conn.execute(counties.update().where(counties.c.county_code == county_code).values(name=name, updated_at=now))
    return False


def county_designations(conn: Connection, county_code: str) -> list[Designation]:
    rows = conn.execute(select(designations).where(designations.c.county_code == county_code))
    return sorted(Designation(r.listed_on, r.programme, ZoneLevel(r.level)) for r in rows)


def add_designation(conn: Connection, county_code: str, designation: Designation) -> bool:
    """False when this very listing was recorded before."""
    return insert_ignoring_duplicates(
        conn,
        designations,
        {
            "county_code": county_code,
            "programme": designation.programme,
            "level": designation.level.value,
            "listed_on": designation.listed_on,
            "recorded_at": datetime.now(UTC),
        },
    )


def upsert_zone(conn: Connection, zone_code: str, name: str, county_code: str, parks: list[str] | None) -> bool:
    """True when created. `parks` None keeps the zone's parks (none for a new zone)."""
    now = datetime.now(UTC)
    values: dict[str, object] = {"name": name, "county_code": county_code, "updated_at": now}
    if parks is not None:
        values["parks"] = parks
    exists = conn.execute(select(zones.c.zone_code).where(zones.c.zone_code == zone_code)).first()
    if exists is None:
        conn.execute(zones.insert().values(zone_code=zone_code, **{"parks": [], **values}))
        return True
    conn.execute(zones.update().where(zones.c.zone_code == zone_code).values(**values))
    return False


def zone_recognitions(conn: Connection, zone_code: str) -> list[Recognition]:
    return zones_recognitions(conn, [zone_code])[zone_code]


_RECOGNITIONS_OF_ZONES = (
    select(recognitions.c.zone_code, recognitions.c.recognized_on, recognitions.c.level)
    .where(recognitions.c.zone_code.in_(bindparam("zone_codes", expanding=True)))
    .order_by(recognitions.c.recognized_on)
)


def zones_recognitions(conn: Connection, zone_codes: list[str]) -> dict[str, list[Recognition]]:
    """zone_recognitions for many zones, one query per 500; a zone never recognised maps to []."""
    found: dict[str, list[Recognition]] = {code: [] for code in zone_codes}
    for chunk in chunks(sorted(found)):
        for r in conn.execute(_RECOGNITIONS_OF_ZONES, {"zone_codes": chunk}):
            found[r.zone_code].append(Recognition(r.recognized_on, ZoneLevel(r.level)))
    return found


def lock_zones(conn: Connection, zone_codes: Iterable[str]) -> None:
    """Lock these zones' rows until the transaction ends, for writes whose check reads one zone's facts and whose
    insert must not race another write to them: a recognition checked against the zone's rankings, a ranking
    checked against its zones' recognitions, a batch of values checked against the values held. On PostgreSQL
    (READ COMMITTED) each statement after the lock sees what the previous holder committed; codes are locked in
    sorted order, so two writers never deadlock. SQLite renders no FOR UPDATE: its BEGIN IMMEDIATE already lets
    one writer at a time in, so nothing is asked there."""
    if conn.dialect.name == "sqlite":
        return
    for chunk in chunks(sorted(set(zone_codes))):
        query = select(zones.c.zone_code).where(zones.c.zone_code.in_(chunk)).order_by(zones.c.zone_code)
        conn.execute(query.with_for_update()).all()


def get_zone(conn: Connection, zone_code: str) -> ZoneRow | None:
    row = conn.execute(select(zones).where(zones.c.zone_code == zone_code)).first()
    if row is None:
        return None
    return ZoneRow(row.zone_code, row.name, row.county_code, list(row.parks), zone_recognitions(conn, zone_code))


def list_zones(conn: Connection, after: str | None, limit: int) -> list[ZoneRow]:
    query = select(zones).order_by(zones.c.zone_code).limit(limit)
    if after is not None:
        query = query.where(zones.c.zone_code > after)
    rows = conn.execute(query).all()
    history = histories(conn, [r.zone_code for r in rows])
    return [ZoneRow(r.zone_code, r.name, r.county_code, list(r.parks), history[r.zone_code]) for r in rows]


def histories(conn: Connection, zone_codes: list[str]) -> dict[str, list[Recognition]]:
    """Recognition histories, oldest first, of the registered zones among `zone_codes` (absent ones are left out)."""
    history: dict[str, list[Recognition]] = {}
    for chunk in chunks(zone_codes):
        for code in conn.execute(select(zones.c.zone_code).where(zones.c.zone_code.in_(chunk))).scalars():
            history[code] = []
        for rec in conn.execute(
            select(recognitions).where(recognitions.c.zone_code.in_(chunk)).order_by(recognitions.c.recognized_on)
        ):
            history[rec.zone_code].append(Recognition(rec.recognized_on, ZoneLevel(rec.level)))
    return history


def levels_on(conn: Connection, zone_codes: list[str], on: date) -> dict[str, ZoneLevel | None]:
    """Each registered zone's level on a date (None: not recognised yet); unregistered zones are absent."""
    return {code: level_on(history, on) for code, history in histories(conn, zone_codes).items()}


def known_zones(conn: Connection, zone_codes: set[str]) -> set[str]:
    found: set[str] = set()
    for chunk in chunks(sorted(zone_codes)):
        found.update(conn.execute(select(zones.c.zone_code).where(zones.c.zone_code.in_(chunk))).scalars())
    return found


def chunks(items: list[str], size: int = 500) -> list[list[str]]:
    """IN lists in pieces: SQLite caps bound parameters per statement."""
    return [items[i : i + size] for i in range(0, len(items), size)]


def recognition_on(conn: Connection, zone_code: str, on: date) -> ZoneLevel | None:
    level = conn.execute(
        select(recognitions.c.level).where(recognitions.c.zone_code == zone_code, recognitions.c.recognized_on == on)
    ).scalar()
    return ZoneLevel(level) if level else None


def add_recognition(conn: Connection, zone_code: str, recognition: Recognition) -> None:
    conn.execute(
        recognitions.insert().values(
            zone_code=zone_code,
            recognized_on=recognition.recognized_on,
            level=recognition.level.value,
            recorded_at=datetime.now(UTC),
        )
    )
