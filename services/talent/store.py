"""Talent service tables: decisions (no personal data in clear) and the outbox."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    Integer,
    String,
    Table,
    Text,
    select,
)
from sqlalchemy.engine import Connection

from services.common.db import UtcDateTime, new_metadata
from services.common.outbox import outbox_table
from services.talent.domain.checks import Assessment

metadata = new_metadata()
outbox = outbox_table(metadata)

decisions = Table(
    "decisions",
    metadata,
    Column("seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("decision_id", String(36), nullable=False, unique=True),
    Column("check_name", String(64), nullable=False),
    Column("eligible", Boolean, nullable=False),
    Column("outcome", String(32), nullable=False),
    Column("rule_set_version", String(32), nullable=False),
    Column("decided_on", Date, nullable=False),
    Column("decided_at", UtcDateTime(), nullable=False),
    # Pseudonym of the applicant (keyed HMAC), so an audit can gather the decisions about one person.
    Column("subject", String(64), nullable=True, index=True),
    Column("subject_basis", String(32), nullable=True),
    Column("inputs", JSON, nullable=False),
    Column("conditions", JSON, nullable=False),
    Column("result", JSON, nullable=False),
    Column("explanation", Text, nullable=False),
    Column("requested_by", String(64), nullable=False),
    Column("request_id", String(64), nullable=False),
)


def decision_values(
    decision_id: str,
    assessment: Assessment,
    *,
    inputs: dict[str, str],
    subject: str | None,
    subject_basis: str | None,
    requested_by: str,
    request_id: str,
) -> dict[str, Any]:
    """The decision's column values, the same mapping `get_decision` reads back."""
    return {
        "decision_id": decision_id,
        "check_name": assessment.check,
        "eligible": assessment.eligible,
        "outcome": assessment.outcome.value,
        "rule_set_version": assessment.rule_set.version,
        "decided_on": assessment.decided_on,
        "decided_at": datetime.now(UTC),
        "subject": subject,
        "subject_basis": subject_basis,
        "inputs": inputs,
        "conditions": [
            {"name": c.name, "met": c.met, "detail": c.detail, "clause": c.clause, "quote": c.quote}
            for c in assessment.conditions
        ],
        "result": vars(assessment.result).copy(),
        "explanation": assessment.explanation,
        "requested_by": requested_by,
        "request_id": request_id,
    }


def add_decisions(conn: Connection, decisions_with_events: list[tuple[dict[str, Any], dict[str, Any]]]) -> list[None]:
    """Insert decisions and their outbox rows (`outbox.event_row`): two statements for the whole batch."""
    conn.execute(decisions.insert(), [decision for decision, _ in decisions_with_events])
    conn.execute(outbox.insert(), [event for _, event in decisions_with_events])
    return [None] * len(decisions_with_events)


def get_decision(conn: Connection, decision_id: str) -> dict[str, Any] | None:
    row = conn.execute(select(decisions).where(decisions.c.decision_id == decision_id)).first()
    return dict(row._mapping) if row is not None else None
