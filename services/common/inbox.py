"""Consuming events exactly once: durable pull consumers with explicit ack, and an inbox table.

JetStream delivers at least once (its duplicate window covers publishers only, and only for minutes), so each
consumer records the event id in its inbox in the same transaction as the effect: a redelivered or replayed
event finds its id there and changes nothing.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from gaoxin.events.v1 import events_pb2
from google.protobuf.message import DecodeError
from nats.aio.msg import Msg
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from sqlalchemy import Column, Engine, MetaData, String, Table
from sqlalchemy.engine import Connection

from services.common.bus import Bus
from services.common.db import UtcDateTime, insert_ignoring_duplicates, transaction
from services.common.logs import request_id_var
from services.common.metrics import CONSUMER_PENDING, EVENTS_CONSUMED
from services.common.outbox import MSG_ID_HEADER, REQUEST_ID_HEADER

log = logging.getLogger(__name__)

# Applies one event inside the consumer's transaction; raise to have it redelivered later.
Handler = Callable[[Connection, str, bytes], None]

C = TypeVar("C")


@dataclass(frozen=True)
class Prepared(Generic[C]):
    """A handler that needs asynchronous work done before its transaction, e.g. reads from another service.

    The handler runs in a worker thread inside a database transaction, where it cannot await, and a network
    call there would hold the transaction (and SQLite's write lock) open for its duration. So `prepare(subject,
    payload)` runs first on the event loop, outside any transaction, and its result is handed to `handler` as
    its last argument. A failing `prepare` is a failed delivery like a failing handler: the event is redelivered
    with back-off. It also runs for a redelivered event that the inbox will then skip, so it must have no
    effects of its own.
    """

    prepare: Callable[[str, bytes], Awaitable[C]]
    handler: Callable[[Connection, str, bytes, C], None]

    async def bind(self, subject: str, payload: bytes) -> Handler:
        context = await self.prepare(subject, payload)
        return lambda conn, subject, payload: self.handler(conn, subject, payload, context)


def inbox_table(metadata: MetaData) -> Table:
    return Table(
        "inbox",
        metadata,
        Column("consumer", String(100), primary_key=True),
        Column("event_id", String(64), primary_key=True),
        Column("subject", String(200), nullable=False),
        Column("processed_at", UtcDateTime(), nullable=False),
    )


def event_id_of(payload: bytes) -> str:
    """The id inside the event itself, so a replay published under another Nats-Msg-Id is still recognised."""
    try:
        return events_pb2.EventEnvelope.FromString(payload).meta.event_id
    except DecodeError:
        return ""


@dataclass
class Subscription:
    """One durable consumer: which stream and subjects, and the handler that applies an event."""

    durable: str
    stream: str
    subject: str
    handler: Handler | Prepared[Any]
    max_deliver: int = 20
    # Redelivery back-off after a failure (seconds); the last value repeats until max_deliver.
    backoff: list[float] = field(default_factory=lambda: [0.5, 1, 2, 5, 10, 30, 60])
    batch: int = 64
    # Messages delivered and not yet acknowledged, across every replica pulling from the durable consumer.
    # 1 applies its events one at a time in stream order, whatever the number of replicas (JetStream holds
    # the next until the current is acknowledged), for handlers whose prepare step reads state that a
    # concurrent handler could overwrite with an older read.
    max_ack_pending: int = 1000
    # A cheap look at the subject before any transaction: False acknowledges the event as one this consumer has
    # nothing to do with (counted "skipped"), sparing the database a transaction that would only record it.
    wants: Callable[[str], bool] | None = None


class EventConsumer:
    def __init__(
        self,
        engine: Engine,
        inbox: Table,
        bus: Bus,
        subscription: Subscription,
        after_commit: Callable[[], None] | None = None,
    ) -> None:
        self.engine = engine
        self.inbox = inbox
        self.bus = bus
        self.sub = subscription
        self.after_commit = after_commit
        self._running = True
        # Create every outcome's series at zero, so an alert on increase() sees the first failure too.
        for outcome in ("applied", "duplicate", "failed", "skipped"):
            EVENTS_CONSUMED.labels(subscription.durable, outcome)

    def stop(self) -> None:
        """End the loop at its next turn (nats-py swallows some cancellations, so a flag is needed)."""
        self._running = False

    def apply(self, event_id: str, subject: str, payload: bytes, handler: Handler | None = None) -> bool:
        """Apply one event exactly once; False when the inbox shows it was already applied.

        `handler` is the subscription's handler, bound to its prepared context when it has a prepare step.
        """
        if handler is None:
            if isinstance(self.sub.handler, Prepared):
                raise TypeError(f"{self.sub.durable}: a prepared handler needs its context; use bind() first")
            handler = self.sub.handler
        with transaction(self.engine) as conn:
            first_time = insert_ignoring_duplicates(
                conn,
                self.inbox,
                {
                    "consumer": self.sub.durable,
                    "event_id": event_id,
                    "subject": subject,
                    "processed_at": datetime.now(UTC),
                },
            )
            if first_time:
                handler(conn, subject, payload)
        if first_time and self.after_commit is not None:
            self.after_commit()
        return first_time

    def _config(self) -> ConsumerConfig:
        return ConsumerConfig(
            durable_name=self.sub.durable,
            ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.ALL,
            filter_subject=self.sub.subject,
            ack_wait=30.0,
            max_deliver=self.sub.max_deliver,
            backoff=self.sub.backoff,
            max_ack_pending=self.sub.max_ack_pending,
        )

    async def run(self) -> None:
        await self.bus.ready.wait()
        while self._running:
            try:
                await self._consume()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning(
                    "consumer restarting",
                    extra={"fields": {"consumer": self.sub.durable, "error": repr(exc)}},
                )
                await asyncio.sleep(0.5)

    async def _consume(self) -> None:
        js = self.bus.js
        psub = await js.pull_subscribe(
            self.sub.subject, durable=self.sub.durable, stream=self.sub.stream, config=self._config()
        )
        checked_at = 0.0
        while self._running:
            # No polling delay: nats-py sends this pull as no_wait with expires, which nats-server answers as soon
            # as the messages that can be delivered are there, not once the batch is full, so a lone event is
            # handed over at once. Hence never more than may be in flight: a pull for more than max_ack_pending
            # stays open until it expires, holding each event for the whole fetch timeout (tests guard both).
            batch = min(self.sub.batch, self.sub.max_ack_pending)
            try:
                msgs = await psub.fetch(batch=batch, timeout=1.0)
            except (TimeoutError, NatsTimeoutError):
                msgs = []
            for msg in msgs:
                await self._handle(msg)
            if time.monotonic() - checked_at > 2.0:
                checked_at = time.monotonic()
                # Also a liveness check of the subscription: raises when the consumer is gone.
                info = await psub.consumer_info()
                CONSUMER_PENDING.labels(self.sub.durable).set((info.num_pending or 0) + (info.num_ack_pending or 0))

    async def _handle(self, msg: Msg) -> None:
        if self.sub.wants is not None and not self.sub.wants(msg.subject):
            EVENTS_CONSUMED.labels(self.sub.durable, "skipped").inc()
            await msg.ack()  # before anything is parsed: most events a webhook consumer sees go this way
            return
        headers = msg.headers or {}
        event_id = event_id_of(msg.data) or headers.get(MSG_ID_HEADER) or f"seq:{msg.metadata.sequence.stream}"
        token = request_id_var.set(headers.get(REQUEST_ID_HEADER, ""))
        try:
            handler = self.sub.handler
            if isinstance(handler, Prepared):
                handler = await handler.bind(msg.subject, msg.data)
            applied = await asyncio.to_thread(self.apply, event_id, msg.subject, msg.data, handler)
        except Exception:
            EVENTS_CONSUMED.labels(self.sub.durable, "failed").inc()
            delivered = msg.metadata.num_delivered
            log.exception(
                "event handler failed",
                extra={"fields": {"consumer": self.sub.durable, "event_id": event_id, "delivered": delivered}},
            )
            if delivered >= self.sub.max_deliver:
                await msg.term()  # the metric and the log line above are the dead-letter record
            else:
                await msg.nak(delay=self.sub.backoff[min(delivered, len(self.sub.backoff)) - 1])
            return
        finally:
            request_id_var.reset(token)
        EVENTS_CONSUMED.labels(self.sub.durable, "applied" if applied else "duplicate").inc()
        await msg.ack()
