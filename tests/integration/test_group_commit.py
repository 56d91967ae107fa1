"""GroupCommitWriter and BatchWriter on SQLite and PostgreSQL: every unit committed once, results and errors to their
callers."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, event, func, select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from services.common.db import BatchWriter, GroupCommitWriter, new_metadata, reading
from services.common.logs import request_id_var
from tests.conftest import engine_with

metadata: MetaData = new_metadata()
items = Table("items", metadata, Column("id", Integer, primary_key=True), Column("note", String(64)))


def insert(item_id: int) -> Any:
    def work(conn: Connection) -> tuple[int, str]:
        conn.execute(items.insert(), {"id": item_id, "note": request_id_var.get()})
        return item_id, request_id_var.get()

    return work


async def write_as(writer: GroupCommitWriter, item_id: int) -> tuple[int, str]:
    request_id_var.set(f"req-{item_id}")  # each task has its own context
    result: tuple[int, str] = await writer.write(insert(item_id))
    return result


def test_group_commit_commits_every_unit_in_fewer_transactions(database_url: str) -> None:
    engine = engine_with(database_url, metadata)
    commits = 0

    @event.listens_for(engine, "commit")
    def count(_conn: Any) -> None:
        nonlocal commits
        commits += 1

    writer = GroupCommitWriter(engine)

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


def test_group_commit_failing_unit_fails_alone(database_url: str) -> None:
    engine = engine_with(database_url, metadata)
    writer = GroupCommitWriter(engine)

    async def scenario() -> list[Any]:
        await writer.write(insert(7))
        units = [write_as(writer, i) for i in range(10)]  # id 7 exists already
        return await asyncio.gather(*units, return_exceptions=True)

    outcomes = asyncio.run(scenario())
    writer.close()

    assert isinstance(outcomes[7], IntegrityError)
    assert [o for i, o in enumerate(outcomes) if i != 7] == [(i, f"req-{i}") for i in range(10) if i != 7]
    with reading(engine) as conn:
        assert conn.execute(select(func.count()).select_from(items)).scalar_one() == 10
    engine.dispose()


def test_group_commit_close_ends_thread_and_a_lone_failure_reaches_its_caller(tmp_path: Any) -> None:
    engine = engine_with(f"sqlite:///{tmp_path / 'w.db'}", metadata)
    writer = GroupCommitWriter(engine)

    assert asyncio.run(write_as(writer, 1)) == (1, "req-1")
    writer.close()

    assert writer._thread is not None and not writer._thread.is_alive()
    with pytest.raises(IntegrityError):
        asyncio.run(GroupCommitWriter(engine).write(insert(1)))
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
