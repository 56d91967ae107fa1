"""The outbox relay and the inbox consumer against a real nats-server and real databases."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

import nats
from alembic import command
from gaoxin.events.v1 import events_pb2
from sqlalchemy import Column, Engine, MetaData, String, Table, func, select
from sqlalchemy.engine import Connection

from services.common.bus import Bus
from services.common.convert import ZoneLevel
from services.common.db import make_engine, new_metadata, reading, transaction
from services.common.inbox import EventConsumer, Prepared, Subscription, inbox_table
from services.common.metrics import EVENTS_CONSUMED
from services.common.migrate import alembic_config
from services.common.outbox import OutboxRelay
from services.indicators import store as indicators_store
from services.indicators.domain.registry import Recognition
from services.indicators.events import ZONE_RECOGNIZED, stage_zone_recognized
from services.platform import NatsServer
from services.rewards import store as rewards_store
from services.rewards.events import on_zone_recognized


def migrated(service: str, url: str) -> Engine:
    command.upgrade(alembic_config(service, url), "head")  # type: ignore[arg-type]
    return make_engine(url)


def stage_recognitions(engine: Engine, zone_codes: list[str], on: date) -> list[str]:
    ids = []
    with transaction(engine) as conn:
        if indicators_store.get_county(conn, "320706") is None:
            indicators_store.upsert_county(conn, "320706", "海州区")
        for code in zone_codes:
            indicators_store.upsert_zone(conn, code, code, "320706", [])
            recognition = Recognition(on, ZoneLevel.PROVINCIAL)
            indicators_store.add_recognition(conn, code, recognition)
            ids.append(stage_zone_recognized(conn, code, "320706", recognition, [recognition]))
    return ids


def unpublished(engine: Engine) -> int:
    o = indicators_store.outbox.c
    with reading(engine) as conn:
        return int(conn.execute(select(func.count()).where(o.published_at.is_(None))).scalar_one())


async def stream_msg_ids(url: str) -> list[str]:
    nc = await nats.connect(url)
    js = nc.jetstream()
    info = await js.stream_info("GAOXIN_INDICATORS")
    ids = []
    for seq in range(info.state.first_seq, info.state.last_seq + 1):
        msg = await js.get_msg("GAOXIN_INDICATORS", seq)
        ids.append((msg.headers or {})["Nats-Msg-Id"])
    await nc.close()
    return ids


async def until(check: Callable[[], bool], within: float = 15.0) -> None:
    async with asyncio.timeout(within):
        while not await asyncio.to_thread(check):
            await asyncio.sleep(0.05)


def test_relay_publishes_each_event_once_with_its_id_as_msg_id(nats_server: NatsServer, database_url: str) -> None:
    engine = migrated("indicators", database_url)
    event_ids = stage_recognitions(engine, ["A-1", "A-2", "A-3"], date(2022, 1, 1))

    async def scenario() -> list[str]:
        bus = Bus(nats_server.url, "test")
        relay = OutboxRelay(engine, indicators_store.outbox, bus, poll_seconds=0.05)
        connect = asyncio.create_task(bus.connect())
        task = asyncio.create_task(relay.run())
        await until(lambda: unpublished(engine) == 0)
        task.cancel()
        await connect
        await bus.close()
        return await stream_msg_ids(nats_server.url)

    assert asyncio.run(scenario()) == event_ids
    engine.dispose()


def test_events_written_while_nats_is_down_are_relayed_when_it_returns(
    nats_server: NatsServer, database_url: str
) -> None:
    engine = migrated("indicators", database_url)
    before = stage_recognitions(engine, ["B-1"], date(2022, 1, 1))

    async def scenario() -> list[str]:
        bus = Bus(nats_server.url, "test")
        relay = OutboxRelay(engine, indicators_store.outbox, bus, poll_seconds=0.05)
        await bus.connect()
        task = asyncio.create_task(relay.run())
        await until(lambda: unpublished(engine) == 0)
        await asyncio.to_thread(nats_server.stop)
        during = await asyncio.to_thread(stage_recognitions, engine, [f"C-{i}" for i in range(20)], date(2022, 2, 1))
        relay.notify()
        await asyncio.sleep(0.5)
        assert unpublished(engine) == 20  # nothing lost, nothing marked sent without a PubAck
        await asyncio.to_thread(nats_server.start)
        await until(lambda: unpublished(engine) == 0, within=30)
        task.cancel()
        await bus.close()
        ids = await stream_msg_ids(nats_server.url)
        assert ids == before + during
        return ids

    assert len(asyncio.run(scenario())) == 21
    engine.dispose()


def test_consumer_applies_an_event_once_even_when_redelivered(nats_server: NatsServer, database_url: str) -> None:
    engine = migrated("rewards", database_url)
    event = events_pb2.ZoneRecognized(zone_code="GN-1", county_code="320724")
    event.meta.event_id = "evt-1"
    event.recognition.level = 1
    event.recognition.recognized_on.year, event.recognition.recognized_on.month = 2022, 6
    event.recognition.recognized_on.day = 30
    event.history.append(event.recognition)
    duplicates_before = EVENTS_CONSUMED.labels("rewards-zone-recognized", "duplicate")._value.get()

    async def scenario() -> None:
        bus = Bus(nats_server.url, "test")
        await bus.connect()
        consumer = EventConsumer(engine, rewards_store.inbox, bus, on_zone_recognized())
        task = asyncio.create_task(consumer.run())
        js = bus.js
        await js.publish(ZONE_RECOGNIZED, event.SerializeToString(), headers={"Nats-Msg-Id": "first"})
        await js.publish(ZONE_RECOGNIZED, event.SerializeToString(), headers={"Nats-Msg-Id": "replayed"})

        def both_seen() -> bool:
            seen = EVENTS_CONSUMED.labels("rewards-zone-recognized", "duplicate")._value.get()
            return bool(seen - duplicates_before >= 1)

        await until(both_seen)
        task.cancel()
        await bus.close()

    asyncio.run(scenario())
    with reading(engine) as conn:
        awards = conn.execute(select(rewards_store.awards)).all()
        staged = conn.execute(select(func.count()).select_from(rewards_store.outbox)).scalar_one()
    assert [(a.rule, a.beneficiary_code, a.amount_yuan) for a in awards] == [("new_provincial_zone", "GN-1", 1_000_000)]
    assert staged == 1  # one award_granted event, not two
    engine.dispose()


def _consumer_tables() -> tuple[MetaData, Table, Table]:
    metadata = new_metadata()
    seen = Table("seen", metadata, Column("event_id", String(64), primary_key=True), Column("context", String(64)))
    return metadata, inbox_table(metadata), seen


def _event(event_id: str) -> bytes:
    event = events_pb2.ZoneRecognized(zone_code="Z")
    event.meta.event_id = event_id
    return event.SerializeToString()


def test_prepared_handler_gets_its_context_and_a_failing_prepare_is_redelivered(
    nats_server: NatsServer, tmp_path: Path
) -> None:
    metadata, inbox, seen = _consumer_tables()
    engine = make_engine(f"sqlite:///{tmp_path / 'c.db'}")
    metadata.create_all(engine)
    calls: list[str] = []

    async def prepare(subject: str, payload: bytes) -> str:
        event_id = events_pb2.EventEnvelope.FromString(payload).meta.event_id
        calls.append(event_id)
        if calls.count(event_id) == 1 and event_id == "flaky":
            raise ConnectionError("the other service is down")  # as a failed gRPC read would
        return f"ctx-{event_id}-{calls.count(event_id)}"

    def handle(conn: Connection, subject: str, payload: bytes, context: str) -> None:
        event_id = events_pb2.EventEnvelope.FromString(payload).meta.event_id
        conn.execute(seen.insert().values(event_id=event_id, context=context))

    subscription = Subscription("test-prepared", "GAOXIN_INDICATORS", ZONE_RECOGNIZED, Prepared(prepare, handle))
    subscription.backoff = [0.2]

    async def scenario() -> None:
        bus = Bus(nats_server.url, "test")
        await bus.connect()
        consumer = EventConsumer(engine, inbox, bus, subscription)
        task = asyncio.create_task(consumer.run())
        for event_id in ("steady", "flaky", "steady"):
            await bus.js.publish(ZONE_RECOGNIZED, _event(event_id))

        def done() -> bool:
            with reading(engine) as conn:
                return len(conn.execute(select(seen)).all()) == 2

        await until(done)
        await asyncio.sleep(0.3)  # the duplicate "steady" has been handled too by now
        consumer.stop()
        task.cancel()
        await bus.close()

    asyncio.run(scenario())
    with reading(engine) as conn:
        rows = {r.event_id: r.context for r in conn.execute(select(seen))}
    assert rows == {"steady": "ctx-steady-1", "flaky": "ctx-flaky-2"}
    assert calls.count("flaky") == 2  # failed once, redelivered after the back-off, applied
    assert calls.count("steady") == 2  # prepared again for the duplicate, which the inbox then skipped
    engine.dispose()


def test_idle_consumer_applies_a_lone_event_without_waiting_for_a_batch(
    nats_server: NatsServer, tmp_path: Path
) -> None:
    metadata, inbox, seen = _consumer_tables()
    engine = make_engine(f"sqlite:///{tmp_path / 'c.db'}")
    metadata.create_all(engine)
    applied_at: dict[str, float] = {}

    def handle(conn: Connection, subject: str, payload: bytes) -> None:
        event_id = events_pb2.EventEnvelope.FromString(payload).meta.event_id
        conn.execute(seen.insert().values(event_id=event_id, context=""))
        applied_at[event_id] = time.monotonic()

    async def scenario() -> list[float]:
        bus = Bus(nats_server.url, "test")
        await bus.connect()
        consumer = EventConsumer(
            engine, inbox, bus, Subscription("test-idle", "GAOXIN_INDICATORS", ZONE_RECOGNIZED, handle)
        )
        task = asyncio.create_task(consumer.run())
        delays = []
        await asyncio.sleep(0.5)  # the consumer is idle, in a lingering pull
        for i in range(4):
            event_id = f"lone-{i}"
            sent = time.monotonic()
            await bus.js.publish(ZONE_RECOGNIZED, _event(event_id))
            await until(lambda event_id=event_id: event_id in applied_at, within=5)
            delays.append(applied_at[event_id] - sent)
            await asyncio.sleep(0.29)  # land at different points of the fetch cycle
        consumer.stop()
        task.cancel()
        await bus.close()
        return delays

    delays = asyncio.run(scenario())
    # A lingering pull for a batch would hold each lone event until the fetch timeout (1 s) expired.
    assert max(delays) < 0.25, delays
    engine.dispose()


def test_max_ack_pending_one_applies_events_one_at_a_time_in_order_across_consumers(
    nats_server: NatsServer, tmp_path: Path
) -> None:
    metadata, inbox, seen = _consumer_tables()
    engine = make_engine(f"sqlite:///{tmp_path / 'c.db'}")
    metadata.create_all(engine)
    spans: list[tuple[str, float, float]] = []

    async def prepare(subject: str, payload: bytes) -> float:
        started = time.monotonic()
        await asyncio.sleep(0.03)  # a read from another service, during which a second replica could start
        return started

    def handle(conn: Connection, subject: str, payload: bytes, started: float) -> None:
        event_id = events_pb2.EventEnvelope.FromString(payload).meta.event_id
        conn.execute(seen.insert().values(event_id=event_id, context=""))
        spans.append((event_id, started, time.monotonic()))

    def subscription() -> Subscription:
        return Subscription(
            "test-serial", "GAOXIN_INDICATORS", ZONE_RECOGNIZED, Prepared(prepare, handle), max_ack_pending=1
        )

    async def scenario() -> None:
        bus = Bus(nats_server.url, "test")
        await bus.connect()
        replicas = [EventConsumer(engine, inbox, bus, subscription()) for _ in range(2)]
        tasks = [asyncio.create_task(r.run()) for r in replicas]
        await asyncio.sleep(0.3)  # both replicas idle in a pull
        started = time.monotonic()
        for i in range(8):
            await bus.js.publish(ZONE_RECOGNIZED, _event(f"serial-{i}"))
        await until(lambda: len(spans) == 8)
        # Promptly too: a pull for more than may be in flight would hold each event for the fetch timeout (1 s).
        assert time.monotonic() - started < 1.5
        for replica, task in zip(replicas, tasks, strict=True):
            replica.stop()
            task.cancel()
        await bus.close()

    asyncio.run(scenario())
    assert [event_id for event_id, _, _ in spans] == [f"serial-{i}" for i in range(8)]
    assert all(earlier[2] <= later[1] for earlier, later in itertools.pairwise(spans))  # never two in flight
    engine.dispose()


def test_idle_relay_publishes_a_lone_event_at_once_and_gathers_only_while_busy(
    nats_server: NatsServer, database_url: str
) -> None:
    engine = migrated("indicators", database_url)

    async def scenario() -> tuple[float, float]:
        bus = Bus(nats_server.url, "test")
        await bus.connect()
        # A gather delay long enough that a relay applying it to a lone event could not pass.
        relay = OutboxRelay(engine, indicators_store.outbox, bus, poll_seconds=30.0, gather_seconds=2.0)
        task = asyncio.create_task(relay.run())
        await asyncio.sleep(0.2)
        lone = []
        for i in range(3):
            # Two events in one commit, as a ranking writes with its consequences: one commit, not a busy relay.
            await asyncio.to_thread(stage_recognitions, engine, [f"L-{i}", f"M-{i}"], date(2022, 1, 1))
            started = time.monotonic()
            relay.notify()
            await until(lambda: unpublished(engine) == 0)
            lone.append(time.monotonic() - started)
        relay.stop()
        task.cancel()
        await bus.close()
        return max(lone), min(lone)

    slowest, _ = asyncio.run(scenario())
    assert slowest < 1.0  # not held for the 2 s gather: no commit arrived while it published, so it was not busy
    engine.dispose()
