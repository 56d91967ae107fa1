"""Indicator values, revisions, enterprises, designations and rankings on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from datetime import UTC, date, datetime

import pytest
from alembic import command
from gaoxin.indicators.v1 import indicators_pb2 as pb
from gaoxin.types.v1 import types_pb2
from sqlalchemy import Engine, Table, func, select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from services.common.bus import Bus
from services.common.convert import ZoneLevel
from services.common.db import make_engine, reading, transaction
from services.common.errors import InvalidArgument
from services.common.migrate import alembic_config
from services.common.outbox import OutboxRelay
from services.indicators import store
from services.indicators.api import IndicatorsServicer
from services.indicators.api.values import Ingested, ingest
from services.indicators.domain.csv_values import parse_csv
from services.indicators.domain.enterprises import Certificate, EnterpriseRecord
from services.indicators.domain.ranking import RankEntry
from services.indicators.domain.registry import Designation, Recognition
from services.indicators.events import INDICATOR_VALUES_ACCEPTED
from services.indicators.store import enterprises as enterprise_store
from services.indicators.store import rankings as ranking_store
from services.indicators.store import values as value_store
from services.indicators.store.tables import indicator_value_revisions, indicator_values, outbox, value_batches

CODE = "9144030071526726XG"
NOW = datetime.now(UTC)


def migrated(url: str) -> Engine:
    command.upgrade(alembic_config("indicators", url), "head")
    engine = make_engine(url)
    with transaction(engine) as conn:
        store.upsert_county(conn, "320706", "海州区")
        for zone in ("LYG", "GN"):
            store.upsert_zone(conn, zone, zone, "320706", [])
        store.add_recognition(conn, "LYG", Recognition(date(2015, 2, 16), ZoneLevel.NATIONAL))
    return engine


def count(engine: Engine, table: Table) -> int:
    with reading(engine) as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def push(engine: Engine, *lines: str) -> Ingested:
    body = ("zone_code,indicator,year,value,source\n" + "\n".join(lines) + "\n").encode()
    return ingest(engine, parse_csv(body, "test"), "test")


def test_ingest_stores_values_exactly_with_one_event(database_url: str) -> None:
    engine = migrated(database_url)

    result = push(engine, "LYG,gdp,2024,123456789012345.123456,年报", "LYG,hitech_enterprises,2024,138,")

    with reading(engine) as conn:
        held = value_store.current_values(conn, ["LYG"], 2024)["LYG"]
        events = conn.execute(select(outbox.c.subject)).scalars().all()
    assert (result.accepted, result.created, result.revised, result.unchanged) == (2, 2, 0, 0)
    assert held["gdp"].value == "123456789012345.123456"
    assert (held["gdp"].source, held["hitech_enterprises"].source) == ("年报", "test")
    assert events == [INDICATOR_VALUES_ACCEPTED]
    engine.dispose()


def test_ingest_with_a_bad_row_writes_nothing(database_url: str) -> None:
    engine = migrated(database_url)

    with pytest.raises(InvalidArgument) as refused:
        push(engine, "LYG,gdp,2024,100,", "NOPE,gdp,2024,100,", "LYG,gdp,2023,-5,")

    assert [v.location for v in refused.value.violations] == [("line", 3, "zone_code"), ("line", 4, "value")]
    assert [count(engine, t) for t in (indicator_values, value_batches, outbox)] == [0, 0, 0]
    engine.dispose()


def test_revision_keeps_the_replaced_value_and_a_repush_changes_nothing(database_url: str) -> None:
    engine = migrated(database_url)
    first = push(engine, "LYG,gdp,2024,100,first")

    second = push(engine, "LYG,gdp,2024,101.5,second")
    third = push(engine, "LYG,gdp,2024,101.50,third")  # the same number written differently

    with reading(engine) as conn:
        history = value_store.value_history(conn, "LYG", "gdp", 2024)
        events = conn.execute(select(func.count()).select_from(outbox)).scalar_one()
    assert (second.revised, third.unchanged, third.revised) == (1, 1, 0)
    assert [(h.version, h.value, h.source, h.batch_id) for h in history] == [
        (1, "100", "first", first.batch_id),
        (2, "101.5", "second", second.batch_id),
    ]
    assert history[0].superseded_at == history[1].recorded_at and history[1].superseded_at is None
    assert count(engine, indicator_value_revisions) == 1
    assert events == 2  # the unchanged re-push is recorded as a batch but announces nothing
    engine.dispose()


def test_held_values_are_loaded_for_the_batch_keys_only(database_url: str) -> None:
    engine = migrated(database_url)
    push(engine, "LYG,gdp,2023,1,", "LYG,gdp,2024,2,", "GN,gdp,2024,3,", "LYG,rd_expenditure,2024,4,")
    batch = parse_csv(b"zone_code,indicator,year,value,source\nLYG,gdp,2024,9,\nGN,gdp,2025,9,\n", "x")

    with reading(engine) as conn:
        held = value_store.held_values(conn, batch.rows)

    assert set(held) == {("LYG", "gdp", 2024)}
    engine.dispose()


def test_enterprise_upsert_keeps_certificate_history_and_corrects_numbers(database_url: str) -> None:
    engine = migrated(database_url)
    first = EnterpriseRecord(CODE, "某公司", "LYG", True, (Certificate("GR2019", date(2019, 5, 1)),))
    renewed = EnterpriseRecord(CODE, "某公司（更名）", "GN", False, (Certificate("GR2022", date(2022, 5, 1)),))
    corrected = EnterpriseRecord(CODE, "某公司（更名）", "GN", False, (Certificate("GR2022-X", date(2022, 5, 1)),))

    with transaction(engine) as conn:
        created = enterprise_store.upsert_enterprises(conn, [first])
    with transaction(engine) as conn:
        updated = enterprise_store.upsert_enterprises(conn, [renewed])
        number_corrected = enterprise_store.upsert_enterprises(conn, [corrected])
        repeated = enterprise_store.upsert_enterprises(conn, [corrected])
    with reading(engine) as conn:
        record = enterprise_store.get_enterprise(conn, CODE)

    assert (created, updated, number_corrected, repeated) == ((1, 0, 0), (0, 1, 0), (0, 1, 0), (0, 0, 1))
    assert record is not None
    assert (record.name, record.zone_code, record.above_scale) == ("某公司（更名）", "GN", False)
    assert record.certificates == (Certificate("GR2019", date(2019, 5, 1)), Certificate("GR2022-X", date(2022, 5, 1)))
    engine.dispose()


def test_designation_is_recorded_once(database_url: str) -> None:
    engine = migrated(database_url)
    listing = Designation(date(2022, 11, 18), "ip_pilot", ZoneLevel.NATIONAL)

    with transaction(engine) as conn:
        first = store.add_designation(conn, "320706", listing)
        again = store.add_designation(conn, "320706", listing)
        other = store.add_designation(conn, "320706", Designation(date(2022, 11, 18), "ip_pilot", ZoneLevel.PROVINCIAL))
    with reading(engine) as conn:
        held = store.county_designations(conn, "320706")

    assert (first, again, other) == (True, False, True)
    assert len(held) == 2
    engine.dispose()


def test_ranking_replacement_and_rank_history(database_url: str) -> None:
    engine = migrated(database_url)
    with transaction(engine) as conn:
        ranking_store.replace_ranking(conn, 2023, ZoneLevel.NATIONAL, [RankEntry(50, "LYG")], 178, NOW)
        ranking_store.replace_ranking(conn, 2024, ZoneLevel.NATIONAL, [RankEntry(48, "LYG")], 0, NOW)
        ranking_store.replace_ranking(conn, 2024, ZoneLevel.NATIONAL, [RankEntry(45, "LYG")], 178, NOW)
    with reading(engine) as conn:
        ranking = ranking_store.get_ranking(conn, 2024, ZoneLevel.NATIONAL)
        past = ranking_store.past_ranks(conn, ["LYG", "GN"], 2024)
        history = ranking_store.rank_history(conn, "LYG")

    assert ranking is not None and (ranking.revision, ranking.field_size, ranking.entries) == (
        2,
        178,
        [RankEntry(45, "LYG")],
    )
    assert [(p.year, p.rank) for p in past["LYG"]] == [(2023, 50)] and "GN" not in past
    assert [(p.year, p.level, p.rank) for p in history] == [
        (2023, ZoneLevel.NATIONAL, 50),
        (2024, ZoneLevel.NATIONAL, 45),
    ]
    engine.dispose()


def test_ranks_are_unique_per_ranking_in_the_database_too(database_url: str) -> None:
    engine = migrated(database_url)
    with pytest.raises(IntegrityError), transaction(engine) as conn:
        ranking_store.replace_ranking(conn, 2024, ZoneLevel.NATIONAL, [RankEntry(1, "LYG"), RankEntry(1, "GN")], 0, NOW)
    engine.dispose()


def test_stored_values_are_loaded_for_the_keys_asked_only(database_url: str) -> None:
    engine = migrated(database_url)
    push(engine, "LYG,hitech_enterprises,2024,10,", "LYG,above_scale_enterprises,2024,20,", "GN,gdp,2023,5,")
    asked = {("LYG", "above_scale_enterprises", 2024), ("GN", "hitech_enterprises", 2023), ("LYG", "gdp", 2024)}

    with reading(engine) as conn:
        assert value_store.stored_values(conn, asked) == {("LYG", "above_scale_enterprises", 2024): "20"}
        assert value_store.stored_values(conn, set()) == {}


def while_uncommitted(
    engine: Engine, change: Callable[[Connection], None], other: Callable[[], object]
) -> BaseException | None:
    """Run `other` in a thread while a transaction that locked zone LYG (as the writers do) and made `change` is
    still open; commit it after a pause; `other`'s exception, if any. The writer must wait for the lock and then
    see the change: checking against what was committed before it would let both writes through."""
    outcome: list[BaseException | None] = []

    def run() -> None:
        try:
            other()
            outcome.append(None)
        except BaseException as exc:
            outcome.append(exc)

    with transaction(engine) as conn:
        store.lock_zones(conn, ["LYG"])
        change(conn)
        thread = threading.Thread(target=run)
        thread.start()
        thread.join(0.5)
        assert thread.is_alive(), "the second writer did not wait for the first"
    thread.join(30)
    return outcome[0]


def test_batch_waits_for_a_concurrent_write_of_the_whole_and_checks_against_it(database_url: str) -> None:
    engine = migrated(database_url)
    push(engine, "LYG,above_scale_enterprises,2024,20,")

    def lower_the_whole(conn: Connection) -> None:
        v = indicator_values.c
        conn.execute(
            indicator_values.update()
            .where(v.zone_code == "LYG", v.indicator == "above_scale_enterprises", v.year == 2024)
            .values(value="5")
        )

    error = while_uncommitted(engine, lower_the_whole, lambda: push(engine, "LYG,hitech_enterprises,2024,10,"))

    assert isinstance(error, InvalidArgument), error
    assert (
        "hitech_enterprises 10 (this row) is more than above_scale_enterprises 5 (stored)"
        in error.violations[0].message
    )
    with reading(engine) as conn:
        assert value_store.stored_values(conn, {("LYG", "hitech_enterprises", 2024)}) == {}


def test_ranking_push_waits_for_a_concurrent_recognition_and_checks_against_it(database_url: str) -> None:
    engine = migrated(database_url)  # LYG: national since 2015
    servicer = IndicatorsServicer(engine, OutboxRelay(engine, store.outbox, Bus("nats://127.0.0.1:1", "-")))
    request = pb.PutRankingRequest(
        year=2021, level=types_pb2.ZONE_LEVEL_NATIONAL, ranks=[pb.RankEntry(zone_code="LYG", rank=40)]
    )

    def downgrade(conn: Connection) -> None:
        store.add_recognition(conn, "LYG", Recognition(date(2021, 6, 1), ZoneLevel.PROVINCIAL))

    error = while_uncommitted(engine, downgrade, lambda: asyncio.run(servicer.PutRanking(request, None)))  # type: ignore[arg-type]

    assert isinstance(error, InvalidArgument), error
    assert error.violations[0].message == "zone LYG is provincial on 2021-12-31, not national"
    with reading(engine) as conn:
        assert ranking_store.get_ranking(conn, 2021, ZoneLevel.NATIONAL) is None
