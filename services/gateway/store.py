"""Gateway tables: API keys (hashed), idempotency records, audit log, webhooks, completed demo-data loads, the
gateway's own secrets."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    UniqueConstraint,
    and_,
    bindparam,
    delete,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.engine import Connection

from services.common.db import UtcDateTime, insert_ignoring_duplicates, new_metadata
from services.common.inbox import inbox_table
from services.gateway.domain.audit import GENESIS, AuditEntry, entry_hash
from services.gateway.domain.keys import key_hash, new_key

metadata = new_metadata()

api_keys = Table(
    "api_keys",
    metadata,
    Column("key_id", String(32), primary_key=True),
    Column("key_hash", String(64), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("scopes", JSON, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("revoked_at", UtcDateTime(), nullable=True),
    Column("rate_limit_per_minute", Integer, nullable=True),  # NULL: the deployment's default
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
    # The headers a replay repeats (Content-Location, Location); NULL in records stored before they were kept.
    Column("response_headers", JSON, nullable=True),
    # When the key was claimed (or taken over): the 24 hours of retention, and an in-progress claim's lease, run
    # from here.
    Column("created_at", UtcDateTime(), nullable=False),
    # Who holds the claim: only its holder completes or releases it, so a request that outlived its lease (and
    # whose claim a retry took over) cannot overwrite or drop the retry's. NULL in records claimed before.
    Column("claim_id", String(32), nullable=True),
)

# Append-only: rows are inserted, never updated or deleted; `audit_head` serialises writers so the chain never forks.
audit_log = Table(
    "audit_log",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("at", String(40), nullable=False),
    Column("key_id", String(32), nullable=False),
    Column("action", String(200), nullable=False),
    Column("resource", String(500), nullable=False),
    Column("outcome", Integer, nullable=False),
    Column("request_id", String(128), nullable=False),
    Column("previous_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
)

audit_head = Table(
    "audit_head",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("last_seq", Integer, nullable=False),
    Column("last_hash", String(64), nullable=False),
)

webhooks = Table(
    "webhooks",
    metadata,
    Column("webhook_id", String(40), primary_key=True),
    Column("url", String(2000), nullable=False),
    Column("events", JSON, nullable=False),
    # Kept as given: signing needs the key itself (as with every Standard Webhooks sender); never returned.
    Column("secret", String(200), nullable=False),
    Column("created_by", String(32), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("disabled_at", UtcDateTime(), nullable=True),
    Column("disabled_reason", String(500), nullable=True),
)

webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("delivery_id", String(40), primary_key=True),
    Column("webhook_id", String(40), ForeignKey("webhooks.webhook_id"), nullable=False),
    Column("message_id", String(64), nullable=False),  # the event id: the same on every retry
    Column("event_type", String(100), nullable=False),
    Column("payload", LargeBinary, nullable=False),
    Column("status", String(16), nullable=False),  # pending | delivered | failed | abandoned
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", UtcDateTime(), nullable=True),
    Column("last_status_code", Integer, nullable=True),
    Column("last_error", String(500), nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("delivered_at", UtcDateTime(), nullable=True),
    UniqueConstraint("webhook_id", "message_id", name="uq_webhook_deliveries_message"),
    Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
)

webhook_attempts = Table(
    "webhook_attempts",
    metadata,
    Column("delivery_id", String(40), ForeignKey("webhook_deliveries.delivery_id"), primary_key=True),
    Column("attempt", Integer, primary_key=True, autoincrement=False),
    Column("at", UtcDateTime(), nullable=False),
    Column("status_code", Integer, nullable=True),
    Column("error", String(500), nullable=True),
    Column("duration_ms", Integer, nullable=False),
)

inbox = inbox_table(metadata)

# The demo data (`gaoxin up` with GAOXIN_DEMO_DATA) is loaded into an installation once: a row here, written only
# after every push of a load succeeded, makes later starts skip it, so they never push the demo figures over what
# users changed since. Kept with the keys: it describes this installation's data, wherever its databases live.
demo_data_loads = Table(
    "demo_data_loads",
    metadata,
    Column("load_id", Integer, primary_key=True),
    Column("loaded_at", UtcDateTime(), nullable=False),
    Column("counts", JSON, nullable=False),
)

# Keys the gateway generates for itself once per installation (e.g. the one that signs page tokens), kept here so
# that every replica uses the same one. Never logged, never in an answer.
gateway_secrets = Table(
    "gateway_secrets",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("value", LargeBinary, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
)

IDEMPOTENCY_RETENTION = timedelta(hours=24)
SECRET_BYTES = 32


@dataclass(frozen=True)
class ApiKey:
    key_id: str
    name: str
    scopes: frozenset[str]
    rate_limit_per_minute: int | None = None


@dataclass(frozen=True)
class KeyListing:
    key_id: str
    name: str
    scopes: list[str]
    created_at: datetime
    revoked_at: datetime | None
    rate_limit_per_minute: int | None


def find_key(conn: Connection, hashed: str) -> ApiKey | None:
    row = conn.execute(select(api_keys).where(api_keys.c.key_hash == hashed, api_keys.c.revoked_at.is_(None))).first()
    return ApiKey(row.key_id, row.name, frozenset(row.scopes), row.rate_limit_per_minute) if row else None


def listing_by_hash(conn: Connection, hashed: str) -> KeyListing | None:
    """The key with this hash, revoked or not (find_key sees only keys that still work)."""
    row = conn.execute(select(api_keys).where(api_keys.c.key_hash == hashed)).first()
    return _listing(row) if row else None


def add_key(
    conn: Connection, key_id: str, hashed: str, name: str, scopes: list[str], rate_limit_per_minute: int | None = None
) -> bool:
    """False when a key with this id or hash already exists (bootstrap keys are added at every start)."""
    return insert_ignoring_duplicates(
        conn,
        api_keys,
        {
            "key_id": key_id,
            "key_hash": hashed,
            "name": name,
            "scopes": scopes,
            "created_at": datetime.now(UTC),
            "rate_limit_per_minute": rate_limit_per_minute,
        },
    )


def _listing(row: Any) -> KeyListing:
    return KeyListing(row.key_id, row.name, list(row.scopes), row.created_at, row.revoked_at, row.rate_limit_per_minute)


def _after(created: Any, ident: Any, position: tuple[datetime, str] | None, newest_first: bool = False) -> Any:
    """Rows past `position` (the (created_at, id) of the last row of the previous page), in list order."""
    if position is None:
        return true()
    at, last = position
    if newest_first:
        return or_(created < at, and_(created == at, ident < last))
    return or_(created > at, and_(created == at, ident > last))


def list_keys(
    conn: Connection, limit: int | None = None, after: tuple[datetime, str] | None = None
) -> list[KeyListing]:
    """Oldest first, by (created_at, key_id); every one without `limit`."""
    k = api_keys.c
    query = select(api_keys).where(_after(k.created_at, k.key_id, after)).order_by(k.created_at, k.key_id)
    return [_listing(r) for r in conn.execute(query if limit is None else query.limit(limit))]


def revoke_key(conn: Connection, key_id: str) -> KeyListing | None:
    """Revoke (never delete: the audit log refers to key ids); None when there is no such key."""
    conn.execute(
        update(api_keys)
        .where(api_keys.c.key_id == key_id, api_keys.c.revoked_at.is_(None))
        .values(revoked_at=datetime.now(UTC))
    )
    row = conn.execute(select(api_keys).where(api_keys.c.key_id == key_id)).first()
    return _listing(row) if row else None


def count_keys(conn: Connection) -> int:
    return len(conn.execute(select(api_keys.c.key_id)).all())


def demo_data_loaded_at(conn: Connection) -> datetime | None:
    """When the demo data was first completely loaded into this installation; None if it never was."""
    at: datetime | None = conn.execute(
        select(demo_data_loads.c.loaded_at).order_by(demo_data_loads.c.load_id).limit(1)
    ).scalar()
    return at


def record_demo_data_load(conn: Connection, counts: dict[str, int], at: datetime) -> None:
    conn.execute(demo_data_loads.insert().values(loaded_at=at, counts=counts))


def gateway_secret(conn: Connection, name: str) -> bytes:
    """The installation's secret of this name, generated (32 random bytes) by whichever replica asks first."""
    insert_ignoring_duplicates(
        conn,
        gateway_secrets,
        {"name": name, "value": secrets.token_bytes(SECRET_BYTES), "created_at": datetime.now(UTC)},
    )
    value: bytes = conn.execute(select(gateway_secrets.c.value).where(gateway_secrets.c.name == name)).scalar_one()
    return value


@dataclass(frozen=True)
class IdempotencyRecord:
    request_hash: str
    status_code: int | None
    response_body: bytes | None
    content_type: str | None
    response_headers: dict[str, str]
    # When it was claimed: for a record still in progress, its lease runs from here.
    claimed_at: datetime | None = field(default=None, compare=False)


def _record_key(key_id: str, key: str) -> Any:
    return and_(idempotency_records.c.key_id == key_id, idempotency_records.c.idempotency_key == key)


def claim_idempotency_key(
    conn: Connection,
    key_id: str,
    key: str,
    request_hash: str,
    *,
    claim_id: str,
    lease: timedelta,
    now: datetime | None = None,
) -> IdempotencyRecord | None:
    """Reserve the key for this request under `claim_id`; None when it is this request's to run, else the earlier
    record (completed, or still in progress).

    A claim still in progress after `lease` was left by a request that will not finish (its process died): the
    same request arriving again takes it over and runs. Another request under the key never does (422 stays 422).
    Records of refusals stored by earlier versions (404, 409) are dropped: a refusal is no longer replayed.
    """
    now = now or datetime.now(UTC)
    c = idempotency_records.c
    conn.execute(
        delete(idempotency_records).where(
            _record_key(key_id, key), or_(c.created_at < now - IDEMPOTENCY_RETENTION, c.status_code >= 400)
        )
    )
    claimed = insert_ignoring_duplicates(
        conn,
        idempotency_records,
        {
            "key_id": key_id,
            "idempotency_key": key,
            "request_hash": request_hash,
            "created_at": now,
            "claim_id": claim_id,
        },
    )
    if claimed:
        return None
    # RETURNING, not rowcount (see insert_ignoring_duplicates); of two retries taking over at once, the second finds
    # the claim renewed by the first and is told it is in progress.
    taken_over = conn.execute(
        update(idempotency_records)
        .where(
            _record_key(key_id, key),
            c.status_code.is_(None),
            c.request_hash == request_hash,
            c.created_at < now - lease,
        )
        .values(created_at=now, claim_id=claim_id)
        .returning(c.key_id)
    ).first()
    if taken_over is not None:
        return None
    row = conn.execute(select(idempotency_records).where(_record_key(key_id, key))).one()
    return IdempotencyRecord(
        row.request_hash,
        row.status_code,
        row.response_body,
        row.content_type,
        dict(row.response_headers or {}),
        row.created_at,
    )


def complete_idempotency_key(
    conn: Connection,
    key_id: str,
    key: str,
    claim_id: str,
    status_code: int,
    body: bytes,
    content_type: str,
    headers: dict[str, str] | None = None,
) -> None:
    """Store the answer to replay, if the claim is still this request's (it may have been taken over)."""
    conn.execute(
        update(idempotency_records)
        .where(_record_key(key_id, key), idempotency_records.c.claim_id == claim_id)
        .values(status_code=status_code, response_body=body, content_type=content_type, response_headers=headers)
    )


def release_idempotency_key(conn: Connection, key_id: str, key: str, claim_id: str) -> None:
    """Forget a claim whose request changed nothing worth replaying (a refusal, a failure), if it is still this
    request's."""
    conn.execute(
        delete(idempotency_records).where(_record_key(key_id, key), idempotency_records.c.claim_id == claim_id)
    )


def issue_key(
    conn: Connection, name: str, scopes: list[str], rate_limit_per_minute: int | None = None
) -> tuple[KeyListing, str]:
    """Create a key; returns its listing and the key itself, which is shown once and never stored."""
    key_id, key = new_key()
    add_key(conn, key_id, key_hash(key), name, scopes, rate_limit_per_minute)
    return _listing(conn.execute(select(api_keys).where(api_keys.c.key_id == key_id)).one()), key


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """An audit entry before it has its place in the chain (seq and hashes)."""

    at: str
    key_id: str
    action: str
    resource: str
    outcome: int
    request_id: str


# Built once: compiled once and cached, rather than rebuilt for every batch of a busy gateway.
_AUDIT_HEAD_FOR_UPDATE = select(audit_head).where(audit_head.c.id == 1).with_for_update()
_ADVANCE_AUDIT_HEAD = (
    update(audit_head)
    .where(audit_head.c.id == 1)
    .values(last_seq=bindparam("new_seq"), last_hash=bindparam("new_hash"))
)


def append_audit_batch(conn: Connection, records: Sequence[AuditRecord]) -> list[AuditEntry]:
    """Append `records` to the chain in the order given, each hashed on the one before.

    Three statements however many records: the head read FOR UPDATE (which serialises gateway replicas, so the
    chain never forks), one executemany INSERT, one UPDATE of the head. Runs in the caller's transaction: if any
    statement fails, none of the batch is kept.
    """
    if not records:
        return []
    head = conn.execute(_AUDIT_HEAD_FOR_UPDATE).first()
    if head is None:
        insert_ignoring_duplicates(conn, audit_head, {"id": 1, "last_seq": 0, "last_hash": GENESIS})
        head = conn.execute(_AUDIT_HEAD_FOR_UPDATE).one()
    seq, previous = head.last_seq, head.last_hash
    entries: list[AuditEntry] = []
    rows: list[dict[str, Any]] = []
    for r in records:
        seq += 1
        entry = AuditEntry(seq, r.at, r.key_id, r.action, r.resource[:500], r.outcome, r.request_id)
        digest = entry_hash(entry, previous)
        entries.append(entry)
        rows.append({**vars(entry), "previous_hash": previous, "hash": digest})  # flat: no asdict copy
        previous = digest
    conn.execute(audit_log.insert(), rows)
    conn.execute(_ADVANCE_AUDIT_HEAD, {"new_seq": seq, "new_hash": previous})
    return entries


def audit_entries(conn: Connection, after_seq: int, limit: int) -> list[tuple[AuditEntry, str, str]]:
    rows = conn.execute(select(audit_log).where(audit_log.c.seq > after_seq).order_by(audit_log.c.seq).limit(limit))
    return [
        (AuditEntry(r.seq, r.at, r.key_id, r.action, r.resource, r.outcome, r.request_id), r.previous_hash, r.hash)
        for r in rows
    ]


@dataclass(frozen=True)
class Webhook:
    webhook_id: str
    url: str
    events: list[str]
    created_at: datetime
    disabled_at: datetime | None
    disabled_reason: str | None


def _webhook(row: Any) -> Webhook:
    return Webhook(row.webhook_id, row.url, list(row.events), row.created_at, row.disabled_at, row.disabled_reason)


def add_webhook(
    conn: Connection, webhook_id: str, url: str, events: list[str], secret: str, created_by: str
) -> Webhook:
    conn.execute(
        webhooks.insert().values(
            webhook_id=webhook_id,
            url=url,
            events=events,
            secret=secret,
            created_by=created_by,
            created_at=datetime.now(UTC),
        )
    )
    return _webhook(conn.execute(select(webhooks).where(webhooks.c.webhook_id == webhook_id)).one())


def list_webhooks(
    conn: Connection, limit: int | None = None, after: tuple[datetime, str] | None = None
) -> list[Webhook]:
    """Oldest first, by (created_at, webhook_id); every one without `limit`."""
    w = webhooks.c
    query = select(webhooks).where(_after(w.created_at, w.webhook_id, after)).order_by(w.created_at, w.webhook_id)
    return [_webhook(r) for r in conn.execute(query if limit is None else query.limit(limit))]


def get_webhook(conn: Connection, webhook_id: str) -> Webhook | None:
    row = conn.execute(select(webhooks).where(webhooks.c.webhook_id == webhook_id)).first()
    return _webhook(row) if row else None


def disable_webhook(conn: Connection, webhook_id: str, reason: str) -> None:
    conn.execute(
        update(webhooks)
        .where(webhooks.c.webhook_id == webhook_id, webhooks.c.disabled_at.is_(None))
        .values(disabled_at=datetime.now(UTC), disabled_reason=reason)
    )
    conn.execute(
        update(webhook_deliveries)
        .where(webhook_deliveries.c.webhook_id == webhook_id, webhook_deliveries.c.status == "pending")
        .values(status="abandoned", next_attempt_at=None, last_error=reason)
    )


def enable_webhook(conn: Connection, webhook_id: str) -> None:
    """Active again: events from now on are delivered (not those that came while it was disabled)."""
    conn.execute(
        update(webhooks).where(webhooks.c.webhook_id == webhook_id).values(disabled_at=None, disabled_reason=None)
    )


def stage_deliveries(conn: Connection, event_type: str, message_id: str, payload: bytes) -> int:
    """A pending delivery for every active webhook subscribed to the event type; returns how many."""
    staged = 0
    now = datetime.now(UTC)
    active = conn.execute(select(webhooks.c.webhook_id, webhooks.c.events).where(webhooks.c.disabled_at.is_(None)))
    for webhook_id, events in active:
        if "*" in events or event_type in events:
            staged += insert_ignoring_duplicates(
                conn,
                webhook_deliveries,
                {
                    "delivery_id": "dlv_" + uuid.uuid4().hex,
                    "webhook_id": webhook_id,
                    "message_id": message_id,
                    "event_type": event_type,
                    "payload": payload,
                    "status": "pending",
                    "attempts": 0,
                    "next_attempt_at": now,
                    "created_at": now,
                },
            )
    return staged


@dataclass(frozen=True)
class DueDelivery:
    delivery_id: str
    webhook_id: str
    url: str
    secret: str
    message_id: str
    payload: bytes
    attempts: int


def due_deliveries(
    conn: Connection,
    now: datetime,
    limit: int,
    sending: Collection[str] = (),
    skip_webhooks: Collection[str] = (),
) -> list[DueDelivery]:
    """Pending deliveries due by `now`, oldest first, but for those being sent and those of `skip_webhooks` (so
    that a backlog of one portal's deliveries cannot fill `limit` and hide everyone else's)."""
    d, w = webhook_deliveries.c, webhooks.c
    query = (
        select(d.delivery_id, d.webhook_id, w.url, w.secret, d.message_id, d.payload, d.attempts)
        .join(webhooks, w.webhook_id == d.webhook_id)
        .where(d.status == "pending", d.next_attempt_at <= now, w.disabled_at.is_(None))
        .order_by(d.next_attempt_at)
        .limit(limit)
    )
    if sending:
        query = query.where(d.delivery_id.not_in(sorted(sending)))
    if skip_webhooks:
        query = query.where(d.webhook_id.not_in(sorted(skip_webhooks)))
    return [DueDelivery(*row) for row in conn.execute(query)]


def claim_deliveries(
    conn: Connection, candidates: Sequence[DueDelivery], now: datetime, lease_until: datetime
) -> list[DueDelivery]:
    """Of the due deliveries read, those this process now holds, with their attempt count as it is now.

    Claiming makes a delivery not due until `lease_until` (when the attempt has long been settled, or its process
    has died and another may try): a replica that read the same rows finds them no longer due, as the UPDATE's
    condition is evaluated again on the row it waited for. So several gateway replicas never send one delivery at
    once."""
    if not candidates:
        return []
    d = webhook_deliveries.c
    claimed = conn.execute(
        update(webhook_deliveries)
        .where(d.delivery_id.in_([c.delivery_id for c in candidates]), d.status == "pending", d.next_attempt_at <= now)
        .values(next_attempt_at=lease_until)
        .returning(d.delivery_id, d.attempts)
    )
    held: dict[str, int] = {row.delivery_id: row.attempts for row in claimed}
    return [replace(c, attempts=held[c.delivery_id]) for c in candidates if c.delivery_id in held]


def record_attempt(
    conn: Connection,
    delivery: DueDelivery,
    started_at: datetime,
    status_code: int | None,
    error: str | None,
    duration_ms: int,
    outcome: str,
    next_attempt_at: datetime | None,
) -> str:
    """Log an attempt (dated when it started) and settle its delivery with `outcome`; the delivery's status after.

    Only a delivery still pending is settled: one abandoned while the attempt was under way (its webhook deleted)
    keeps its status, unless the receiver took the event (a 2xx), which makes it delivered. Never pending again.
    """
    now = datetime.now(UTC)
    attempt = delivery.attempts + 1
    last_error = (error or "")[:500] or None
    conn.execute(
        webhook_attempts.insert().values(
            delivery_id=delivery.delivery_id,
            attempt=attempt,
            at=started_at,
            status_code=status_code,
            error=last_error,
            duration_ms=duration_ms,
        )
    )
    d = webhook_deliveries.c
    logged = {"attempts": attempt, "last_status_code": status_code, "last_error": last_error}
    settled = {
        "status": outcome,
        "next_attempt_at": next_attempt_at,
        "delivered_at": now if outcome == "delivered" else None,
    }
    if conn.execute(
        update(webhook_deliveries)
        .where(d.delivery_id == delivery.delivery_id, d.status == "pending")
        .values(**logged, **settled)
    ).rowcount:
        return outcome
    if outcome != "delivered":
        settled = {}
    conn.execute(update(webhook_deliveries).where(d.delivery_id == delivery.delivery_id).values(**logged, **settled))
    status: str = conn.execute(select(d.status).where(d.delivery_id == delivery.delivery_id)).scalar_one()
    return status


DELIVERY_STATUSES = ("pending", "delivered", "failed", "abandoned")
RETRYABLE_STATUSES = ("failed", "abandoned")


def list_deliveries(
    conn: Connection,
    webhook_id: str,
    limit: int,
    before: tuple[datetime, str] | None = None,
    status: str | None = None,
) -> list[dict[str, Any]]:
    """Newest first, by (created_at, delivery_id): the deliveries of one event batch share a created_at; only
    those with `status`, if given.

    `before` is the (created_at, delivery_id) of the last delivery of the previous page (keyset paging: a delivery
    staged while a client pages goes to the front, never shifts a later page).
    """
    d = webhook_deliveries.c
    query = select(webhook_deliveries).where(
        d.webhook_id == webhook_id, _after(d.created_at, d.delivery_id, before, newest_first=True)
    )
    if status is not None:
        query = query.where(d.status == status)
    rows = conn.execute(query.order_by(d.created_at.desc(), d.delivery_id.desc()).limit(limit)).all()
    return _deliveries_json(conn, rows)


def get_delivery(conn: Connection, webhook_id: str, delivery_id: str) -> dict[str, Any] | None:
    """One delivery of this webhook, as the list gives it; None if the webhook has no such delivery."""
    d = webhook_deliveries.c
    rows = conn.execute(select(webhook_deliveries).where(d.webhook_id == webhook_id, d.delivery_id == delivery_id))
    found = _deliveries_json(conn, rows.all())
    return found[0] if found else None


def retry_delivery(conn: Connection, webhook_id: str, delivery_id: str) -> datetime | None:
    """Make a failed or abandoned delivery of an active webhook pending again, due now: when; None if it was not
    one.

    Its attempts stay as they are: the next is numbered after them and signed with the same webhook-id. A
    delivery whose attempts already reach the maximum is sent once more, and is failed again if that fails.
    """
    d, now = webhook_deliveries.c, datetime.now(UTC)
    active = select(webhooks.c.webhook_id).where(webhooks.c.webhook_id == webhook_id, webhooks.c.disabled_at.is_(None))
    updated = conn.execute(
        update(webhook_deliveries)
        .where(
            d.webhook_id == webhook_id,
            d.delivery_id == delivery_id,
            d.status.in_(RETRYABLE_STATUSES),
            d.webhook_id.in_(active.scalar_subquery()),
        )
        .values(status="pending", next_attempt_at=now, delivered_at=None)
    )
    return now if updated.rowcount else None


def _deliveries_json(conn: Connection, rows: Sequence[Any]) -> list[dict[str, Any]]:
    attempts: dict[str, list[dict[str, Any]]] = {r.delivery_id: [] for r in rows}
    if attempts:
        for a in conn.execute(
            select(webhook_attempts)
            .where(webhook_attempts.c.delivery_id.in_(list(attempts)))
            .order_by(webhook_attempts.c.attempt)
        ):
            attempts[a.delivery_id].append(
                {
                    "attempt": a.attempt,
                    "at": a.at,
                    "status_code": a.status_code,
                    "error": a.error,
                    "duration_ms": a.duration_ms,
                }
            )
    return [
        {
            "delivery_id": r.delivery_id,
            "message_id": r.message_id,
            "event_type": r.event_type,
            "status": r.status,
            "attempts": attempts[r.delivery_id],
            "next_attempt_at": r.next_attempt_at,
            "created_at": r.created_at,
            "delivered_at": r.delivered_at,
        }
        for r in rows
    ]
