"""Single calls gathered into batch calls, without ever answering a call from data older than the call."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")

BatchCall = Callable[[list[K], float], Awaitable[Sequence[V]]]


class Coalescer(Generic[K, V]):
    """Turns `call(item)` into `call_batch(items, seconds)`, one batch in flight at a time.

    Calls made while a batch is out wait for the next one, sent once that batch is back. So every call is
    answered by a batch sent after the call was made: whatever was written and acknowledged before the call is
    seen. Joining the batch already in flight instead (Go's singleflight) could answer from a read made before
    the call, i.e. miss a change the caller has just been told was committed.

    The batches size themselves: a lone call goes at the next turn of the event loop; under load, the longer a
    batch takes, the more calls gather for the next one, and the cost of a call (a round trip, its framing, a
    thread hop and a few queries on the far side) is shared by all of them.
    """

    def __init__(self, call_batch: BatchCall[K, V], max_batch: int, gather_seconds: float = 0.0) -> None:
        self._call_batch = call_batch
        self._max_batch = max_batch
        # While busy (the last batch carried more than one call), the next batch leaves this long after it came
        # back, so that more calls share it; a lone call on a quiet service never waits.
        self._gather_seconds = gather_seconds
        self._next_send_at = 0.0
        self._waiting: list[tuple[K, asyncio.Future[V], float]] = []
        self._sender: asyncio.Task[None] | None = None
        self._in_flight: list[tuple[K, asyncio.Future[V], float]] = []

    async def call(self, item: K, deadline: float) -> V:
        """The batch's answer for `item`; TimeoutError if none within `deadline` seconds (waiting included)."""
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[V] = loop.create_future()
        self._waiting.append((item, answer, loop.time() + deadline))
        if self._sender is None or self._sender.done():
            self._sender = asyncio.create_task(self._send_batches())
        async with asyncio.timeout(deadline):
            return await answer

    async def _send_batches(self) -> None:
        try:
            while self._waiting:
                await self._send_next_batch()
        except BaseException:  # this task cancelled (shutdown): nobody will answer the callers, so say so
            for _, answer, _ in [*self._in_flight, *self._waiting]:
                answer.cancel()
            self._waiting.clear()
            raise

    async def _send_next_batch(self) -> None:
        loop = asyncio.get_running_loop()
        if (pause := self._next_send_at - loop.time()) > 0:
            await asyncio.sleep(pause)
        batch = [waiting for waiting in self._waiting[: self._max_batch] if not waiting[1].done()]
        del self._waiting[: self._max_batch]
        if not batch:
            return  # every caller of this batch gave up (deadline or cancellation)
        self._in_flight = batch
        remaining = max(deadline for _, _, deadline in batch) - loop.time()
        try:
            answers = await self._call_batch([item for item, _, _ in batch], max(remaining, 0.0))
            if len(answers) != len(batch):
                raise RuntimeError(f"{len(answers)} answers to a batch of {len(batch)}")
        except Exception as exc:
            self._in_flight = []
            for _, answer, _ in batch:
                if not answer.done():
                    answer.set_exception(exc)
            return
        self._in_flight = []
        if len(batch) > 1:
            self._next_send_at = loop.time() + self._gather_seconds
        for (_, answer, _), value in zip(batch, answers, strict=True):
            if not answer.done():
                answer.set_result(value)
