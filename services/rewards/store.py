"""Rewards tables and queries: the award ledger, the facts the rules read, parameter versions.

The ledger never deletes: an award is granted once per (rule, beneficiary, basis) and, when its basis no longer
holds, revoked with the reason; when the same basis holds again, the revoked award is reinstated (the same row,
id and amount), never granted as a second one. The unique key binds granted rows only (a partial unique index,
which SQLite and PostgreSQL both enforce), so a key can hold a granted award beside revoked ones (another basis
of the key: a corrected rank), and two granted awards on one key can never exist, whatever the consumers do
concurrently. Every change of an award's status is kept in `award_history`: the award row says what holds now
(`revoked_at`, `revocation_reason` and `revoked_by` describe its current revocation only), its history what
happened.

The facts are kept as last seen from the events (recognitions, listings, rank histories) and from
`POST /v1/talent-projects` (which this service owns), so that a correction can be judged against all of them.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    delete,
    func,
    select,
    text,
    update,
)
from sqlalchemy.engine import Connection, Row

from services.common.convert import ZoneLevel
from services.common.db import UtcDateTime, insert_ignoring_duplicates, new_metadata
from services.common.inbox import inbox_table
from services.common.outbox import outbox_table
from services.rewards.domain.parameters import ParameterVersion, render_value, stored_version
from services.rewards.domain.reconcile import GrantedAward
from services.rewards.domain.rules import (
    AwardDecision,
    DesignationFact,
    RankFact,
    RecognitionFact,
    TalentProjectFact,
)

metadata = new_metadata()
outbox = outbox_table(metadata)
inbox = inbox_table(metadata)

GRANTED = "granted"
REVOKED = "revoked"

awards = Table(
    "awards",
    metadata,
    Column("seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("award_id", String(36), nullable=False, unique=True),
    Column("rule", String(64), nullable=False),
    Column("beneficiary_kind", String(16), nullable=False),
    Column("beneficiary_code", String(64), nullable=False),
    Column("basis_key", String(200), nullable=False),
    Column("year", Integer, nullable=False),
    Column("amount_yuan", BigInteger, nullable=False),
    Column("status", String(16), nullable=False),
    Column("basis", JSON, nullable=False),
    Column("clause", Integer, nullable=False),
    Column("parameters", JSON, nullable=False),
    Column("earmark", String(64), nullable=False),
    Column("explanation", Text, nullable=False),
    Column("source_event_id", String(200), nullable=False),  # what caused the grant: an event id, or a request
    Column("granted_at", UtcDateTime(), nullable=False),
    Column("revoked_at", UtcDateTime(), nullable=True),
    Column("revocation_reason", Text, nullable=True),
    Column("revoked_by", String(200), nullable=True),  # what caused the revocation, like source_event_id
    # One granted award per (rule, beneficiary, basis key), whatever happens to the events behind it; revoked rows
    # (of other bases of the key) stay beside it.
    Index(
        "uq_awards_granted_key",
        "rule",
        "beneficiary_kind",
        "beneficiary_code",
        "basis_key",
        unique=True,
        sqlite_where=text("status = 'granted'"),
        postgresql_where=text("status = 'granted'"),
    ),
    Index("ix_awards_beneficiary", "beneficiary_code", "seq"),
    Index("ix_awards_year", "year", "seq"),
)

# Every status change of every award, oldest first (by seq): granted, revoked, granted again (reinstated), ...
award_history = Table(
    "award_history",
    metadata,
    Column("seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("award_id", String(36), ForeignKey("awards.award_id"), nullable=False),
    Column("status", String(16), nullable=False),  # the status the award took: granted | revoked
    Column("at", UtcDateTime(), nullable=False),
    # A revocation's reason, a reinstatement's ("<trigger>: its basis holds again"); None for the first grant.
    Column("reason", Text, nullable=True),
    Column("source", String(200), nullable=False),  # what caused it: an event id, a request, a parameter version
    Index("ix_award_history_award", "award_id", "seq"),
)

zone_recognitions = Table(
    "zone_recognitions",
    metadata,
    Column("zone_code", String(32), primary_key=True),
    Column("recognized_on", Date, primary_key=True),
    Column("level", String(16), nullable=False),
)

county_designations = Table(
    "county_designations",
    metadata,
    Column("county_code", String(6), primary_key=True),
    Column("programme", String(32), primary_key=True),
    Column("level", String(16), primary_key=True),
    Column("listed_on", Date, primary_key=True),
)

# Each zone's official ranks as last read from the indicators service (replaced whole for a zone).
zone_ranks = Table(
    "zone_ranks",
    metadata,
    Column("zone_code", String(32), primary_key=True),
    Column("year", Integer, primary_key=True),
    Column("level", String(16), primary_key=True),
    Column("rank", Integer, nullable=False),
)

talent_projects = Table(
    "talent_projects",
    metadata,
    Column("project_code", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("zone_code", String(32), nullable=False, index=True),
    Column("talent_level", String(16), nullable=False),
    Column("investment_yuan", BigInteger, nullable=False),
    Column("recruited_on", Date, nullable=False),
    Column("recorded_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
)

# Versions added by an admin; version 1 of each parameter is the platform's default, in code.
reward_parameters = Table(
    "reward_parameters",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("value", String(64), nullable=False),
    Column("effective_from", Date, nullable=False),
    Column("recorded_at", UtcDateTime(), nullable=False),
    Column("request_id", String(64), nullable=False),
)


# ------------------------------------------------------------------------------------------------- ledger


@dataclass(frozen=True)
class AwardFilter:
    year: int | None = None
    beneficiary_code: str | None = None
    rule: str | None = None
    status: str | None = None
    beneficiary_kind: str | None = None


@dataclass(frozen=True)
class StatusChange:
    """One entry of an award's history."""

    status: str  # GRANTED | REVOKED
    at: datetime
    reason: str | None
    source: str


def parameters_json(parameters: Iterable[ParameterVersion]) -> list[dict[str, Any]]:
    return [
        {
            "name": p.name,
            "value": render_value(p.value),
            "version": p.version,
            "effective_from": p.effective_from.isoformat(),
        }
        for p in parameters
    ]


def _record(conn: Connection, award_id: str, status: str, at: datetime, reason: str | None, source: str) -> None:
    conn.execute(
        award_history.insert().values(award_id=award_id, status=status, at=at, reason=reason, source=source[:200])
    )


def grant(conn: Connection, decision: AwardDecision, source: str) -> str | None:
    """Insert the award unless its key already holds a granted one; the new award id, or None."""
    award_id = str(uuid.uuid4())
    now = datetime.now(UTC)
    inserted = insert_ignoring_duplicates(
        conn,
        awards,
        {
            "award_id": award_id,
            "rule": decision.rule,
            "beneficiary_kind": decision.beneficiary_kind,
            "beneficiary_code": decision.beneficiary_code,
            "basis_key": decision.basis_key,
            "year": decision.year,
            "amount_yuan": decision.amount_yuan,
            "status": GRANTED,
            "basis": decision.basis,
            "clause": decision.clause,
            "parameters": parameters_json(decision.parameters),
            "earmark": decision.earmark,
            "explanation": decision.explanation,
            "source_event_id": source[:200],
            "granted_at": now,
        },
    )
    if not inserted:
        return None
    _record(conn, award_id, GRANTED, now, None, source)
    return award_id


def revoke(conn: Connection, award_id: str, reason: str, source: str) -> bool:
    """Mark a granted award revoked; False when it was not (or no longer) granted."""
    now = datetime.now(UTC)
    done = conn.execute(
        update(awards)
        .where(awards.c.award_id == award_id, awards.c.status == GRANTED)
        .values(status=REVOKED, revoked_at=now, revocation_reason=reason, revoked_by=source[:200])
        .returning(awards.c.award_id)
    ).first()
    if done is None:
        return False
    _record(conn, award_id, REVOKED, now, reason, source)
    return True


def reinstate(conn: Connection, award_id: str, reason: str, source: str) -> Row[tuple[object, ...]] | None:
    """Grant a revoked award again, as it was (its id, amount, parameters, explanation, first `granted_at`), its
    current revocation cleared and the change kept in its history; the award's row, or None when it was not
    revoked or its key holds a granted award (the partial unique index would refuse a second one)."""
    other = awards.alias("other")
    key_held = (
        select(other.c.seq)
        .where(
            other.c.rule == awards.c.rule,
            other.c.beneficiary_kind == awards.c.beneficiary_kind,
            other.c.beneficiary_code == awards.c.beneficiary_code,
            other.c.basis_key == awards.c.basis_key,
            other.c.status == GRANTED,
        )
        .exists()
    )
    row = conn.execute(
        update(awards)
        .where(awards.c.award_id == award_id, awards.c.status == REVOKED, ~key_held)
        .values(status=GRANTED, revoked_at=None, revocation_reason=None, revoked_by=None)
        .returning(*awards.c)
    ).first()
    if row is not None:
        _record(conn, award_id, GRANTED, datetime.now(UTC), reason, source)
    return row


def histories(conn: Connection, award_ids: Sequence[str]) -> dict[str, list[StatusChange]]:
    """Every status change of these awards, oldest first, by award id (an award without any has none)."""
    t = award_history.c
    result: dict[str, list[StatusChange]] = {}
    for chunk in _chunks(award_ids):
        query = select(t.award_id, t.status, t.at, t.reason, t.source).where(t.award_id.in_(chunk or []))
        for award_id, status, at, reason, source in conn.execute(query.order_by(t.seq)).all():
            result.setdefault(award_id, []).append(StatusChange(status, at, reason, source))
    return result


def as_granted_award(row: Any) -> GrantedAward:
    """A ledger row (granted or revoked) as the reconciliation plan reads it."""
    return GrantedAward(
        award_id=row.award_id,
        rule=row.rule,
        beneficiary_kind=row.beneficiary_kind,
        beneficiary_code=row.beneficiary_code,
        basis_key=row.basis_key,
        year=row.year,
        amount_yuan=row.amount_yuan,
        basis=dict(row.basis),
        parameters=tuple(
            stored_version(p["name"], p["value"], p["version"], date.fromisoformat(p["effective_from"]))
            for p in row.parameters
        ),
    )


AwardRows = dict[str, list[Row[tuple[object, ...]]]]


@dataclass(frozen=True)
class LedgerAwards:
    """A rule's awards as the reconciliation plan reads them, by beneficiary code, oldest first."""

    granted: dict[str, list[GrantedAward]]
    revoked: dict[str, list[GrantedAward]]


def ledger_awards(conn: Connection, rule: str, kind: str, codes: Sequence[str] | None) -> LedgerAwards:
    """The granted and the revoked awards of a rule (all beneficiaries when `codes` is None)."""
    granted, revoked = award_rows(conn, rule, kind, codes)
    return LedgerAwards(
        {code: [as_granted_award(row) for row in rows] for code, rows in granted.items()},
        {code: [as_granted_award(row) for row in rows] for code, rows in revoked.items()},
    )


def award_rows(conn: Connection, rule: str, kind: str, codes: Sequence[str] | None) -> tuple[AwardRows, AwardRows]:
    """The granted and the revoked awards of a rule as rows (every column), by beneficiary code, oldest first."""
    query = select(awards).where(awards.c.rule == rule, awards.c.beneficiary_kind == kind)
    granted: AwardRows = {}
    revoked: AwardRows = {}
    for chunk in _chunks(codes):
        where = query if chunk is None else query.where(awards.c.beneficiary_code.in_(chunk))
        for row in conn.execute(where.order_by(awards.c.seq)).all():
            (granted if row.status == GRANTED else revoked).setdefault(row.beneficiary_code, []).append(row)
    return granted, revoked


def get_award(conn: Connection, award_id: str) -> Row[tuple[object, ...]] | None:
    return conn.execute(select(awards).where(awards.c.award_id == award_id)).first()


def list_awards(conn: Connection, where: AwardFilter, after_seq: int, limit: int) -> list[Row[tuple[object, ...]]]:
    query = select(awards).where(awards.c.seq > after_seq).order_by(awards.c.seq).limit(limit)
    if where.year is not None:
        query = query.where(awards.c.year == where.year)
    if where.beneficiary_code:
        query = query.where(awards.c.beneficiary_code == where.beneficiary_code)
    if where.rule:
        query = query.where(awards.c.rule == where.rule)
    if where.status:
        query = query.where(awards.c.status == where.status)
    if where.beneficiary_kind:
        query = query.where(awards.c.beneficiary_kind == where.beneficiary_kind)
    return list(conn.execute(query).all())


def awards_of(conn: Connection, rule: str, kind: str, code: str) -> list[Row[tuple[object, ...]]]:
    """Every award (granted and revoked) of one beneficiary under one rule, oldest first."""
    query = select(awards).where(
        awards.c.rule == rule, awards.c.beneficiary_kind == kind, awards.c.beneficiary_code == code
    )
    return list(conn.execute(query.order_by(awards.c.seq)).all())


@dataclass(frozen=True)
class SummaryRow:
    year: int
    rule: str
    earmark: str
    status: str
    count: int
    amount_yuan: int


def summary_rows(conn: Connection, year: int | None) -> list[SummaryRow]:
    """Counts and sums by year, rule, earmark and status; summed in the database, in integer yuan."""
    a = awards.c
    query = select(a.year, a.rule, a.earmark, a.status, func.count(), func.sum(a.amount_yuan)).group_by(
        a.year, a.rule, a.earmark, a.status
    )
    if year is not None:
        query = query.where(a.year == year)
    return [SummaryRow(r[0], r[1], r[2], r[3], int(r[4]), int(r[5] or 0)) for r in conn.execute(query)]


def lock_rule(conn: Connection, rule: str) -> None:
    """Serialise reconciliations of one rule until the transaction ends.

    PostgreSQL runs consumers' transactions concurrently; without the lock two of them could each decide from a
    snapshot the other is changing (the unique index already rules out paying twice). SQLite needs nothing: its
    writers queue on BEGIN IMMEDIATE.
    """
    if conn.dialect.name == "postgresql":
        key = int.from_bytes(uuid.uuid5(uuid.NAMESPACE_OID, f"gaoxin.rewards.{rule}").bytes[:8], "big", signed=True)
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


# -------------------------------------------------------------------------------------------------- facts


def _chunks(codes: Sequence[str] | None, size: int = 500) -> Iterable[Sequence[str] | None]:
    if codes is None:
        yield None
        return
    unique = sorted(set(codes))
    for start in range(0, len(unique), size):
        yield unique[start : start + size]


def add_recognitions(conn: Connection, zone_code: str, facts: Iterable[RecognitionFact]) -> int:
    """Union the recognitions into the zone's (they are append-only upstream); the number new here."""
    added = 0
    for fact in facts:
        added += insert_ignoring_duplicates(
            conn,
            zone_recognitions,
            {"zone_code": zone_code, "recognized_on": fact.recognized_on, "level": fact.level.value},
        )
    return added


def recognitions(conn: Connection, zone_codes: Sequence[str] | None) -> dict[str, list[RecognitionFact]]:
    t = zone_recognitions.c
    result: dict[str, list[RecognitionFact]] = {}
    for chunk in _chunks(zone_codes):
        query = select(t.zone_code, t.recognized_on, t.level).order_by(t.zone_code, t.recognized_on)
        if chunk is not None:
            query = query.where(t.zone_code.in_(chunk))
        for code, on, level in conn.execute(query):
            result.setdefault(code, []).append(RecognitionFact(on, ZoneLevel(level)))
    return result


def add_designation(conn: Connection, county_code: str, fact: DesignationFact) -> bool:
    return insert_ignoring_duplicates(
        conn,
        county_designations,
        {
            "county_code": county_code,
            "programme": fact.programme,
            "level": fact.level.value,
            "listed_on": fact.listed_on,
        },
    )


def designations(conn: Connection, county_codes: Sequence[str] | None) -> dict[str, list[DesignationFact]]:
    t = county_designations.c
    result: dict[str, list[DesignationFact]] = {}
    for chunk in _chunks(county_codes):
        query = select(t.county_code, t.programme, t.level, t.listed_on).order_by(t.county_code, t.listed_on)
        if chunk is not None:
            query = query.where(t.county_code.in_(chunk))
        for code, programme, level, on in conn.execute(query):
            result.setdefault(code, []).append(DesignationFact(programme, ZoneLevel(level), on))
    return result


def replace_rank_histories(conn: Connection, histories: Mapping[str, Iterable[RankFact]]) -> list[str]:
    """Make each zone's stored ranks exactly its history here; the zones whose ranks changed.

    Three statements whatever the number of zones (read, delete, insert): a ranking's zones are written in the
    consumer's transaction, on the path from a ranking push to its awards.
    """
    wanted = {zone: {(f.year, f.level.value): f.rank for f in history} for zone, history in histories.items()}
    if not wanted:
        return []
    t = zone_ranks.c
    held: dict[str, dict[tuple[int, str], int]] = {zone: {} for zone in wanted}
    for chunk in _chunks(list(wanted)):
        rows = conn.execute(select(t.zone_code, t.year, t.level, t.rank).where(t.zone_code.in_(chunk or [])))
        for zone, year, level, rank in rows.all():
            held[zone][(year, level)] = rank
    changed = sorted(zone for zone in wanted if held[zone] != wanted[zone])
    for chunk in _chunks(changed):
        conn.execute(delete(zone_ranks).where(t.zone_code.in_(chunk or [])))
    rows_to_insert = [
        {"zone_code": zone, "year": year, "level": level, "rank": rank}
        for zone in changed
        for (year, level), rank in wanted[zone].items()
    ]
    if rows_to_insert:
        conn.execute(zone_ranks.insert(), rows_to_insert)
    return changed


def rank_histories(conn: Connection, zone_codes: Sequence[str] | None) -> dict[str, list[RankFact]]:
    t = zone_ranks.c
    result: defaultdict[str, list[RankFact]] = defaultdict(list)
    levels = {lv.value: lv for lv in ZoneLevel}
    for chunk in _chunks(zone_codes):
        query = select(t.zone_code, t.year, t.level, t.rank)
        if chunk is not None:
            query = query.where(t.zone_code.in_(chunk))
        # .all() fetches in one go; iterating the result row by row costs as much again as the query.
        for code, year, level, rank in conn.execute(query).all():
            result[code].append(RankFact(year, levels[level], rank))
    return dict(result)


def zones_ranked(conn: Connection, rankings: Iterable[tuple[int, ZoneLevel]]) -> dict[tuple[int, ZoneLevel], set[str]]:
    """The zones each ranking (year, level) holds a rank for; a ranking with none is left out."""
    t = zone_ranks.c
    result: dict[tuple[int, ZoneLevel], set[str]] = {}
    for year, level in sorted(set(rankings)):
        query = select(t.zone_code).where(t.year == year, t.level == level.value)
        zones = set(conn.execute(query).scalars())
        if zones:
            result[(year, level)] = zones
    return result


@dataclass(frozen=True)
class TalentProjectRow:
    fact: TalentProjectFact
    recorded_at: datetime
    updated_at: datetime


def _project(row: Any) -> TalentProjectFact:
    return TalentProjectFact(
        row.project_code, row.name, row.zone_code, ZoneLevel(row.talent_level), row.investment_yuan, row.recruited_on
    )


def upsert_talent_project(conn: Connection, fact: TalentProjectFact) -> tuple[bool, bool]:
    """Record a project or correct it; (created, changed)."""
    now = datetime.now(UTC)
    values = {
        "name": fact.name,
        "zone_code": fact.zone_code,
        "talent_level": fact.talent_level.value,
        "investment_yuan": fact.investment_yuan,
        "recruited_on": fact.recruited_on,
    }
    row = conn.execute(select(talent_projects).where(talent_projects.c.project_code == fact.project_code)).first()
    if row is None:
        created = insert_ignoring_duplicates(
            conn,
            talent_projects,
            {"project_code": fact.project_code, **values, "recorded_at": now, "updated_at": now},
        )
        if created:
            return True, True
        row = conn.execute(select(talent_projects).where(talent_projects.c.project_code == fact.project_code)).one()
    if _project(row) == fact:
        return False, False
    conn.execute(
        update(talent_projects)
        .where(talent_projects.c.project_code == fact.project_code)
        .values(**values, updated_at=now)
    )
    return False, True


def talent_project(conn: Connection, code: str) -> TalentProjectRow | None:
    row = conn.execute(select(talent_projects).where(talent_projects.c.project_code == code)).first()
    return TalentProjectRow(_project(row), row.recorded_at, row.updated_at) if row else None


def talent_projects_by_code(conn: Connection, codes: Sequence[str] | None) -> dict[str, TalentProjectFact]:
    result: dict[str, TalentProjectFact] = {}
    for chunk in _chunks(codes):
        query = select(talent_projects)
        if chunk is not None:
            query = query.where(talent_projects.c.project_code.in_(chunk))
        for row in conn.execute(query):
            result[row.project_code] = _project(row)
    return result


def talent_projects_in_zone(conn: Connection, zone_code: str) -> list[str]:
    t = talent_projects.c
    return list(conn.execute(select(t.project_code).where(t.zone_code == zone_code).order_by(t.project_code)).scalars())


def talent_projects_in_zones(conn: Connection, zone_codes: Sequence[str]) -> list[str]:
    t = talent_projects.c
    found: set[str] = set()
    for chunk in _chunks(zone_codes):
        found.update(conn.execute(select(t.project_code).where(t.zone_code.in_(chunk or []))).scalars())
    return sorted(found)


# --------------------------------------------------------------------------------------------- parameters


def parameter_versions(conn: Connection) -> list[ParameterVersion]:
    t = reward_parameters.c
    rows = conn.execute(select(t.name, t.version, t.value, t.effective_from).order_by(t.name, t.version))
    return [_admin_version(r.name, r.value, r.version, r.effective_from) for r in rows]


def _admin_version(name: str, value: str, version: int, effective_from: date) -> ParameterVersion:
    v = stored_version(name, value, version, effective_from)
    return ParameterVersion(v.name, v.value, v.version, v.effective_from, v.clause, v.description, "admin")


def parameter_recorded_at(conn: Connection) -> dict[tuple[str, int], datetime]:
    t = reward_parameters.c
    return {(r.name, r.version): r.recorded_at for r in conn.execute(select(t.name, t.version, t.recorded_at))}


def add_parameter_version(conn: Connection, version: ParameterVersion, request_id: str) -> bool:
    """False when another request took this version number first."""
    return insert_ignoring_duplicates(
        conn,
        reward_parameters,
        {
            "name": version.name,
            "version": version.version,
            "value": render_value(version.value),
            "effective_from": version.effective_from,
            "recorded_at": datetime.now(UTC),
            "request_id": request_id[:64],
        },
    )
