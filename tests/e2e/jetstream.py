"""Reading what the platform published on JetStream, for tests that assert on events."""

from __future__ import annotations

import asyncio
from typing import TypeVar

import nats
from google.protobuf.message import Message
from nats.errors import TimeoutError as NatsTimeoutError

from services.platform import Platform

M = TypeVar("M", bound=Message)


async def _payloads(url: str, subject: str) -> list[bytes]:
    nc = await nats.connect(url)
    try:
        sub = await nc.jetstream().subscribe(subject, ordered_consumer=True)
        payloads = []
        while True:
            try:
                payloads.append((await sub.next_msg(timeout=0.3)).data)
            except NatsTimeoutError:
                return payloads
    finally:
        await nc.close()


def published(platform: Platform, subject: str, message_type: type[M]) -> list[M]:
    """Every event on `subject` the stream holds, oldest first."""
    return [message_type.FromString(p) for p in asyncio.run(_payloads(platform.settings.resolved_nats_url, subject))]
