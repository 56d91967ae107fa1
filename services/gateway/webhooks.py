"""Webhook deliveries to portals, sent signed and retried with back-off (staged by `events.py`).

The dispatcher sends due deliveries with Standard Webhooks headers and records every attempt. A 2xx is
delivered; 410 Gone disables the subscription; anything else is retried with exponential back-off and jitter
until the attempts run out.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import httpx
from prometheus_client import Counter
from sqlalchemy import Engine

from services.common.config import Settings
from services.common.db import reading, transaction
from services.gateway import store
from services.gateway.domain.webhooks import retry_delay, sign, target_problem

log = logging.getLogger(__name__)

DELIVERY_ATTEMPTS = Counter("gaoxin_webhook_attempts_total", "Webhook delivery attempts, by outcome.", ["outcome"])


async def resolve(host: str) -> list[str]:
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except OSError:
        return []
    return sorted({str(info[4][0]) for info in infos})


class WebhookDispatcher:
    def __init__(self, engine: Engine, settings: Settings, batch: int = 50) -> None:
        self.engine = engine
        self.settings = settings
        self.batch = batch
        self._wake = asyncio.Event()
        self._running = True
        self._loop: asyncio.AbstractEventLoop | None = None

    def notify(self) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._wake.set)

    def stop(self) -> None:
        self._running = False
        self.notify()

    async def run(self) -> None:
        self._loop = asyncio.get_running_loop()
        async with httpx.AsyncClient(follow_redirects=False) as client:
            while self._running:
                self._wake.clear()
                try:
                    due = await asyncio.to_thread(self._due)
                    await asyncio.gather(*(self.deliver(client, d) for d in due))
                except Exception:
                    log.exception("webhook dispatch round failed")
                    due = []
                if len(due) < self.batch:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), timeout=0.25)

    def _due(self) -> list[store.DueDelivery]:
        with reading(self.engine) as conn:
            return store.due_deliveries(conn, datetime.now(UTC), self.batch)

    async def deliver(self, client: httpx.AsyncClient, delivery: store.DueDelivery) -> None:
        started = time.perf_counter()
        status_code: int | None = None
        error: str | None = None
        host = urlsplit(delivery.url).hostname or ""
        allow_private = self.settings.webhooks_allow_private_targets
        refused = target_problem(delivery.url, await resolve(host), allow_private)
        if refused:
            error = f"target refused: {refused}"
        else:
            timestamp = int(time.time())
            headers = {
                "content-type": "application/json",
                "webhook-id": delivery.message_id,
                "webhook-timestamp": str(timestamp),
                "webhook-signature": sign(delivery.secret, delivery.message_id, timestamp, delivery.payload),
                "user-agent": "gaoxin-webhooks/1",
            }
            try:
                reply = await client.post(
                    delivery.url,
                    content=delivery.payload,
                    headers=headers,
                    timeout=self.settings.webhook_timeout_seconds,
                )
                status_code = reply.status_code
            except httpx.HTTPError as exc:
                error = f"{type(exc).__name__}: {exc}"
        elapsed_ms = int((time.perf_counter() - started) * 1000)
        await asyncio.to_thread(self._settle, delivery, status_code, error, elapsed_ms)

    def _settle(self, delivery: store.DueDelivery, status_code: int | None, error: str | None, elapsed_ms: int) -> None:
        attempts = delivery.attempts + 1
        next_at: datetime | None = None
        if status_code is not None and 200 <= status_code < 300:
            outcome = "delivered"
        elif status_code == 410:
            outcome = "abandoned"
        elif attempts >= self.settings.webhook_max_attempts:
            outcome = "failed"
        else:
            outcome = "pending"
            delay = retry_delay(attempts, self.settings.webhook_retry_base_seconds)
            next_at = datetime.now(UTC) + timedelta(seconds=delay)
        if status_code is not None and outcome != "delivered" and error is None:
            error = f"HTTP {status_code}"
        with transaction(self.engine) as conn:
            store.record_attempt(conn, delivery, status_code, error, elapsed_ms, outcome, next_at)
            if outcome == "abandoned":
                store.disable_webhook(conn, delivery.webhook_id, "the receiver answered 410 Gone")
        DELIVERY_ATTEMPTS.labels(outcome).inc()
