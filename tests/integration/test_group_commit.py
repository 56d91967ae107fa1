"""BatchWriter on SQLite and PostgreSQL: every item committed once, in fewer transactions, results and errors to
their callers."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, event, func, select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from services.common.db import BatchWriter, new_metadata, reading
from tests.conftest import engine_with

metadata: MetaData = new_metadata()
items = Table("items", metadata, Column("id", Integer, primary_key=True), Column("note", String(64)))


def insert_each(conn: Connection, notes: list[tuple[int, str]]) -> list[tuple[int, str]]:
    """One INSERT per item, so that a duplicate id fails its batch (and then only itself)."""
    for item_id, note in notes:
        conn.execute(items.insert(), {"id": item_id, "note": note})
    return notes


def writer_of(engine: Any) -> BatchWriter[tuple[int, str], tuple[int, str]]:
    return BatchWriter(engine, insert_each, "test-writer")


async def write_as(writer: BatchWriter[tuple[int, str], tuple[int, str]], item_id: int) -> tuple[int, str]:
    return await writer.write((item_id, f"req-{item_id}"))


def test_batch_writer_commits_every_item_in_fewer_transactions(database_url: str) -> None:
    engine = engine_with(database_url, metadata)
    commits = 0

    @event.listens_for(engine, "commit")
    def count(_conn: Any) -> None:
        nonlocal commits
        commits += 1

    writer = writer_of(engine)

    async def scenario() -> list[tuple[int, str]]:
        return await asyncio.gather(*(write_as(writer, i) for i in range(200)))

    results = asyncio.run(scenario())
    writer.close()

    assert results == [(i, f"req-{i}") for i in range(200)]
    with reading(engine) as conn:
        rows = conn.execute(select(items.c.id, items.c.note).order_by(items.c.id)).all()
    assert [(r.id, r.note) for r in rows] == results
    assert commits < 100
    engine.dispose()


def test_batch_writer_failing_item_fails_alone(database_url: str) -> None:
    engine = engine_with(database_url, metadata)
    writer = writer_of(engine)

    async def scenario() -> list[Any]:
        await write_as(writer, 7)
        units = [write_as(writer, i) for i in range(10)]  # id 7 exists already
        return await asyncio.gather(*units, return_exceptions=True)

    outcomes = asyncio.run(scenario())
    writer.close()

    assert isinstance(outcomes[7], IntegrityError)
    assert [o for i, o in enumerate(outcomes) if i != 7] == [(i, f"req-{i}") for i in range(10) if i != 7]
    with reading(engine) as conn:
        assert conn.execute(select(func.count()).select_from(items)).scalar_one() == 10
    engine.dispose()


def test_batch_writer_close_ends_thread_and_a_lone_failure_reaches_its_caller(tmp_path: Any) -> None:
    engine = engine_with(f"sqlite:///{tmp_path / 'w.db'}", metadata)
    writer = writer_of(engine)

    assert asyncio.run(write_as(writer, 1)) == (1, "req-1")
    writer.close()

    assert writer._thread is not None and not writer._thread.is_alive()
    with pytest.raises(IntegrityError):
        asyncio.run(write_as(writer_of(engine), 1))
    engine.dispose()


def test_batch_writer_gives_each_item_its_result_and_commits_nothing_when_results_are_missing(
    database_url: str,
) -> None:
    engine = engine_with(database_url, metadata)
    batches: list[list[int]] = []

    def apply(conn: Connection, ids: list[int]) -> list[int]:
        batches.append(ids)
        conn.execute(items.insert(), [{"id": i, "note": "batch"} for i in ids])
        return [i * 10 for i in ids if i != 3]  # one result short when 3 is in the batch

    writer: BatchWriter[int, int] = BatchWriter(engine, apply, "batch-writer")

    async def scenario() -> list[Any]:
        return await asyncio.gather(*(writer.write(i) for i in range(50)), return_exceptions=True)

    outcomes = asyncio.run(scenario())
    writer.close()

    assert isinstance(outcomes[3], RuntimeError)
    assert [o for i, o in enumerate(outcomes) if i != 3] == [i * 10 for i in range(50) if i != 3]
    assert all(batch == sorted(batch) for batch in batches)  # in arrival order
    with reading(engine) as conn:
        assert conn.execute(select(items.c.id).order_by(items.c.id)).scalars().all() == [i for i in range(50) if i != 3]
    engine.dispose()


def test_batch_writer_while_busy_waits_gather_seconds_for_more_items(tmp_path: Any) -> None:
    engine = engine_with(f"sqlite:///{tmp_path / 'g.db'}", metadata)
    batches: list[list[int]] = []
    hold = threading.Event()

    def apply(conn: Connection, ids: list[int]) -> list[int]:
        batches.append(ids)
        hold.wait(5)  # the first batch is held, so that the next ones queue up behind it
        conn.execute(items.insert(), [{"id": i, "note": "g"} for i in ids])
        return ids

    writer: BatchWriter[int, int] = BatchWriter(engine, apply, "gathering", gather_seconds=0.1)

    async def scenario() -> None:
        first = asyncio.create_task(writer.write(1))
        await asyncio.sleep(0.05)
        queued = [asyncio.create_task(writer.write(i)) for i in (2, 3)]
        await asyncio.sleep(0.05)
        hold.set()
        await asyncio.gather(first, *queued)  # [1], then [2, 3] at once: the batch before held only one
        later = asyncio.create_task(writer.write(4))
        await asyncio.sleep(0.03)  # within the gathering that follows a batch of two
        assert await asyncio.gather(later, writer.write(5)) == [4, 5]

    asyncio.run(scenario())
    writer.close()

    assert batches == [[1], [2, 3], [4, 5]]
    engine.dispose()
