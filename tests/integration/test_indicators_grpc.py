"""The indicators service's internal gRPC calls over a real port: streamed ingestion for internal producers,
the talent service's enterprise lookups (alone and in batches), the rewards service's rank history."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import grpc
import pytest
from alembic import command
from gaoxin.events.v1 import events_pb2
from gaoxin.indicators.v1 import indicators_pb2 as pb
from gaoxin.indicators.v1 import indicators_pb2_grpc as pb_grpc
from gaoxin.types.v1 import types_pb2
from sqlalchemy import Engine, select

from services.common.bus import Bus
from services.common.convert import ZoneLevel, date_to_pb, today_in_china
from services.common.db import make_engine, transaction
from services.common.errors import VIOLATIONS_KEY, decode_violations
from services.common.grpc_server import build_server
from services.common.migrate import alembic_config
from services.common.outbox import OutboxRelay
from services.indicators import store
from services.indicators.api import IndicatorsServicer
from services.indicators.domain.ranking import RankEntry
from services.indicators.domain.registry import Recognition
from services.indicators.main import SERVICE_NAME
from services.indicators.store import rankings as ranking_store

Scenario = Callable[[pb_grpc.IndicatorsServiceStub], Awaitable[None]]
CODE = "9144030071526726XG"


@dataclass
class Service:
    engine: Engine
    servicer: IndicatorsServicer

    def run(self, scenario: Scenario) -> None:
        """Serve on a free port and run `scenario` against a client of it."""

        async def main() -> None:
            server, _, port = await build_server(
                [lambda s: pb_grpc.add_IndicatorsServiceServicer_to_server(self.servicer, s)],
                [SERVICE_NAME],
                "127.0.0.1:0",
            )
            await server.start()
            async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
                await scenario(pb_grpc.IndicatorsServiceStub(channel))
            await server.stop(None)

        asyncio.run(main())


@pytest.fixture
def service(tmp_path: Path) -> Iterator[Service]:
    url = f"sqlite:///{tmp_path / 'indicators.db'}"
    command.upgrade(alembic_config("indicators", url), "head")
    engine = make_engine(url)
    with transaction(engine) as conn:
        store.upsert_county(conn, "320706", "海州区")
        store.upsert_zone(conn, "LYG", "连云港高新区", "320706", [])
        store.add_recognition(conn, "LYG", Recognition(date(1997, 6, 1), ZoneLevel.PROVINCIAL))
        store.add_recognition(conn, "LYG", Recognition(date(2015, 2, 16), ZoneLevel.NATIONAL))
    yield Service(engine, IndicatorsServicer(engine, OutboxRelay(engine, store.outbox, Bus("nats://127.0.0.1:1", "-"))))
    engine.dispose()


async def chunks(*messages: pb.IngestIndicatorValuesRequest) -> AsyncIterator[pb.IngestIndicatorValuesRequest]:
    for message in messages:
        yield message


def values(*rows: tuple[str, str, int, str]) -> pb.IngestIndicatorValuesRequest:
    return pb.IngestIndicatorValuesRequest(
        values=pb.IndicatorValueChunk(
            values=[pb.IndicatorValue(zone_code=z, indicator=i, year=y, value=v) for z, i, y, v in rows]
        ),
        default_source="producer-x",
    )


def test_streamed_chunks_are_one_batch(service: Service) -> None:
    async def scenario(stub: pb_grpc.IndicatorsServiceStub) -> None:
        reply = await stub.StreamIndicatorValues(
            chunks(values(("LYG", "gdp", 2024, "100")), values(("LYG", "rd_expenditure", 2024, "7")))
        )
        assert (reply.accepted, reply.created) == (2, 2)
        zone = await stub.GetZoneIndicators(pb.GetZoneIndicatorsRequest(zone_code="LYG", year=2024))
        assert {d.indicator: d.status for d in zone.derived}["rd_intensity"] == "met"
        assert {r.indicator: r.source for r in zone.raw}["gdp"] == "producer-x"

    service.run(scenario)


def test_streamed_csv_pieces_are_joined_and_errors_name_their_line(service: Service) -> None:
    async def scenario(stub: pb_grpc.IndicatorsServiceStub) -> None:
        body = b"zone_code,indicator,year,value,source\nLYG,gdp,2024,1,\nLYG,gdp,2023,x,\n"
        pieces = [pb.IngestIndicatorValuesRequest(csv=body[i : i + 7]) for i in range(0, len(body), 7)]
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await stub.StreamIndicatorValues(chunks(*pieces))
        assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        violations = decode_violations(dict(refused.value.trailing_metadata() or ())[VIOLATIONS_KEY])
        assert [v.location for v in violations] == [("line", 3, "value")]

    service.run(scenario)


def test_stream_mixing_values_and_csv_is_refused(service: Service) -> None:
    async def scenario(stub: pb_grpc.IndicatorsServiceStub) -> None:
        mixed = chunks(values(("LYG", "gdp", 2024, "100")), pb.IngestIndicatorValuesRequest(csv=b"zone_code"))
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await stub.StreamIndicatorValues(mixed)
        assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT

    service.run(scenario)


async def register_hitech_enterprise(stub: pb_grpc.IndicatorsServiceStub) -> None:
    """CODE in zone LYG, with a certificate issued 2022-12-01 (so valid through 2025-12-01)."""
    certificate = pb.HitechCertificate(number="GR2022", issued_on=date_to_pb(date(2022, 12, 1)))
    enterprise = pb.Enterprise(
        credit_code=CODE, name="某公司", zone_code="LYG", above_scale=True, hitech_certificate=certificate
    )
    await stub.UpsertEnterprises(pb.UpsertEnterprisesRequest(enterprises=[enterprise]))


def test_locate_enterprise_answers_zone_level_and_hitech_on_a_date(service: Service) -> None:
    async def scenario(stub: pb_grpc.IndicatorsServiceStub) -> None:
        await register_hitech_enterprise(stub)

        async def locate(on: date) -> pb.LocateEnterpriseResponse:
            return await stub.LocateEnterprise(pb.LocateEnterpriseRequest(credit_code=CODE, on=date_to_pb(on)))

        last_day, after, early = (
            await locate(date(2025, 12, 1)),
            await locate(date(2025, 12, 2)),
            await locate(date(2010, 1, 1)),
        )
        assert (last_day.found, last_day.zone_code, last_day.hitech, last_day.above_scale) == (True, "LYG", True, True)
        assert last_day.zone_level == types_pb2.ZONE_LEVEL_NATIONAL and last_day.enterprise_name == "某公司"
        assert after.hitech is False
        assert (early.hitech, early.zone_level) == (False, types_pb2.ZONE_LEVEL_PROVINCIAL)
        unknown = await stub.LocateEnterprise(pb.LocateEnterpriseRequest(credit_code="91110108551385082Q"))
        assert unknown.found is False
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await stub.LocateEnterprise(pb.LocateEnterpriseRequest(credit_code="91110108551385082A"))
        assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT

    service.run(scenario)


def test_locate_enterprises_answers_each_lookup_as_locate_enterprise_would(service: Service) -> None:
    async def scenario(stub: pb_grpc.IndicatorsServiceStub) -> None:
        await register_hitech_enterprise(stub)
        asked = [
            (CODE, date(2025, 12, 1)),
            ("91110108551385082Q", date(2025, 12, 1)),  # well formed, not registered
            ("91110108551385082A", date(2025, 12, 1)),  # wrong check character
            (CODE, date(2010, 1, 1)),
        ]
        lookups = [pb.LocateEnterpriseRequest(credit_code=code, on=date_to_pb(on)) for code, on in asked]

        batch = await stub.LocateEnterprises(pb.LocateEnterprisesRequest(lookups=lookups))
        alone = [await stub.LocateEnterprise(lookup) for lookup in lookups if lookup is not lookups[2]]

        located, unknown, refused, early = batch.locations
        assert [located, unknown, early] == alone
        assert (located.found, located.zone_code, located.zone_level, located.hitech) == (
            True,
            "LYG",
            types_pb2.ZONE_LEVEL_NATIONAL,
            True,
        )
        assert (early.zone_level, early.hitech) == (types_pb2.ZONE_LEVEL_PROVINCIAL, False)
        assert unknown.found is False and not unknown.credit_code_problems
        assert refused.found is False
        assert list(refused.credit_code_problems) == [
            "check character (position 18, GB 32100-2015) should be 'Q', found 'A'"
        ]
        too_many = pb.LocateEnterprisesRequest(lookups=[lookups[0]] * 501)
        with pytest.raises(grpc.aio.AioRpcError) as refused_call:
            await stub.LocateEnterprises(too_many)
        assert refused_call.value.code() == grpc.StatusCode.INVALID_ARGUMENT

    service.run(scenario)


def test_rank_history_lists_every_official_rank_oldest_first(service: Service) -> None:
    now = datetime.now(UTC)
    with transaction(service.engine) as conn:
        ranking_store.replace_ranking(conn, 2014, ZoneLevel.PROVINCIAL, [RankEntry(3, "LYG")], 0, now)
        ranking_store.replace_ranking(conn, 2024, ZoneLevel.NATIONAL, [RankEntry(45, "LYG")], 178, now)

    async def scenario(stub: pb_grpc.IndicatorsServiceStub) -> None:
        history = await stub.GetRankHistory(pb.GetRankHistoryRequest(zone_code="LYG"))
        assert [(e.year, e.level, e.rank) for e in history.entries] == [
            (2014, types_pb2.ZONE_LEVEL_PROVINCIAL, 3),
            (2024, types_pb2.ZONE_LEVEL_NATIONAL, 45),
        ]
        with pytest.raises(grpc.aio.AioRpcError) as missing:
            await stub.GetRankHistory(pb.GetRankHistoryRequest(zone_code="NOPE"))
        assert missing.value.code() == grpc.StatusCode.NOT_FOUND

    service.run(scenario)


def test_rank_histories_answer_many_zones_in_one_call_and_name_the_unknown(service: Service) -> None:
    now = datetime.now(UTC)
    with transaction(service.engine) as conn:
        ranking_store.replace_ranking(conn, 2014, ZoneLevel.PROVINCIAL, [RankEntry(3, "LYG")], 0, now)
        ranking_store.replace_ranking(conn, 2024, ZoneLevel.NATIONAL, [RankEntry(45, "LYG")], 178, now)

    async def scenario(stub: pb_grpc.IndicatorsServiceStub) -> None:
        reply = await stub.GetRankHistories(pb.GetRankHistoriesRequest(zone_codes=["LYG", "NOPE", "LYG"]))
        assert [(h.zone_code, [(e.year, e.rank) for e in h.entries]) for h in reply.histories] == [
            ("LYG", [(2014, 3), (2024, 45)])
        ]
        assert list(reply.unknown_zone_codes) == ["NOPE"]
        with pytest.raises(grpc.aio.AioRpcError) as too_many:
            await stub.GetRankHistories(pb.GetRankHistoriesRequest(zone_codes=[f"Z{i}" for i in range(2001)]))
        assert too_many.value.code() == grpc.StatusCode.INVALID_ARGUMENT

    service.run(scenario)


def test_ranking_cites_clause_25_and_a_year_not_ended_in_china_is_refused_unstored(service: Service) -> None:
    future = today_in_china().year + 1

    async def scenario(stub: pb_grpc.IndicatorsServiceStub) -> None:
        def put(year: int) -> pb.PutRankingRequest:
            ranks = [pb.RankEntry(zone_code="LYG", rank=45)]
            return pb.PutRankingRequest(year=year, level=types_pb2.ZONE_LEVEL_NATIONAL, ranks=ranks, field_size=178)

        published = await stub.PutRanking(put(2024))
        read = await stub.GetRanking(pb.GetRankingRequest(year=2024, level=types_pb2.ZONE_LEVEL_NATIONAL))
        for ranking in (published.ranking, read):
            assert (ranking.clause.number, ranking.clause.label) == (25, "（二十五）")
            assert "对年度考评排名较历史最好位次实现前进 3 位以上" in ranking.clause.text

        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await stub.PutRanking(put(future))
        assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        [violation] = decode_violations(dict(refused.value.trailing_metadata() or ())[VIOLATIONS_KEY])
        assert violation.location == ("year",)
        assert "must not be in the future" in violation.message

    service.run(scenario)
    with transaction(service.engine) as conn:
        assert ranking_store.get_ranking(conn, future, ZoneLevel.NATIONAL) is None
        staged = conn.execute(select(store.outbox.c.subject)).scalars().all()
    # The 2024 ranking's only: the ranking and its clause 二十六 consequences.
    assert staged == ["gaoxin.indicators.ranking_published.v1", "gaoxin.indicators.consequences_determined.v1"]


def test_a_ranking_publishes_its_consequences_as_get_consequences_reads_them(service: Service) -> None:
    answers: list[pb.Consequences] = []

    async def scenario(stub: pb_grpc.IndicatorsServiceStub) -> None:
        ranks = [pb.RankEntry(zone_code="LYG", rank=3)]
        await stub.PutRanking(
            pb.PutRankingRequest(year=2023, level=types_pb2.ZONE_LEVEL_NATIONAL, ranks=ranks, field_size=20)
        )
        request = pb.GetConsequencesRequest(year=2023, level=types_pb2.ZONE_LEVEL_NATIONAL)
        answers.append(await stub.GetConsequences(request))

    service.run(scenario)
    [read] = answers
    with transaction(service.engine) as conn:
        [payload] = (
            conn.execute(
                select(store.outbox.c.payload).where(
                    store.outbox.c.subject == "gaoxin.indicators.consequences_determined.v1"
                )
            )
            .scalars()
            .all()
        )
    event = events_pb2.ConsequencesDetermined.FromString(payload)

    assert (event.year, event.level, event.field_size) == (2023, types_pb2.ZONE_LEVEL_NATIONAL, 20)
    assert (event.support_count, event.restrict_count) == (read.support_count, read.restrict_count) == (2, 2)
    assert (event.parameter_version, event.explanation) == (read.parameter_version, read.explanation)
    assert event.clause_number == read.clause.number == 26
    assert [(z.zone_code, z.rank, z.outcome, list(z.measures)) for z in event.zones] == [
        (z.zone_code, z.rank, z.outcome, list(z.measures)) for z in read.zones
    ]
    assert [z.outcome for z in event.zones] == ["none"]  # rank 3 of 20: neither the top 2 nor the bottom 2
