"""Events the gateway consumes: every stream, read to stage webhook deliveries to portals exactly once.

A durable consumer per stream turns each event into one pending delivery per subscribed webhook (the inbox
makes a redelivered event stage nothing more); `webhooks.WebhookDispatcher` sends them.
"""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import UTC, datetime

from sqlalchemy import Engine
from sqlalchemy.engine import Connection

from services.common.db import reading
from services.common.events_catalog import BY_SUBJECT, event_json
from services.common.inbox import Subscription, event_id_of
from services.gateway import store

log = logging.getLogger(__name__)


class ActiveEventTypes:
    """The event types some active webhook subscribes to, re-read every `refresh_seconds` in the background.

    Lets the consumers skip (ack without a transaction) the events no portal asked for — most of them when few
    webhooks exist. A subscription made through this replica counts at once (`refresh` after the change); one
    made through another replica within `refresh_seconds`. Until the first read, every event is wanted.
    """

    def __init__(self, engine: Engine, refresh_seconds: float = 2.0) -> None:
        self.engine = engine
        self.refresh_seconds = refresh_seconds
        self._types: frozenset[str] | None = None
        self._running = True

    def wants(self, subject: str) -> bool:
        event_type = BY_SUBJECT.get(subject)
        if event_type is None:
            return False
        return self._types is None or "*" in self._types or event_type.name in self._types

    def _read(self) -> frozenset[str]:
        with reading(self.engine) as conn:
            return frozenset(t for w in store.list_webhooks(conn) if not w.disabled_at for t in w.events)

    async def refresh(self) -> None:
        self._types = await asyncio.to_thread(self._read)

    def stop(self) -> None:
        self._running = False

    async def run(self) -> None:
        while self._running:
            try:
                await self.refresh()
            except Exception:
                log.warning("could not re-read webhook subscriptions", exc_info=True)
            await asyncio.sleep(self.refresh_seconds)


def subscriptions(active: ActiveEventTypes) -> list[Subscription]:
    """One durable consumer per stream, staging deliveries for every event type the stream carries."""

    def stage(conn: Connection, subject: str, payload: bytes) -> None:
        event_type = BY_SUBJECT.get(subject)
        if event_type is None:
            return  # an event this gateway version does not know: nothing subscribes to it
        event_id = event_id_of(payload)
        body = json.dumps(
            {
                "type": event_type.name,
                "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                "data": event_json(subject, payload),
            },
            ensure_ascii=False,
            separators=(",", ":"),
        ).encode()
        store.stage_deliveries(conn, event_type.name, event_id, body)

    # Spelled out, not derived from STREAMS: durable names are operational identifiers that deploy/k8s/README.md
    # documents and a test checks.
    return [
        Subscription(
            durable="gateway-webhooks-indicators",
            stream="GAOXIN_INDICATORS",
            subject="gaoxin.indicators.>",
            handler=stage,
            wants=active.wants,
        ),
        Subscription(
            durable="gateway-webhooks-rewards",
            stream="GAOXIN_REWARDS",
            subject="gaoxin.rewards.>",
            handler=stage,
            wants=active.wants,
        ),
        Subscription(
            durable="gateway-webhooks-talent",
            stream="GAOXIN_TALENT",
            subject="gaoxin.talent.>",
            handler=stage,
            wants=active.wants,
        ),
    ]
