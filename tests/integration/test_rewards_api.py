"""The rewards gRPC API over real servers: rewards on port 0, and the indicators service beside it (for zones).

Both run in this process on real databases; no fakes.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any, TypeVar

import grpc
import pytest
from alembic import command
from gaoxin.events.v1 import events_pb2
from gaoxin.indicators.v1 import indicators_pb2 as ind_pb
from gaoxin.indicators.v1 import indicators_pb2_grpc as ind_grpc
from gaoxin.rewards.v1 import rewards_pb2 as pb
from gaoxin.rewards.v1 import rewards_pb2_grpc as pb_grpc
from gaoxin.types.v1 import types_pb2
from sqlalchemy import Engine, func, select

from services.common.bus import Bus
from services.common.convert import ZoneLevel, date_to_pb, level_to_pb, today_in_china
from services.common.db import make_engine, reading, transaction
from services.common.errors import VIOLATIONS_KEY, Unavailable, decode_violations
from services.common.grpc_server import build_server
from services.common.inbox import EventConsumer, Prepared
from services.common.migrate import alembic_config
from services.common.outbox import OutboxRelay
from services.common.paging import encode_token
from services.indicators import store as indicators_store
from services.indicators.api import IndicatorsServicer
from services.rewards import ledger, store
from services.rewards.api import RewardsServicer
from services.rewards.domain.rules import RankFact
from services.rewards.events import RANKING_PUBLISHED, RankHistorySource, on_ranking_published
from services.rewards.indicators_client import IndicatorsClient
from services.rewards.main import SERVICE_NAME
from tests.integration.test_rewards_ledger import Ledger, rankings

T = TypeVar("T")
N, P = ZoneLevel.NATIONAL, ZoneLevel.PROVINCIAL


@dataclass
class Servers:
    rewards: pb_grpc.RewardsServiceAsyncStub
    indicators: ind_grpc.IndicatorsServiceAsyncStub
    engine: Engine
    indicators_engine: Engine
    client: IndicatorsClient


def migrated(service: str, url: str) -> Engine:
    command.upgrade(alembic_config(service, url), "head")  # type: ignore[arg-type]
    return make_engine(url)


@asynccontextmanager
async def servers(database_url: str, tmp_path: Path, indicators_up: bool = True) -> AsyncIterator[Servers]:
    engine = migrated("rewards", database_url)
    ind_engine = migrated("indicators", f"sqlite:///{tmp_path / 'indicators.db'}")
    unused_bus = Bus("nats://127.0.0.1:1", "unused")
    ind_servicer = IndicatorsServicer(ind_engine, OutboxRelay(ind_engine, indicators_store.outbox, unused_bus))
    ind_server, _, ind_port = await build_server(
        [lambda s: ind_grpc.add_IndicatorsServiceServicer_to_server(ind_servicer, s)], [], "127.0.0.1:0"
    )
    if indicators_up:
        await ind_server.start()
    # Down, its port is bound but nothing answers: calls end at the deadline, so keep that short.
    client = IndicatorsClient(f"127.0.0.1:{ind_port}", deadline_seconds=2.0 if indicators_up else 0.3)
    servicer = RewardsServicer(engine, None, client)
    server, _, port = await build_server(
        [lambda s: pb_grpc.add_RewardsServiceServicer_to_server(servicer, s)], [SERVICE_NAME], "127.0.0.1:0"
    )
    await server.start()
    async with (
        grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel,
        grpc.aio.insecure_channel(f"127.0.0.1:{ind_port}") as ind_channel,
    ):
        yield Servers(
            pb_grpc.RewardsServiceStub(channel), ind_grpc.IndicatorsServiceStub(ind_channel), engine, ind_engine, client
        )
    await client.close()
    await server.stop(None)
    await ind_server.stop(None)
    engine.dispose()
    ind_engine.dispose()


def run(scenario: Callable[[], Coroutine[Any, Any, T]]) -> T:
    return asyncio.run(scenario())


async def zone(stub: ind_grpc.IndicatorsServiceAsyncStub, code: str, *recognitions: tuple[ZoneLevel, str]) -> None:
    await stub.UpsertCounty(ind_pb.UpsertCountyRequest(county=ind_pb.County(county_code="320706", name="海州区")))
    await stub.UpsertZone(ind_pb.UpsertZoneRequest(zone_code=code, name=f"区 {code}", county_code="320706"))
    for level, on in recognitions:
        await stub.RecordRecognition(
            ind_pb.RecordRecognitionRequest(
                zone_code=code,
                recognition=types_pb2.Recognition(
                    level=level_to_pb(level), recognized_on=date_to_pb(date.fromisoformat(on))
                ),
            )
        )


def project(code: str, zone_code: str, investment: int, on: str, level: ZoneLevel = N) -> pb.TalentProject:
    return pb.TalentProject(
        project_code=code,
        name="纳米材料创业项目",
        zone_code=zone_code,
        talent_level=level_to_pb(level),
        investment_yuan=investment,
        recruited_on=date_to_pb(date.fromisoformat(on)),
    )


def recognition(zone_code: str, level: ZoneLevel, on: str) -> pb.RecognitionFact:
    return pb.RecognitionFact(
        zone_code=zone_code, level=level_to_pb(level), recognized_on=date_to_pb(date.fromisoformat(on))
    )


def parameter(name: str, value: str, effective_from: str) -> pb.ParameterValue:
    return pb.ParameterValue(name=name, value=value, effective_from=date_to_pb(date.fromisoformat(effective_from)))


async def refused(call: Coroutine[Any, Any, Any]) -> tuple[grpc.StatusCode, dict[tuple[str | int, ...], str]]:
    try:
        await call
    except grpc.aio.AioRpcError as exc:
        trailers = dict(exc.trailing_metadata() or ())
        return exc.code(), {v.location: v.message for v in decode_violations(trailers.get(VIOLATIONS_KEY))}
    raise AssertionError("expected an error")


def row_count(engine: Engine) -> int:
    with reading(engine) as conn:
        return sum(
            conn.execute(select(func.count()).select_from(table)).scalar_one()
            for table in (store.awards, store.outbox, store.talent_projects, store.reward_parameters, store.zone_ranks)
        )


def comparable(award: pb.Award) -> tuple[Any, ...]:
    return (
        award.rule,
        award.beneficiary.kind,
        award.beneficiary.code,
        award.basis_key,
        award.year,
        award.amount_yuan,
        tuple(sorted(award.basis.items())),
        award.clause.number,
        award.clause.text,
        tuple((p.name, p.value, p.version) for p in award.parameters),
        award.earmark,
        award.explanation,
    )


# ----------------------------------------------------------------------------------------------- simulation


def test_simulation_and_the_real_ledger_give_the_same_awards_for_the_same_facts(
    database_url: str, tmp_path: Path
) -> None:
    r2021 = (2021, N, {"LYG": 10, "SQ": 4})
    r2022 = (2022, N, {"LYG": 7, "SQ": 5})

    async def scenario() -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], int, int]:
        async with servers(database_url, tmp_path) as s:
            request = pb.SimulateAwardsRequest(
                recognitions=[
                    recognition("GN", P, "2022-06-30"),
                    recognition("LYG", P, "1997-06-01"),
                    recognition("LYG", N, "2015-02-16"),
                ],
                designations=[
                    pb.DesignationFact(
                        county_code="320722",
                        programme="ip_pilot",
                        level=level_to_pb(N),
                        listed_on=date_to_pb(date(2022, 5, 1)),
                    ),
                    pb.DesignationFact(
                        county_code="320722",
                        programme="innovation_pilot",
                        level=level_to_pb(N),
                        listed_on=date_to_pb(date(2022, 8, 1)),
                    ),
                ],
                rankings=[
                    pb.RankingFact(
                        year=year,
                        level=level_to_pb(level),
                        ranks=[pb.RankingFact.Entry(zone_code=z, rank=r) for z, r in ranks.items()],
                    )
                    for year, level, ranks in (r2021, r2022)
                ],
                talent_projects=[project("TP-1", "GN", 12_345_678, "2023-03-01")],
                parameters=[parameter("talent_project.rate", "0.05", "2021-04-12")],
            )
            before = row_count(s.engine)
            simulated = await s.rewards.SimulateAwards(request)
            after_simulation = row_count(s.engine)

            # The same facts, for real: events into the consumers, the project and the rate through the API.
            book = Ledger(s.engine)
            await asyncio.to_thread(book.recognize, "GN", (P, "2022-06-30"))
            await asyncio.to_thread(book.recognize, "LYG", (P, "1997-06-01"), (N, "2015-02-16"))
            await asyncio.to_thread(book.designate, "320722", "ip_pilot", N, "2022-05-01")
            await asyncio.to_thread(book.designate, "320722", "innovation_pilot", N, "2022-08-01")
            histories = rankings(r2021, r2022)
            await asyncio.to_thread(book.publish_ranking, 2021, N, r2021[2], rankings(r2021))
            await asyncio.to_thread(book.publish_ranking, 2022, N, r2022[2], histories)
            await zone(s.indicators, "GN", (P, "2022-06-30"))
            await s.rewards.RecordTalentProject(
                pb.RecordTalentProjectRequest(project=project("TP-1", "GN", 12_345_678, "2023-03-01"))
            )
            await s.rewards.AddRewardParameter(
                pb.AddRewardParameterRequest(parameter=parameter("talent_project.rate", "0.05", "2021-04-12"))
            )
            real = await s.rewards.ListAwards(pb.ListAwardsRequest(page_size=1000))
            one = await s.rewards.GetAward(pb.GetAwardRequest(award_id=real.awards[0].award_id))
            assert one == real.awards[0]

            # Simulated again on the recorded facts: the ledger's own awards, nothing new, nothing revoked; and a
            # 2022 ranking without LYG would revoke its award, with the ledger's reason. Nothing is stored.
            recorded = row_count(s.engine)
            again = await s.rewards.SimulateAwards(request)
            dropped = await s.rewards.SimulateAwards(
                pb.SimulateAwardsRequest(
                    rankings=[
                        pb.RankingFact(
                            year=2022, level=level_to_pb(N), ranks=[pb.RankingFact.Entry(zone_code="SQ", rank=5)]
                        )
                    ]
                )
            )
            assert row_count(s.engine) == recorded
            assert sorted(a.award_id for a in again.awards) == sorted(a.award_id for a in real.awards)
            assert all(a.status == pb.AWARD_STATUS_GRANTED for a in again.awards) and not again.revocations
            [revocation] = dropped.revocations
            lyg = next(a for a in real.awards if a.rule == "rank_advance")
            assert revocation.award.award_id == lyg.award_id
            assert (
                revocation.reason
                == "ranking 2022 national republished: the facts no longer include its basis (2022:national)"
            )
            assert [a.beneficiary.code for a in dropped.awards] == []
            return (
                sorted(comparable(a) for a in simulated.awards),
                sorted(comparable(a) for a in real.awards),
                before,
                after_simulation,
            )

    simulated, real, before, after = run(scenario)
    assert before == after  # the simulation stored nothing
    assert simulated == real
    assert [(a[0], a[2], a[5]) for a in simulated] == [
        ("new_provincial_zone", "GN", 1_000_000),
        ("pilot_county", "320722", 500_000),
        ("pilot_county", "320722", 500_000),
        ("rank_advance", "LYG", 1_000_000),
        ("talent_project", "TP-1", 617_284),  # 12,345,678 × 0.05 = 617,283.9 → 617,284
    ]


def test_simulation_explains_refusals_and_refuses_invalid_facts_with_their_location(
    database_url: str, tmp_path: Path
) -> None:
    async def scenario() -> tuple[pb.SimulateAwardsResponse, Any]:
        async with servers(database_url, tmp_path) as s:
            reply = await s.rewards.SimulateAwards(
                pb.SimulateAwardsRequest(
                    recognitions=[
                        pb.RecognitionFact(
                            zone_code="GY", level=level_to_pb(P), recognized_on=date_to_pb(date(2021, 4, 11))
                        )
                    ],
                    talent_projects=[project("TP-9", "GY", 1_000, "2022-01-01")],
                )
            )
            bad = pb.SimulateAwardsRequest(
                rankings=[
                    pb.RankingFact(
                        year=2022,
                        level=level_to_pb(N),
                        ranks=[
                            pb.RankingFact.Entry(zone_code="A", rank=1),
                            pb.RankingFact.Entry(zone_code="B", rank=1),
                        ],
                    )
                ],
                designations=[pb.DesignationFact(county_code="32", programme="x", level=0)],
                parameters=[parameter("talent_project.rate", "5%", "2021-04-12")],
            )
            return reply, await refused(s.rewards.SimulateAwards(bad))

    reply, (code, violations) = run(scenario)
    assert list(reply.awards) == []
    reasons = {(r.rule, r.beneficiary.code): r.reason for r in reply.refusals}
    assert reasons[("new_provincial_zone", "GY")] == "recognised on 2021-04-11, before the policy took effect"
    assert reasons[("talent_project", "TP-9")].startswith("talent_project.rate has no value in force on 2022-01-01")
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert set(violations) == {
        ("rankings", 0, "ranks", 1, "rank"),
        ("designations", 0, "county_code"),
        ("designations", 0, "programme"),
        ("designations", 0, "level"),
        ("designations", 0, "listed_on"),
        ("parameters", 0, "value"),
    }


# --------------------------------------------------------------------------------------- rules, parameters


def test_rules_list_parameters_with_versions_and_say_why_the_talent_rule_grants_nothing(
    database_url: str, tmp_path: Path
) -> None:
    async def scenario() -> tuple[
        pb.ListRewardRulesResponse, pb.AddRewardParameterResponse, pb.ListRewardRulesResponse
    ]:
        async with servers(database_url, tmp_path) as s:
            before = await s.rewards.ListRewardRules(pb.ListRewardRulesRequest())
            added = await s.rewards.AddRewardParameter(
                pb.AddRewardParameterRequest(parameter=parameter("talent_project.rate", "0.05", "2023-01-01"))
            )
            after = await s.rewards.ListRewardRules(pb.ListRewardRulesRequest(as_of=date_to_pb(date(2023, 1, 1))))
            return before, added, after

    before, added, after = run(scenario)
    rules = {r.rule: r for r in before.rules}
    assert list(rules) == ["new_provincial_zone", "rank_advance", "pilot_county", "talent_project"]
    assert [r.clause.number for r in before.rules] == [25, 25, 25, 5]
    assert "对新认定的省级高新区给予 100 万元奖励" in rules["new_provincial_zone"].clause.text
    talent = rules["talent_project"]
    assert talent.active is False
    assert talent.inactive_reasons[0].startswith("talent_project.rate has no value in force on")
    assert "the rule grants nothing until it has one" in talent.inactive_reasons[0]
    rank = {p.name: p for p in rules["rank_advance"].parameters}
    assert rank["rank_advance.min_places"].in_force.value == "3"
    assert rank["rank_advance.without_history"].open_point.startswith("a zone with no earlier official rank")
    assert rank["rank_advance_national.amount_yuan"].versions[0].effective_from == date_to_pb(date(2021, 4, 12))
    assert all(r.active for r in before.rules if r.rule != "talent_project")

    assert (added.parameter.name, added.parameter.value, added.parameter.version) == ("talent_project.rate", "0.05", 1)
    assert added.parameter.source == "admin" and added.parameter.HasField("recorded_at")
    now = {r.rule: r for r in after.rules}["talent_project"]
    assert now.active is True
    assert {p.name: p for p in now.parameters}["talent_project.rate"].in_force.value == "0.05"


def test_adding_a_parameter_is_validated_per_kind(database_url: str, tmp_path: Path) -> None:
    cases = [
        (parameter("no.such", "1", "2022-01-01"), ("name",)),
        (parameter("new_provincial_zone.amount_yuan", "1000000.50", "2022-01-01"), ("value",)),
        (parameter("talent_project.rate", "1.2", "2022-01-01"), ("value",)),
        (parameter("rank_advance.min_places", "0", "2022-01-01"), ("value",)),
        (parameter("talent_project.rate", "0.05", "2021-04-11"), ("effective_from",)),
        (parameter("policy.effective_from", "2026-06-01", "2025-06-01"), ("value",)),
        (parameter("policy.effective_from", "2021-04-11", "2025-06-01"), ("value",)),
        (pb.ParameterValue(name="talent_project.rate", value="0.05"), ("effective_from",)),
    ]

    async def scenario() -> list[tuple[grpc.StatusCode, set[tuple[str | int, ...]]]]:
        async with servers(database_url, tmp_path) as s:
            results = []
            for value, _ in cases:
                code, violations = await refused(
                    s.rewards.AddRewardParameter(pb.AddRewardParameterRequest(parameter=value))
                )
                results.append((code, set(violations)))
            return results

    assert run(scenario) == [(grpc.StatusCode.INVALID_ARGUMENT, {where}) for _, where in cases]


# ----------------------------------------------------------------------------------------- talent projects


def test_talent_projects_wait_for_a_rate_and_are_granted_when_one_takes_effect(
    database_url: str, tmp_path: Path
) -> None:
    async def scenario() -> dict[str, Any]:
        async with servers(database_url, tmp_path) as s:
            await zone(s.indicators, "GN", (P, "2022-06-30"))
            early = await s.rewards.RecordTalentProject(
                pb.RecordTalentProjectRequest(project=project("TP-A", "GN", 2_000_000, "2022-09-01"))
            )
            late = await s.rewards.RecordTalentProject(
                pb.RecordTalentProjectRequest(project=project("TP-B", "GN", 3_000_000, "2023-02-01"))
            )
            added = await s.rewards.AddRewardParameter(
                pb.AddRewardParameterRequest(parameter=parameter("talent_project.rate", "0.1", "2023-01-01"))
            )
            detail_a = await s.rewards.GetTalentProject(pb.GetTalentProjectRequest(project_code="TP-A"))
            detail_b = await s.rewards.GetTalentProject(pb.GetTalentProjectRequest(project_code="TP-B"))
            return {"early": early, "late": late, "added": added, "a": detail_a, "b": detail_b}

    r = run(scenario)
    assert (r["early"].created, r["early"].changed) == (True, True)
    assert list(r["early"].project.awards) == []
    assert "talent_project.rate has no value in force on 2022-09-01" in r["early"].project.refusals[0].reason
    assert r["added"].awards_granted == 1
    assert list(r["a"].awards) == []  # recruited before the rate took effect
    [award] = r["b"].awards
    assert (award.amount_yuan, award.clause.number, award.beneficiary.kind) == (300_000, 5, "project")
    assert [(p.name, p.value, p.version) for p in award.parameters][-1] == ("talent_project.rate", "0.1", 1)
    assert list(r["b"].refusals) == []


def test_talent_project_correction_revokes_and_regrants_and_a_repeat_changes_nothing(
    database_url: str, tmp_path: Path
) -> None:
    async def scenario() -> tuple[Any, Any, Any]:
        async with servers(database_url, tmp_path) as s:
            await zone(s.indicators, "GN", (P, "2022-06-30"))
            await s.rewards.AddRewardParameter(
                pb.AddRewardParameterRequest(parameter=parameter("talent_project.rate", "0.05", "2021-04-12"))
            )
            first = await s.rewards.RecordTalentProject(
                pb.RecordTalentProjectRequest(project=project("TP-C", "GN", 1_000_000, "2023-02-01"))
            )
            again = await s.rewards.RecordTalentProject(
                pb.RecordTalentProjectRequest(project=project("TP-C", "GN", 1_000_000, "2023-02-01"))
            )
            corrected = await s.rewards.RecordTalentProject(
                pb.RecordTalentProjectRequest(project=project("TP-C", "GN", 1_200_000, "2023-02-01"))
            )
            return first, again, corrected

    first, again, corrected = run(scenario)
    assert (first.created, [a.amount_yuan for a in first.project.awards]) == (True, [50_000])
    assert (again.created, again.changed, len(again.project.awards)) == (False, False, 1)
    assert (corrected.created, corrected.changed) == (False, True)
    assert [(a.status, a.amount_yuan) for a in corrected.project.awards] == [
        (pb.AWARD_STATUS_REVOKED, 50_000),
        (pb.AWARD_STATUS_GRANTED, 60_000),
    ]
    assert corrected.project.awards[0].revocation_reason == (
        "talent project TP-C corrected: the basis changed (investment_yuan 1000000 → 1200000)"
    )


def test_talent_project_in_an_unknown_zone_or_in_the_future_is_refused_naming_the_field(
    database_url: str, tmp_path: Path
) -> None:
    tomorrow = (today_in_china() + timedelta(days=1)).isoformat()

    async def scenario() -> list[tuple[grpc.StatusCode, dict[tuple[str | int, ...], str]]]:
        async with servers(database_url, tmp_path) as s:
            await zone(s.indicators, "GN", (P, "2022-06-30"))
            return [
                await refused(s.rewards.RecordTalentProject(pb.RecordTalentProjectRequest(project=p)))
                for p in (
                    project("TP-X", "NOPE", 1_000, "2023-01-01"),
                    project("TP-Y", "GN", 1_000, tomorrow),
                    project("TP-Z", "GN", 0, "2023-01-01"),
                )
            ]

    (unknown, future, zero) = run(scenario)
    assert unknown == (grpc.StatusCode.INVALID_ARGUMENT, {("zone_code",): "unknown zone; PUT /v1/zones/{code} first"})
    assert future[0] == grpc.StatusCode.INVALID_ARGUMENT and set(future[1]) == {("recruited_on",)}
    assert "must not be in the future" in future[1][("recruited_on",)]
    assert zero[0] == grpc.StatusCode.INVALID_ARGUMENT and set(zero[1]) == {("investment_yuan",)}


def test_talent_project_while_the_indicators_service_is_down_is_unavailable(database_url: str, tmp_path: Path) -> None:
    async def scenario() -> tuple[grpc.StatusCode, int]:
        async with servers(database_url, tmp_path, indicators_up=False) as s:
            code, _ = await refused(
                s.rewards.RecordTalentProject(
                    pb.RecordTalentProjectRequest(project=project("TP-1", "GN", 1, "2023-01-01"))
                )
            )
            return code, row_count(s.engine)

    assert run(scenario) == (grpc.StatusCode.UNAVAILABLE, 0)


def test_unknown_talent_project_or_award_is_not_found(database_url: str, tmp_path: Path) -> None:
    async def scenario() -> tuple[grpc.StatusCode, grpc.StatusCode]:
        async with servers(database_url, tmp_path) as s:
            project, _ = await refused(s.rewards.GetTalentProject(pb.GetTalentProjectRequest(project_code="NONE")))
            award, _ = await refused(s.rewards.GetAward(pb.GetAwardRequest(award_id="NONE")))
            return project, award

    assert run(scenario) == (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.NOT_FOUND)


def test_awards_list_by_beneficiary_kind_and_an_unknown_kind_is_invalid_at_its_field(
    database_url: str, tmp_path: Path
) -> None:
    async def scenario() -> tuple[list[list[str]], tuple[grpc.StatusCode, Any]]:
        async with servers(database_url, tmp_path) as s:
            await zone(s.indicators, "GN", (P, "2022-06-30"))  # a new provincial zone: a zone award
            await s.rewards.AddRewardParameter(
                pb.AddRewardParameterRequest(parameter=parameter("talent_project.rate", "0.05", "2021-04-12"))
            )
            await s.rewards.RecordTalentProject(
                pb.RecordTalentProjectRequest(project=project("TP-K", "GN", 1_000_000, "2023-02-01"))
            )
            with transaction(s.engine) as conn:
                ledger.reconcile(conn, rule="new_provincial_zone", codes=["GN"], trigger="t", source="s")
            listed = [
                [
                    a.beneficiary.code
                    for a in (await s.rewards.ListAwards(pb.ListAwardsRequest(beneficiary_kind=k))).awards
                ]
                for k in ("zone", "county", "project", "")
            ]
            unknown = await refused(s.rewards.ListAwards(pb.ListAwardsRequest(beneficiary_kind="enterprise")))
            return listed, unknown

    listed, (code, violations) = run(scenario)

    assert listed == [["GN"], [], ["TP-K"], ["TP-K", "GN"]]  # in the order granted
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert violations == {("beneficiary_kind",): "unknown beneficiary kind; the kinds are zone, county, project"}


# ---------------------------------------------------------------------------------------------------- paging

# Positions a client could put in a page token if the gateway did not seal them (JSON `true`, a number beyond
# 64 bits, a negative, JSON nested deeper than the parser goes, a NUL that PostgreSQL cannot compare).
FORGED_SEQUENCES = ["dHJ1ZQ", encode_token(10**23), encode_token(-5), encode_token("9")]
FORGED_CODES = [encode_token(1), encode_token("LYG\x00"), encode_token(["LYG"]), encode_token("")]
DEEP = base64.urlsafe_b64encode(b"[" * 5000 + b"]" * 5000).decode()


def test_list_positions_of_the_wrong_type_or_range_are_invalid_argument_at_page_token(
    database_url: str, tmp_path: Path
) -> None:
    async def scenario() -> list[tuple[grpc.StatusCode, dict[tuple[str | int, ...], str]]]:
        async with servers(database_url, tmp_path) as s:
            awards = [
                await refused(s.rewards.ListAwards(pb.ListAwardsRequest(page_token=token)))
                for token in [*FORGED_SEQUENCES, DEEP]
            ]
            zones = [
                await refused(s.indicators.ListZones(ind_pb.ListZonesRequest(page_token=token)))
                for token in [*FORGED_CODES, DEEP]
            ]
            return awards + zones

    outcomes = run(scenario)

    assert {code for code, _ in outcomes} == {grpc.StatusCode.INVALID_ARGUMENT}
    assert all(list(violations) == [("page_token",)] for _, violations in outcomes)


# --------------------------------------------------------------------------------------------------- summary


@pytest.mark.parametrize("year", [0, 2022])
def test_summary_totals_per_year_rule_and_earmark(database_url: str, tmp_path: Path, year: int) -> None:
    async def scenario() -> pb.AwardSummary:
        async with servers(database_url, tmp_path) as s:
            book = Ledger(s.engine)
            await asyncio.to_thread(book.recognize, "Z1", (P, "2022-06-30"))
            await asyncio.to_thread(book.recognize, "Z2", (P, "2022-07-30"))
            await asyncio.to_thread(book.recognize, "Z2", (N, "2020-01-01"), (P, "2022-07-30"))
            await asyncio.to_thread(book.designate, "320706", "ip_pilot", N, "2022-05-01")
            await asyncio.to_thread(book.designate, "320707", "ip_pilot", P, "2023-05-01")
            return await s.rewards.SummarizeAwards(pb.SummarizeAwardsRequest(year=year))

    summary = run(scenario)
    years = {y.year: y for y in summary.years}
    assert sorted(years) == ([2022] if year else [2022, 2023])
    y2022 = years[2022]
    assert (y2022.granted.count, y2022.granted.amount_yuan) == (2, 1_500_000)
    assert (y2022.revoked.count, y2022.revoked.amount_yuan) == (1, 1_000_000)
    assert [(r.rule, r.granted.amount_yuan, r.revoked.amount_yuan) for r in y2022.rules] == [
        ("new_provincial_zone", 1_000_000, 1_000_000),
        ("pilot_county", 500_000, 0),
    ]
    assert [(e.earmark, e.granted.amount_yuan, e.revoked.amount_yuan) for e in y2022.earmarks] == [
        ("", 500_000, 0),
        ("service_capacity_building", 1_000_000, 1_000_000),
    ]


# ------------------------------------------------------------------------------- rankings, over real gRPC


async def put_ranking(s: Servers, year: int, level: ZoneLevel, ranks: dict[str, int]) -> None:
    await s.indicators.PutRanking(
        ind_pb.PutRankingRequest(
            year=year, level=level_to_pb(level), ranks=[ind_pb.RankEntry(zone_code=z, rank=r) for z, r in ranks.items()]
        )
    )


def staged_rankings(s: Servers) -> list[tuple[str, bytes]]:
    """The ranking_published events the indicators service staged, oldest first (what its relay would send)."""
    o = indicators_store.outbox.c
    with reading(s.indicators_engine) as conn:
        rows = conn.execute(select(o.event_id, o.payload).where(o.subject == RANKING_PUBLISHED).order_by(o.seq)).all()
    return [(r.event_id, r.payload) for r in rows]


async def consume(consumer: EventConsumer, event_id: str, payload: bytes) -> bool:
    """What EventConsumer does with a delivered message: prepare on the loop, apply in a thread."""
    handler = consumer.sub.handler
    assert isinstance(handler, Prepared)
    bound = await handler.bind(RANKING_PUBLISHED, payload)
    return await asyncio.to_thread(consumer.apply, event_id, RANKING_PUBLISHED, payload, bound)


class Recording:
    """The real indicators client, noting which zones' histories were asked for."""

    def __init__(self, client: IndicatorsClient) -> None:
        self.client = client
        self.asked: list[list[str]] = []

    async def rank_histories(self, zone_codes: Sequence[str]) -> dict[str, list[RankFact]]:
        self.asked.append(list(zone_codes))
        return await self.client.rank_histories(zone_codes)


def ranking_consumer(s: Servers, source: RankHistorySource | None = None) -> EventConsumer:
    subscription = on_ranking_published(source or s.client, s.engine)
    return EventConsumer(s.engine, store.inbox, Bus("nats://127.0.0.1:1", "unused"), subscription)


def granted_rank_awards(engine: Engine) -> set[tuple[str, str, int]]:
    with reading(engine) as conn:
        rows = store.list_awards(conn, store.AwardFilter(rule="rank_advance", status="granted"), 0, 1000)
    return {(r.beneficiary_code, r.basis_key, r.amount_yuan) for r in rows}


def test_ranking_consumer_reads_rank_histories_over_grpc_and_follows_a_correction(
    database_url: str, tmp_path: Path
) -> None:
    async def scenario() -> dict[str, Any]:
        async with servers(database_url, tmp_path) as s:
            for code in ("A", "B", "C"):
                await zone(s.indicators, code, (N, "2015-02-16"))
            consumer = ranking_consumer(s)
            await put_ranking(s, 2021, N, {"A": 10, "B": 5, "C": 20})
            await put_ranking(s, 2022, N, {"A": 7, "B": 4, "C": 30})
            events = staged_rankings(s)
            for event_id, payload in events:
                assert await consume(consumer, event_id, payload)
            first = granted_rank_awards(s.engine)
            again = await consume(consumer, *events[-1])  # redelivered

            await put_ranking(s, 2021, N, {"A": 9, "B": 5, "C": 20})  # A's 2021 corrected: 2022 advances only 2
            correction = staged_rankings(s)[-1]
            await consume(consumer, *correction)
            with reading(s.engine) as conn:
                revoked = store.list_awards(conn, store.AwardFilter(status="revoked"), 0, 100)
            return {"first": first, "again": again, "after": granted_rank_awards(s.engine), "revoked": revoked}

    r = run(scenario)
    assert r["first"] == {("A", "2022:national", 1_000_000)}
    assert r["again"] is False
    assert r["after"] == set()
    [revoked] = r["revoked"]
    assert revoked.revocation_reason == (
        "ranking 2021 national republished: rank 7 in 2022 against a historical best of 9 (2021): an advance of 2, "
        "fewer than 3 places"
    )


def test_ranking_events_consumed_in_reverse_order_end_in_the_same_ledger(database_url: str, tmp_path: Path) -> None:
    async def scenario() -> set[tuple[str, str, int]]:
        async with servers(database_url, tmp_path) as s:
            await zone(s.indicators, "A", (P, "2019-01-01"))
            consumer = ranking_consumer(s)
            for year, rank in ((2021, 30), (2022, 26), (2023, 20)):
                await put_ranking(s, year, P, {"A": rank})
            for event_id, payload in reversed(staged_rankings(s)):
                await consume(consumer, event_id, payload)
            return granted_rank_awards(s.engine)

    assert run(scenario) == {("A", "2022:provincial", 500_000), ("A", "2023:provincial", 500_000)}


def test_ranking_event_while_the_indicators_service_is_down_fails_for_redelivery(
    database_url: str, tmp_path: Path
) -> None:
    async def scenario() -> tuple[bool, int]:
        async with servers(database_url, tmp_path, indicators_up=False) as s:
            consumer = ranking_consumer(s)
            entry = events_pb2.RankingPublished.Entry(zone_code="A", rank=1)
            event = events_pb2.RankingPublished(year=2022, level=level_to_pb(N), ranks=[entry])
            event.meta.event_id = "evt-down"
            try:
                await consume(consumer, "evt-down", event.SerializeToString())
            except Unavailable:
                return True, row_count(s.engine)
            return False, row_count(s.engine)

    assert run(scenario) == (True, 0)  # nothing recorded, not even the inbox row: it will be redelivered


def test_ranking_consumer_reads_again_only_the_histories_a_ranking_changes(database_url: str, tmp_path: Path) -> None:
    async def scenario() -> tuple[list[list[str]], set[tuple[str, str, int]]]:
        async with servers(database_url, tmp_path) as s:
            for code in ("A", "B", "C"):
                await zone(s.indicators, code, (N, "2015-02-16"))
            recording = Recording(s.client)
            consumer = ranking_consumer(s, recording)
            for year, ranks in (
                (2021, {"A": 10, "B": 5, "C": 20}),
                (2022, {"A": 9, "B": 4, "C": 30}),
                (2022, {"A": 7, "B": 4, "C": 30}),  # corrected: only A's rank changes
                (2022, {"A": 7, "B": 4}),  # C dropped
            ):
                await put_ranking(s, year, N, ranks)
                await consume(consumer, *staged_rankings(s)[-1])
            return recording.asked, granted_rank_awards(s.engine)

    asked, awards = run(scenario)
    assert asked == [["A", "B", "C"], ["A", "B", "C"], ["A"], ["C"]]
    assert awards == {("A", "2022:national", 1_000_000)}
