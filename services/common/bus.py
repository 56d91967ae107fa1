"""NATS JetStream: one connection per process, the platform's streams declared in code.

The connection retries for ever (a service stays up, NOT_SERVING, while NATS is away); the outbox is the system
of record and JetStream a transport (see STYLE.md on Jepsen's findings), so nothing is lost while it is down.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

import nats
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.api import DiscardPolicy, RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import BadRequestError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Stream:
    name: str
    subjects: tuple[str, ...]
    description: str


# Every stream of the platform; subjects are gaoxin.<domain>.<event>.v1.
STREAMS: tuple[Stream, ...] = (
    Stream("GAOXIN_INDICATORS", ("gaoxin.indicators.>",), "zones, counties, indicator values, rankings"),
    Stream("GAOXIN_REWARDS", ("gaoxin.rewards.>",), "awards granted and revoked"),
    Stream("GAOXIN_TALENT", ("gaoxin.talent.>",), "talent decisions recorded (no personal data)"),
)

# Publishers dedupe by Nats-Msg-Id within this window; consumers' inbox tables cover everything older.
DUPLICATE_WINDOW_SECONDS = 15 * 60.0


def stream_config(stream: Stream, replicas: int = 1) -> StreamConfig:
    return StreamConfig(
        name=stream.name,
        description=stream.description,
        subjects=list(stream.subjects),
        retention=RetentionPolicy.LIMITS,
        storage=StorageType.FILE,
        discard=DiscardPolicy.OLD,
        max_age=30 * 24 * 3600.0,
        duplicate_window=DUPLICATE_WINDOW_SECONDS,
        num_replicas=replicas,
    )


async def ensure_streams(js: JetStreamContext, replicas: int = 1) -> None:
    for stream in STREAMS:
        config = stream_config(stream, replicas)
        try:
            await js.add_stream(config)
        except BadRequestError:
            # Exists with another configuration: bring it to the one declared here.
            await js.update_stream(config)


class Bus:
    """The process's NATS connection; `ready` is set once connected and the streams are declared.

    `stream_replicas` must be the same in every process: each declares the streams, and the last one to do so
    sets their replica count.
    """

    def __init__(self, url: str, name: str, stream_replicas: int = 1) -> None:
        self.url = url
        self.name = name
        self.stream_replicas = stream_replicas
        self.nc: Client | None = None
        self.ready = asyncio.Event()

    @property
    def js(self) -> JetStreamContext:
        if self.nc is None:
            raise RuntimeError("NATS is not connected yet")
        return self.nc.jetstream()

    @property
    def connected(self) -> bool:
        return self.nc is not None and self.nc.is_connected

    async def connect(self) -> None:
        """Connect, retrying until NATS answers; then declare the streams."""
        delay = 0.2
        while self.nc is None:
            try:
                self.nc = await nats.connect(
                    servers=[self.url],
                    name=self.name,
                    max_reconnect_attempts=-1,
                    reconnect_time_wait=0.5,
                    connect_timeout=2,
                    disconnected_cb=self._on_disconnect,
                    reconnected_cb=self._on_reconnect,
                    error_cb=self._on_error,
                )
            except Exception as exc:
                log.warning("NATS not reachable yet", extra={"fields": {"url": self.url, "error": repr(exc)}})
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
        await self._declare_streams()

    async def _declare_streams(self) -> None:
        while True:
            try:
                await ensure_streams(self.js, self.stream_replicas)
                self.ready.set()
                return
            except Exception as exc:
                log.warning("declaring streams failed; retrying", extra={"fields": {"error": repr(exc)}})
                await asyncio.sleep(1.0)

    async def _on_disconnect(self) -> None:
        log.warning("NATS disconnected")

    async def _on_reconnect(self) -> None:
        log.info("NATS reconnected")
        # An external NATS may have lost its state; declaring again is idempotent.
        asyncio.get_running_loop().create_task(self._declare_streams())

    async def _on_error(self, exc: Exception) -> None:
        log.debug("NATS error", extra={"fields": {"error": repr(exc)}})

    async def close(self) -> None:
        """Close without draining: consumers ack before they return, and nats-py's drain() can wait for ever
        on a pull subscription while swallowing the cancellation meant to bound it."""
        if self.nc is not None and not self.nc.is_closed:
            await self.nc.close()
