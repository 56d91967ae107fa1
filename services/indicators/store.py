"""Indicators service tables and queries (SQLAlchemy Core)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import (
    JSON,
    Column,
    Date,
    DateTime,
    ForeignKey,
    String,
    Table,
    select,
)
from sqlalchemy.engine import Connection

from services.common.convert import ZoneLevel
from services.common.db import new_metadata
from services.common.inbox import inbox_table
from services.common.outbox import outbox_table
from services.indicators.domain.registry import Recognition

metadata = new_metadata()
outbox = outbox_table(metadata)
inbox = inbox_table(metadata)

counties = Table(
    "counties",
    metadata,
    Column("county_code", String(6), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

zones = Table(
    "zones",
    metadata,
    Column("zone_code", String(32), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("county_code", String(6), ForeignKey("counties.county_code"), nullable=False),
    Column("parks", JSON, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

recognitions = Table(
    "recognitions",
    metadata,
    Column("zone_code", String(32), ForeignKey("zones.zone_code"), primary_key=True),
    Column("recognized_on", Date, primary_key=True),
    Column("level", String(16), nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
)


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


def upsert_zone(conn: Connection, zone_code: str, name: str, county_code: str, parks: list[str]) -> bool:
    """True when created."""
    now = datetime.now(UTC)
    values = {"name": name, "county_code": county_code, "parks": parks, "updated_at": now}
    exists = conn.execute(select(zones.c.zone_code).where(zones.c.zone_code == zone_code)).first()
    if exists is None:
        conn.execute(zones.insert().values(zone_code=zone_code, **values))
        return True
    conn.execute(zones.update().where(zones.c.zone_code == zone_code).values(**values))
    return False


def zone_recognitions(conn: Connection, zone_code: str) -> list[Recognition]:
    rows = conn.execute(
        select(recognitions.c.recognized_on, recognitions.c.level)
        .where(recognitions.c.zone_code == zone_code)
        .order_by(recognitions.c.recognized_on)
    )
    return [Recognition(r.recognized_on, ZoneLevel(r.level)) for r in rows]


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
    history: dict[str, list[Recognition]] = {r.zone_code: [] for r in rows}
    if history:
        for rec in conn.execute(
            select(recognitions)
            .where(recognitions.c.zone_code.in_(list(history)))
            .order_by(recognitions.c.recognized_on)
        ):
            history[rec.zone_code].append(Recognition(rec.recognized_on, ZoneLevel(rec.level)))
    return [ZoneRow(r.zone_code, r.name, r.county_code, list(r.parks), history[r.zone_code]) for r in rows]


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
