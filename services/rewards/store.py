"""The award ledger: one row per (rule, beneficiary, basis), never deleted."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    select,
)
from sqlalchemy.engine import Connection, Row

from services.common.db import insert_ignoring_duplicates, new_metadata
from services.common.inbox import inbox_table
from services.common.outbox import outbox_table
from services.rewards.domain.rules import AwardDecision

metadata = new_metadata()
outbox = outbox_table(metadata)
inbox = inbox_table(metadata)

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
    Column("source_event_id", String(64), nullable=False),
    Column("granted_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True), nullable=True),
    Column("revocation_reason", Text, nullable=True),
    # An award is granted once per (rule, beneficiary, basis), whatever happens to the events behind it.
    UniqueConstraint("rule", "beneficiary_kind", "beneficiary_code", "basis_key", name="uq_awards_key"),
)


@dataclass(frozen=True)
class AwardFilter:
    year: int | None = None
    beneficiary_code: str | None = None
    rule: str | None = None


def grant(conn: Connection, decision: AwardDecision, source_event_id: str) -> str | None:
    """Insert the award unless its key already holds one; the new award id, or None when it already existed."""
    award_id = str(uuid.uuid4())
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
            "status": "granted",
            "basis": decision.basis,
            "clause": decision.clause,
            "parameters": [
                {
                    "name": p.name,
                    "value": str(p.value),
                    "version": p.version,
                    "effective_from": p.effective_from.isoformat(),
                }
                for p in decision.parameters
            ],
            "earmark": decision.earmark,
            "explanation": decision.explanation,
            "source_event_id": source_event_id,
            "granted_at": datetime.now(UTC),
        },
    )
    return award_id if inserted else None


def list_awards(conn: Connection, where: AwardFilter, after_seq: int, limit: int) -> list[Row[tuple[object, ...]]]:
    query = select(awards).where(awards.c.seq > after_seq).order_by(awards.c.seq).limit(limit)
    if where.year is not None:
        query = query.where(awards.c.year == where.year)
    if where.beneficiary_code:
        query = query.where(awards.c.beneficiary_code == where.beneficiary_code)
    if where.rule:
        query = query.where(awards.c.rule == where.rule)
    return list(conn.execute(query).all())
