"""Coalescer: single calls gathered into batches, never answered by a batch sent before the call was made."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from services.common.coalesce import Coalescer


class Register:
    """A batch endpoint that reads a value per key when the batch arrives, and can be held back."""

    def __init__(self) -> None:
        self.values: dict[str, int] = {}
        self.batches: list[list[str]] = []
        self.gate = asyncio.Event()
        self.gate.set()
        self.failure: Exception | None = None

    async def read(self, keys: list[str], deadline: float) -> Sequence[int]:
        self.batches.append(keys)
        answers = [self.values.get(key, 0) for key in keys]  # read when the batch arrives
        await self.gate.wait()
        if self.failure is not None:
            raise self.failure
        return answers


def test_a_lone_call_goes_at_once_as_a_batch_of_one() -> None:
    async def scenario() -> None:
        register = Register()
        register.values["a"] = 7
        coalescer = Coalescer(register.read, max_batch=10)
        assert await coalescer.call("a", 1.0) == 7
        assert register.batches == [["a"]]

    asyncio.run(scenario())


def test_calls_made_while_a_batch_is_out_wait_for_the_next_one_and_see_what_was_written_meanwhile() -> None:
    async def scenario() -> None:
        register = Register()
        coalescer = Coalescer(register.read, max_batch=10)
        register.gate.clear()
        first = asyncio.create_task(coalescer.call("a", 1.0))
        await asyncio.sleep(0.01)  # the first batch is out, its read done
        register.values["a"] = 1  # a write acknowledged before the next calls are made
        later = [asyncio.create_task(coalescer.call(key, 1.0)) for key in ("a", "b", "a")]
        await asyncio.sleep(0.01)
        assert register.batches == [["a"]]  # nobody joined the batch in flight
        register.gate.set()
        assert await first == 0
        assert await asyncio.gather(*later) == [1, 0, 1]
        assert register.batches == [["a"], ["a", "b", "a"]]

    asyncio.run(scenario())


def test_batches_are_cut_at_max_batch() -> None:
    async def scenario() -> None:
        register = Register()
        register.values.update({str(i): i for i in range(7)})
        coalescer = Coalescer(register.read, max_batch=3)
        register.gate.clear()
        calls = [asyncio.create_task(coalescer.call(str(i), 1.0)) for i in range(7)]
        await asyncio.sleep(0.01)
        register.gate.set()
        assert await asyncio.gather(*calls) == list(range(7))
        assert [len(batch) for batch in register.batches] == [3, 3, 1]

    asyncio.run(scenario())


def test_a_failed_batch_fails_its_calls_only() -> None:
    async def scenario() -> None:
        register = Register()
        coalescer = Coalescer(register.read, max_batch=10)
        register.failure = ConnectionError("down")
        failed = await asyncio.gather(coalescer.call("a", 1.0), coalescer.call("b", 1.0), return_exceptions=True)
        assert [type(outcome) for outcome in failed] == [ConnectionError, ConnectionError]
        register.failure = None
        register.values["a"] = 3
        assert await coalescer.call("a", 1.0) == 3
        assert register.batches == [["a", "b"], ["a"]]

    asyncio.run(scenario())


def test_a_call_times_out_at_its_own_deadline_and_a_caller_gone_is_left_out_of_the_next_batch() -> None:
    async def scenario() -> None:
        register = Register()
        coalescer = Coalescer(register.read, max_batch=10)
        register.gate.clear()
        held = asyncio.create_task(coalescer.call("a", 5.0))
        await asyncio.sleep(0.01)
        loop = asyncio.get_running_loop()
        started = loop.time()
        with pytest.raises(TimeoutError):
            await coalescer.call("impatient", 0.05)  # waits behind the held batch, gives up at its deadline
        assert 0.04 < loop.time() - started < 0.5
        patient = asyncio.create_task(coalescer.call("b", 5.0))
        await asyncio.sleep(0.01)
        register.gate.set()
        assert (await held, await patient) == (0, 0)
        assert register.batches == [["a"], ["b"]]

    asyncio.run(scenario())


def test_an_answer_count_that_does_not_match_the_batch_fails_the_calls() -> None:
    async def short(keys: list[str], deadline: float) -> Sequence[int]:
        return [1]

    async def scenario() -> None:
        coalescer = Coalescer(short, max_batch=10)
        outcomes = await asyncio.gather(coalescer.call("a", 1.0), coalescer.call("b", 1.0), return_exceptions=True)
        assert [str(outcome) for outcome in outcomes] == ["1 answers to a batch of 2"] * 2

    asyncio.run(scenario())


def test_callers_are_cancelled_rather_than_left_waiting_when_the_sender_is_cancelled() -> None:
    async def scenario() -> None:
        register = Register()
        coalescer = Coalescer(register.read, max_batch=10)
        register.gate.clear()
        out = asyncio.create_task(coalescer.call("a", 5.0))
        await asyncio.sleep(0.01)
        queued = asyncio.create_task(coalescer.call("b", 5.0))
        await asyncio.sleep(0.01)
        assert coalescer._sender is not None
        coalescer._sender.cancel()  # as at shutdown
        outcomes = await asyncio.wait_for(asyncio.gather(out, queued, return_exceptions=True), 1.0)
        assert [type(outcome) for outcome in outcomes] == [asyncio.CancelledError, asyncio.CancelledError]

    asyncio.run(scenario())


def test_while_busy_the_next_batch_waits_gather_seconds_for_more_calls_and_a_lone_call_does_not() -> None:
    async def scenario() -> None:
        register = Register()
        coalescer = Coalescer(register.read, max_batch=10, gather_seconds=0.1)
        loop = asyncio.get_running_loop()
        started = loop.time()
        assert await coalescer.call("alone", 1.0) == 0
        assert loop.time() - started < 0.05  # quiet: no gathering delay
        register.gate.clear()
        busy = [asyncio.create_task(coalescer.call(key, 1.0)) for key in ("a", "b")]
        await asyncio.sleep(0.01)
        register.gate.set()
        await asyncio.gather(*busy)
        later = [asyncio.create_task(coalescer.call("c", 1.0))]
        await asyncio.sleep(0.03)  # within the gathering window that follows a batch of two
        later.append(asyncio.create_task(coalescer.call("d", 1.0)))
        await asyncio.gather(*later)
        assert register.batches == [["alone"], ["a", "b"], ["c", "d"]]

    asyncio.run(scenario())
