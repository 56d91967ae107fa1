"""What every part of the indicators servicer shares: the engine, the relay, argument helpers."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import date
from typing import TypeVar

import grpc
from gaoxin.indicators.v1 import indicators_pb2_grpc as pb_grpc
from gaoxin.types.v1 import types_pb2
from sqlalchemy import Engine

from services.common.convert import date_from_pb
from services.common.errors import FieldViolation, InvalidArgument
from services.common.outbox import OutboxRelay
from services.indicators.domain.values import MAX_LISTED_VIOLATIONS

T = TypeVar("T")
Context = grpc.aio.ServicerContext[object, object]


def invalid(violations: list[FieldViolation]) -> None:
    """Raise InvalidArgument listing every violation (at most MAX_LISTED_VIOLATIONS, and how many more)."""
    if not violations:
        return
    listed = violations[:MAX_LISTED_VIOLATIONS]
    if len(violations) > len(listed):
        summary = (
            f"{len(violations):,} problems; the first {len(listed):,} are listed and "
            f"{len(violations) - len(listed):,} more are not; nothing was stored"
        )
    elif len(violations) > 5:
        summary = f"{len(violations):,} problems; nothing was stored"
    else:
        summary = "; ".join(f"{'.'.join(map(str, v.location))}: {v.message}" for v in violations)
    raise InvalidArgument(summary, listed)


def date_arg(value: types_pb2.Date, field: str) -> date | None:
    try:
        return date_from_pb(value)
    except ValueError as exc:
        raise InvalidArgument(f"{field} is not a valid date", [FieldViolation((field,), str(exc))]) from exc


class ServicerBase(pb_grpc.IndicatorsServiceServicer):
    def __init__(self, engine: Engine, relay: OutboxRelay) -> None:
        self.engine = engine
        self.relay = relay

    async def _write(self, work: Callable[[], T]) -> T:
        """Run a unit of work in a thread, then wake the relay for the events it committed."""
        result = await asyncio.to_thread(work)
        self.relay.notify()
        return result

    async def _read(self, work: Callable[[], T]) -> T:
        return await asyncio.to_thread(work)
