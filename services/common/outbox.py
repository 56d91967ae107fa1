"""Transactional outbox: an event row is committed with the change that caused it, then relayed to JetStream.

The relay publishes with `Nats-Msg-Id` = event id and marks a row published only after JetStream's PubAck, so a
crash or a NATS outage delays events but never loses them; a row published twice is dropped by JetStream's
duplicate window or by the consumer's inbox.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from datetime import UTC, datetime
from typing import Any

from gaoxin.events.v1 import events_pb2
from google.protobuf.message import Message
from sqlalchemy import (
    BigInteger,
    Column,
    Engine,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    func,
    select,
    update,
)
from sqlalchemy.engine import Connection

from services.common.bus import Bus
from services.common.db import UtcDateTime, reading, transaction
from services.common.logs import request_id_var
from services.common.metrics import OUTBOX_BACKLOG, OUTBOX_PUBLISHED

log = logging.getLogger(__name__)

MSG_ID_HEADER = "Nats-Msg-Id"
REQUEST_ID_HEADER = "X-Request-ID"


def outbox_table(metadata: MetaData) -> Table:
    return Table(
        "outbox",
        metadata,
        Column("seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
        Column("event_id", String(36), nullable=False, unique=True),
        Column("subject", String(200), nullable=False),
        Column("payload", LargeBinary, nullable=False),
        Column("request_id", String(64), nullable=False),
        Column("created_at", UtcDateTime(), nullable=False),
        Column("published_at", UtcDateTime(), nullable=True),
        Index("ix_outbox_published_at_seq", "published_at", "seq"),
    )


def new_event_meta(producer: str) -> events_pb2.EventMeta:
    meta = events_pb2.EventMeta(event_id=str(uuid.uuid4()), producer=producer, request_id=request_id_var.get())
    meta.occurred_at.FromDatetime(datetime.now(UTC))
    return meta


def event_row(subject: str, event: Message) -> dict[str, Any]:
    """The outbox row of `event` (a protobuf message with a `meta` field), for a caller inserting rows itself."""
    meta: events_pb2.EventMeta = event.meta  # type: ignore[attr-defined]
    return {
        "event_id": meta.event_id,
        "subject": subject,
        "payload": event.SerializeToString(),
        "request_id": meta.request_id,
        "created_at": datetime.now(UTC),
    }


def add_event(conn: Connection, outbox: Table, subject: str, event: Message) -> str:
    """Stage `event` (a protobuf message with a `meta` field) in the caller's transaction; returns its id."""
    row = event_row(subject, event)
    # Parameters apart from the statement, so the compiled INSERT is cached rather than rebuilt for each event.
    conn.execute(outbox.insert(), row)
    return str(row["event_id"])


class OutboxRelay:
    """Moves committed outbox rows to JetStream, oldest first.

    `notify()` after a commit wakes it at once, or while it is busy within `gather_seconds` (no polling delay
    on the hot path); the poll interval only bounds how long a row written by another process, or left by a
    crash, waits.
    """

    def __init__(
        self,
        engine: Engine,
        outbox: Table,
        bus: Bus,
        poll_seconds: float = 1.0,
        batch: int = 500,
        gather_seconds: float = 0.02,
    ):
        self.engine = engine
        self.outbox = outbox
        self.bus = bus
        self.poll_seconds = poll_seconds
        self.batch = batch
        # After a wake-up, let the commits of this moment join the batch. A turn costs about as much for one
        # event as for a hundred (two short transactions, two thread hops): relaying each commit on its own,
        # 0.8 ms of CPU per event at a few hundred commits a second, measured; in batches of 100, 0.08 ms.
        self.gather_seconds = gather_seconds
        self._wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._running = True

    def stop(self) -> None:
        """End the loop at its next turn (nats-py swallows some cancellations, so a flag is needed)."""
        self._running = False
        self.notify()

    def notify(self) -> None:
        """Safe to call from any thread."""
        loop = self._loop
        if loop is None:
            return
        try:
            on_loop = asyncio.get_running_loop() is loop
        except RuntimeError:
            on_loop = False
        if on_loop:
            self._wake.set()  # the usual caller, a handler after its commit: no self-pipe write needed
        else:
            loop.call_soon_threadsafe(self._wake.set)

    async def run(self) -> None:
        self._loop = asyncio.get_running_loop()
        await self.bus.ready.wait()
        failures = 0
        while self._running:
            self._wake.clear()
            try:
                published = await self.drain_once()
                failures = 0
            except Exception as exc:
                failures += 1
                if failures == 1:
                    log.warning("outbox relay paused", extra={"fields": {"error": repr(exc)}})
                await asyncio.sleep(min(0.1 * 2**failures, 2.0))
                continue
            if published == self.batch:
                continue  # more may be waiting
            # Busy: commits arrived while this turn was publishing. Then the commits of the next moment join a
            # batch, which is where the per-event cost falls. A commit on a quiet platform goes at once rather
            # than adding gather_seconds to every hop of an event path — also when it wrote several events (a
            # ranking and its consequences): counting rows, as this did first, held the next commit 20 ms.
            busy = self._wake.is_set()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.poll_seconds)
            if self._running and busy:
                await asyncio.sleep(self.gather_seconds)

    async def drain_once(self) -> int:
        rows = await asyncio.to_thread(self._pending)
        js = self.bus.js
        # The whole batch in flight at once: the messages leave in order in one write, and the acks come back
        # together (a quarter less CPU than a round trip each, measured). If one fails, later ones may still
        # land; the failed one goes again next turn (JetStream and the consumers' inboxes dedupe by event id).
        outcomes = await asyncio.gather(
            *(
                js.publish(
                    subject, payload, headers={MSG_ID_HEADER: event_id, REQUEST_ID_HEADER: request_id}, timeout=2.0
                )
                for _, event_id, subject, payload, request_id in rows
            ),
            return_exceptions=True,
        )
        published: list[int] = []
        for (seq, _, subject, _, _), outcome in zip(rows, outcomes, strict=True):
            if not isinstance(outcome, BaseException):
                published.append(seq)
                OUTBOX_PUBLISHED.labels(subject).inc()
        if published:
            await asyncio.to_thread(self._mark_published, published)
        failure = next((outcome for outcome in outcomes if isinstance(outcome, BaseException)), None)
        if failure is not None:
            raise failure
        return len(published)

    def _pending(self) -> list[tuple[int, str, str, bytes, str]]:
        o = self.outbox.c
        with reading(self.engine) as conn:
            rows = conn.execute(
                select(o.seq, o.event_id, o.subject, o.payload, o.request_id)
                .where(o.published_at.is_(None))
                .order_by(o.seq)
                .limit(self.batch)
            ).all()
            # A batch that is not full holds the whole backlog; only a full one needs counting.
            backlog = len(rows)
            if backlog == self.batch:
                backlog = conn.execute(select(func.count()).where(o.published_at.is_(None))).scalar_one()
            OUTBOX_BACKLOG.set(backlog)
        return [(r.seq, r.event_id, r.subject, r.payload, r.request_id) for r in rows]

    def _mark_published(self, seqs: list[int]) -> None:
        with transaction(self.engine) as conn:
            conn.execute(update(self.outbox).where(self.outbox.c.seq.in_(seqs)).values(published_at=datetime.now(UTC)))
        OUTBOX_BACKLOG.dec(len(seqs))
