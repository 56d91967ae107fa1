"""Gateway tables: API keys (hashed) and idempotency records."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    Integer,
    LargeBinary,
    String,
    Table,
    delete,
    select,
    update,
)
from sqlalchemy.engine import Connection

from services.common.db import insert_ignoring_duplicates, new_metadata

metadata = new_metadata()

api_keys = Table(
    "api_keys",
    metadata,
    Column("key_id", String(32), primary_key=True),
    Column("key_hash", String(64), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("scopes", JSON, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True), nullable=True),
)

idempotency_records = Table(
    "idempotency_records",
    metadata,
    Column("key_id", String(32), primary_key=True),
    Column("idempotency_key", String(255), primary_key=True),
    Column("request_hash", String(64), nullable=False),
    Column("status_code", Integer, nullable=True),  # NULL while the first request is still running
    Column("response_body", LargeBinary, nullable=True),
    Column("content_type", String(100), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

IDEMPOTENCY_RETENTION = timedelta(hours=24)


@dataclass(frozen=True)
class ApiKey:
    key_id: str
    name: str
    scopes: frozenset[str]


def find_key(conn: Connection, hashed: str) -> ApiKey | None:
    row = conn.execute(select(api_keys).where(api_keys.c.key_hash == hashed, api_keys.c.revoked_at.is_(None))).first()
    return ApiKey(row.key_id, row.name, frozenset(row.scopes)) if row else None


def add_key(conn: Connection, key_id: str, hashed: str, name: str, scopes: list[str]) -> bool:
    """False when a key with this hash already exists (bootstrap keys are added at every start)."""
    return insert_ignoring_duplicates(
        conn,
        api_keys,
        {
            "key_id": key_id,
            "key_hash": hashed,
            "name": name,
            "scopes": scopes,
            "created_at": datetime.now(UTC),
        },
    )


def count_keys(conn: Connection) -> int:
    return len(conn.execute(select(api_keys.c.key_id)).all())


@dataclass(frozen=True)
class IdempotencyRecord:
    request_hash: str
    status_code: int | None
    response_body: bytes | None
    content_type: str | None


def claim_idempotency_key(conn: Connection, key_id: str, key: str, request_hash: str) -> IdempotencyRecord | None:
    """Reserve the key for this request; the earlier record when the key was already used (or is in use)."""
    now = datetime.now(UTC)
    conn.execute(
        delete(idempotency_records).where(
            idempotency_records.c.key_id == key_id,
            idempotency_records.c.idempotency_key == key,
            idempotency_records.c.created_at < now - IDEMPOTENCY_RETENTION,
        )
    )
    claimed = insert_ignoring_duplicates(
        conn,
        idempotency_records,
        {"key_id": key_id, "idempotency_key": key, "request_hash": request_hash, "created_at": now},
    )
    if claimed:
        return None
    row = conn.execute(
        select(idempotency_records).where(
            idempotency_records.c.key_id == key_id, idempotency_records.c.idempotency_key == key
        )
    ).one()
    return IdempotencyRecord(row.request_hash, row.status_code, row.response_body, row.content_type)


def complete_idempotency_key(
    conn: Connection, key_id: str, key: str, status_code: int, body: bytes, content_type: str
) -> None:
    conn.execute(
        update(idempotency_records)
        .where(idempotency_records.c.key_id == key_id, idempotency_records.c.idempotency_key == key)
        .values(status_code=status_code, response_body=body, content_type=content_type)
    )


def release_idempotency_key(conn: Connection, key_id: str, key: str) -> None:
    """Forget a reservation whose request did not complete in a way worth replaying (e.g. invalid input)."""
    conn.execute(
        delete(idempotency_records).where(
            idempotency_records.c.key_id == key_id, idempotency_records.c.idempotency_key == key
        )
    )
