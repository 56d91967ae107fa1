"""The gateway's audit log appended in batches, on SQLite and PostgreSQL: one chain, in arrival order, a few
statements per batch, and every entry's outcome when a batch fails."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import Engine, event, select
from sqlalchemy.exc import IntegrityError

from services.common.db import reading, transaction
from services.gateway import store
from services.gateway.audit import AuditTrail
from services.gateway.domain.audit import GENESIS, AuditEntry, entry_hash
from services.gateway.routes.audit import verify_chain
from tests.conftest import engine_with

ACTION = "POST /v1/talent/checks"


def failures() -> float:
    return REGISTRY.get_sample_value("gaoxin_audit_write_failures_total") or 0.0


def chain(engine: Engine) -> list[tuple[AuditEntry, str, str]]:
    with reading(engine) as conn:
        return store.audit_entries(conn, 0, 10_000)


def head(engine: Engine) -> tuple[int, str]:
    with reading(engine) as conn:
        row = conn.execute(select(store.audit_head)).one()
    return row.last_seq, row.last_hash


@contextmanager
def statements(engine: Engine) -> Iterator[Counter[str]]:
    """How many statements of each kind the audit writer runs meanwhile (executemany counts once)."""
    seen: Counter[str] = Counter()

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if threading.current_thread().name != "audit-writer":  # the test's own, holding the head
            return
        words = statement.split()
        table = "audit_head" if "audit_head" in statement else "audit_log" if "audit_log" in statement else "-"
        seen[f"{words[0].upper()} {table}"] += 1

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


async def burst(trail: AuditTrail, engine: Engine, request_ids: list[Any]) -> None:
    """Record one entry per request id, all at once, while another replica holds the head: the writer's first
    batch waits on the lock and everything else queues up behind it, so the batches are the same on every run."""
    with engine.connect() as replica:
        replica.begin()
        replica.execute(select(store.audit_head).with_for_update())  # SQLite: BEGIN IMMEDIATE takes the lock
        records = asyncio.gather(*(trail.record("k1", ACTION, f"/v1/x/{r}", 201, r) for r in request_ids))
        await asyncio.sleep(0.3)
        replica.rollback()
    await records


def test_a_burst_of_records_is_one_chain_in_arrival_order_in_few_statements(database_url: str) -> None:
    engine = engine_with(database_url, store.metadata)
    trail = AuditTrail(engine)
    asyncio.run(trail.record("k0", "POST /v1/keys", "/v1/keys", 201, "first"))  # creates the head
    failed = failures()
    request_ids = [f"r{i}" for i in range(200)]

    with statements(engine) as seen:
        asyncio.run(burst(trail, engine, request_ids))
    trail.writer.close()

    entries = chain(engine)
    assert [e.seq for e, _, _ in entries] == list(range(1, 202))
    assert [e.request_id for e, _, _ in entries[1:]] == request_ids
    assert verify_chain(engine) == {"valid": True, "entries": 201, "first_break": None}
    assert head(engine) == (201, entries[-1][2])
    assert failures() == failed
    # Each batch reads the head once, inserts once and updates the head once; 200 entries one by one took 600.
    assert 1 <= seen["INSERT audit_log"] <= 2
    assert seen["SELECT audit_head"] == seen["INSERT audit_log"] == seen["UPDATE audit_head"]
    engine.dispose()


def test_a_failing_batch_is_retried_entry_by_entry_so_only_the_bad_entry_is_lost_and_counted(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    engine = engine_with(database_url, store.metadata)
    trail = AuditTrail(engine)
    asyncio.run(trail.record("k0", "POST /v1/keys", "/v1/keys", 201, "first"))
    failed = failures()
    request_ids: list[Any] = [f"r{i}" for i in range(10)]
    request_ids[6] = None  # NOT NULL: the batch's INSERT fails on both backends

    with statements(engine) as seen, caplog.at_level(logging.ERROR, "services.gateway.audit"):
        asyncio.run(burst(trail, engine, request_ids))
    trail.writer.close()

    entries = chain(engine)
    assert [e.seq for e, _, _ in entries] == list(range(1, 11))  # no gap where the failed batch began
    assert [e.request_id for e, _, _ in entries[1:]] == [r for r in request_ids if r is not None]
    assert verify_chain(engine)["valid"] is True
    assert failures() == failed + 1
    assert [r.getMessage() for r in caplog.records] == ["audit log write failed"]
    assert seen["INSERT audit_log"] > 2  # the batch holding r6 failed and its entries were retried alone
    engine.dispose()


def test_a_batch_is_hashed_as_one_by_one_and_kept_whole_or_not_at_all(database_url: str) -> None:
    engine = engine_with(database_url, store.metadata)
    records = [store.AuditRecord(f"2026-11-26T00:00:0{i}Z", "k1", ACTION, f"/v1/x/{i}", 201, f"r{i}") for i in range(5)]

    with transaction(engine) as conn:
        appended = store.append_audit_batch(conn, records[:3])
        assert store.append_audit_batch(conn, []) == []
    with pytest.raises(IntegrityError), transaction(engine) as conn:
        store.append_audit_batch(conn, [records[3], store.AuditRecord("t", "k1", ACTION, "/", 201, None)])  # type: ignore[arg-type]
    with transaction(engine) as conn:
        appended += store.append_audit_batch(conn, records[4:])

    expected, previous = [], GENESIS
    for seq, r in enumerate([*records[:3], records[4]], start=1):
        entry = AuditEntry(seq, r.at, r.key_id, r.action, r.resource, r.outcome, r.request_id)
        expected.append((entry, previous, entry_hash(entry, previous)))
        previous = expected[-1][2]
    assert appended == [e for e, _, _ in expected]
    assert chain(engine) == expected  # the failed batch left neither rows nor a moved head
    assert head(engine) == (4, previous)
    engine.dispose()
