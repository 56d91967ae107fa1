"""Webhook deliveries to portals, sent signed and retried with back-off (staged by `events.py`).

The dispatcher sends due deliveries with Standard Webhooks headers and records every attempt. A 2xx is
delivered; 410 Gone disables the subscription; anything else is retried with exponential back-off and jitter
until the attempts run out.

Each delivery is sent on its own, never waiting for another: a portal whose endpoint hangs until the timeout
holds at most `per_webhook` of the `in_flight` slots, and every other portal's deliveries go on meanwhile.

Against DNS rebinding, each attempt resolves the target's host once, checks the addresses (`target_problem`) and
connects to a checked address itself, keeping the host name for the `Host` header, TLS SNI and the certificate
check: the name is never resolved again between the check and the connection.

The log says what happened: an attempt is dated when it started; one that ends after its delivery stopped being
pending (its webhook deleted meanwhile) is logged without bringing the delivery back; one that the gateway's
shutdown interrupts is logged as interrupted, and its delivery stays pending, due at once.

`webhook_timeout_seconds` bounds a whole attempt (resolving, connecting, sending, the status and the body), and
at most `RESPONSE_BODY_CAP_BYTES` of the response body are read, then dropped: a receiver that drips its answer
or sends an endless one holds a sending slot no longer than the timeout.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import functools
import logging
import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
from prometheus_client import Counter
from sqlalchemy import Engine

from services.common.config import Settings
from services.common.db import reading, transaction
from services.gateway import store
from services.gateway.domain.webhooks import retry_delay, sign, target_problem

log = logging.getLogger(__name__)

# What is read of a receiver's answer beyond its status, only so that the exchange ends cleanly; never kept.
RESPONSE_BODY_CAP_BYTES = 64 * 1024

# How long a stopping gateway waits for a delivery's attempt to be written down (a small transaction); past it the
# attempt goes unlogged and the delivery is sent again after the restart, as it would be anyway.
SETTLE_GRACE_SECONDS = 1.0
# A claimed delivery is not due for its attempt's timeout, the settle grace and this margin: long after its attempt
# is settled, unless the process that claimed it died, when another replica (or this one, restarted) tries again.
CLAIM_MARGIN_SECONDS = 30.0
INTERRUPTED = "interrupted: gateway stopping"

DELIVERY_ATTEMPTS = Counter("gaoxin_webhook_attempts_total", "Webhook delivery attempts, by outcome.", ["outcome"])


async def resolve(host: str) -> list[str]:
    """The addresses `host` resolves to, in the resolver's order of preference (RFC 6724), each once."""
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except OSError:
        return []
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def delivery_client(verify: ssl.SSLContext | bool = True) -> httpx.AsyncClient:
    """The HTTP client deliveries are sent with.

    No connection is kept for reuse: httpcore pools connections by scheme, address and port, so one opened with
    one host's SNI and certificate could carry another host's delivery to the same address. No proxy from the
    environment either: a proxy would resolve the name again.
    """
    return httpx.AsyncClient(
        follow_redirects=False,
        verify=verify,
        trust_env=False,
        limits=httpx.Limits(max_keepalive_connections=0),
    )


class WebhookDispatcher:
    def __init__(self, engine: Engine, settings: Settings, in_flight: int = 50, per_webhook: int = 4) -> None:
        self.engine = engine
        self.settings = settings
        self.in_flight = in_flight
        self.per_webhook = per_webhook
        self._wake = asyncio.Event()
        self._running = True
        self._loop: asyncio.AbstractEventLoop | None = None
        self._sending: dict[str, tuple[str, asyncio.Task[None]]] = {}  # delivery id → (webhook id, its task)

    def notify(self) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._wake.set)

    def stop(self) -> None:
        self._running = False
        self.notify()

    async def run(self) -> None:
        self._loop = asyncio.get_running_loop()
        async with delivery_client() as client:
            try:
                while self._running:
                    self._wake.clear()
                    try:
                        started = await self._start_due(client)
                    except Exception:
                        log.exception("webhook dispatch round failed")
                        started = 0
                    if not started or len(self._sending) >= self.in_flight:
                        # Woken by a new delivery staged or a slot freed; the timeout picks up retries coming due.
                        with contextlib.suppress(TimeoutError):
                            await asyncio.wait_for(self._wake.wait(), timeout=0.25)
            finally:
                # Each attempt under way logs itself as interrupted (`deliver`); its delivery stays pending and goes
                # again after a restart, with the same webhook-id.
                tasks = [task for _, task in self._sending.values()]
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)

    async def _start_due(self, client: httpx.AsyncClient) -> int:
        """Start sending the due deliveries there is room for; how many were started."""
        room = self.in_flight - len(self._sending)
        if room <= 0:
            return 0
        per_webhook = collections.Counter(webhook for webhook, _ in self._sending.values())
        due = await asyncio.to_thread(self._due, room, set(self._sending), per_webhook)
        for delivery in due:
            task = asyncio.create_task(self.deliver(client, delivery))
            self._sending[delivery.delivery_id] = (delivery.webhook_id, task)
            task.add_done_callback(functools.partial(self._finished, delivery.delivery_id))
        return len(due)

    def _finished(self, delivery_id: str, task: asyncio.Task[None]) -> None:
        self._sending.pop(delivery_id, None)
        if not task.cancelled() and (error := task.exception()) is not None:
            # Unrecorded, so still pending: the next round after the poll interval tries it again (not at once,
            # which would spin while the database is unreachable).
            log.error("webhook delivery failed", exc_info=error)
            return
        self._wake.set()

    def _due(self, limit: int, sending: set[str], per_webhook: collections.Counter[str]) -> list[store.DueDelivery]:
        """The due deliveries this process sends now: read, kept within each webhook's share of the attempts in
        flight (`per_webhook`: its attempts under way), then claimed, as other replicas may have read them too. Only
        what will be sent is claimed; the write transaction is taken only when something is due."""
        now = datetime.now(UTC)
        full = {webhook for webhook, count in per_webhook.items() if count >= self.per_webhook}
        with reading(self.engine) as conn:
            read = store.due_deliveries(conn, now, limit, sending, full)
        taken = collections.Counter(per_webhook)
        candidates = []
        for delivery in read:
            if taken[delivery.webhook_id] < self.per_webhook:
                taken[delivery.webhook_id] += 1
                candidates.append(delivery)
        if not candidates:
            return []
        lease = timedelta(seconds=self.settings.webhook_timeout_seconds + SETTLE_GRACE_SECONDS + CLAIM_MARGIN_SECONDS)
        with transaction(self.engine) as conn:
            return store.claim_deliveries(conn, candidates, now, now + lease)

    async def deliver(self, client: httpx.AsyncClient, delivery: store.DueDelivery) -> None:
        started_at, started = datetime.now(UTC), time.perf_counter()
        result = _Result()
        timeout = self.settings.webhook_timeout_seconds
        try:
            async with asyncio.timeout(timeout):
                await self._attempt(client, delivery, result)
        except TimeoutError:
            # The status, once received, decides the outcome: a 2xx receiver has the event even if it drips the rest.
            what = "waiting for the answer" if result.status_code is None else "reading the response body"
            result.error = f"timed out after {timeout:g} s {what}"
        except asyncio.CancelledError:
            # Only the gateway stopping cancels a delivery (`run`). Logged, shielded and briefly: the attempt is
            # numbered like any other but never fails the delivery, which stays pending, due at once.
            interrupted = result.status_code is None
            result.error = INTERRUPTED if interrupted else f"{INTERRUPTED} while reading the response body"
            settle = functools.partial(self._settle, delivery, started_at, result, started, interrupted=interrupted)
            try:
                await self._write(settle, limit=SETTLE_GRACE_SECONDS)
            except Exception:
                log.warning("could not log an interrupted webhook attempt", exc_info=True)
            raise
        await self._write(functools.partial(self._settle, delivery, started_at, result, started))

    async def _write(self, work: Callable[[], None], limit: float | None = None) -> None:
        """`work` (a database write) in a thread, awaited for at most `limit` seconds, and carried to its end even
        if this task is cancelled meanwhile, for at most SETTLE_GRACE_SECONDS more."""
        written = asyncio.ensure_future(asyncio.to_thread(work))
        try:
            await asyncio.wait_for(asyncio.shield(written), limit)
        except asyncio.CancelledError:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.shield(written), SETTLE_GRACE_SECONDS)
            raise

    async def _attempt(self, client: httpx.AsyncClient, delivery: store.DueDelivery, result: _Result) -> None:
        """Resolve, check, send and read the answer, recording in `result` as it goes (so that what a timeout
        interrupts is known)."""
        url = httpx.URL(delivery.url)
        host = url.raw_host.decode("ascii")  # IDNA-encoded, as it is resolved and as TLS names it
        addresses = await resolve(host)
        if refused := target_problem(delivery.url, addresses, self.settings.webhooks_allow_private_targets):
            result.error = f"target refused: {refused}"
            return
        if not addresses:
            result.error = f"host {host} does not resolve"
            return
        timestamp = int(time.time())
        headers = {
            "host": url.netloc.decode("ascii"),  # the URL's host and port, as httpx would send them
            "content-type": "application/json",
            "webhook-id": delivery.message_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": sign(delivery.secret, delivery.message_id, timestamp, delivery.payload),
            "user-agent": "gaoxin-webhooks/1",
        }
        # To a checked address, never the name (which httpx would resolve again); the next one only when this one
        # refuses the connection, before anything was sent.
        for address in addresses:
            request = client.build_request(
                "POST",
                url.copy_with(host=address.split("%")[0]),
                content=delivery.payload,
                headers=headers,
                timeout=None,  # the attempt's own timeout bounds it all
                extensions={"sni_hostname": host},
            )
            try:
                reply = await client.send(request, stream=True)
            except httpx.ConnectError as exc:
                result.error = f"{type(exc).__name__}: {exc} ({address})"
                continue
            except httpx.HTTPError as exc:
                result.error = f"{type(exc).__name__}: {exc}"
                return
            result.status_code, result.error = reply.status_code, None
            try:
                received = 0
                async for chunk in reply.aiter_raw():
                    received += len(chunk)
                    if received >= RESPONSE_BODY_CAP_BYTES:
                        break
            except httpx.HTTPError as exc:
                result.error = f"reading the response body: {type(exc).__name__}: {exc}"
            finally:
                await reply.aclose()
            return

    def _settle(
        self,
        delivery: store.DueDelivery,
        started_at: datetime,
        result: _Result,
        started: float,
        interrupted: bool = False,
    ) -> None:
        status_code, error = result.status_code, result.error
        elapsed_ms = int((time.perf_counter() - started) * 1000)
        attempts = delivery.attempts + 1
        next_at: datetime | None = None
        if status_code is not None and 200 <= status_code < 300:
            outcome = "delivered"
        elif status_code == 410:
            outcome = "abandoned"
        elif interrupted:
            outcome, next_at = "pending", datetime.now(UTC)
        elif attempts >= self.settings.webhook_max_attempts:
            outcome = "failed"
        else:
            outcome = "pending"
            delay = retry_delay(attempts, self.settings.webhook_retry_base_seconds)
            next_at = datetime.now(UTC) + timedelta(seconds=delay)
        if status_code is not None and outcome != "delivered":
            error = f"HTTP {status_code}" + (f"; {error}" if error else "")
        with transaction(self.engine) as conn:
            settled = store.record_attempt(conn, delivery, started_at, status_code, error, elapsed_ms, outcome, next_at)
            if outcome == "abandoned":
                store.disable_webhook(conn, delivery.webhook_id, "the receiver answered 410 Gone")
        DELIVERY_ATTEMPTS.labels(settled).inc()


@dataclass
class _Result:
    """What one attempt got: the receiver's status, if it answered one, and what went wrong, if anything."""

    status_code: int | None = None
    error: str | None = None
