"""The talent service over real gRPC and a real database (SQLite and PostgreSQL), with a stand-in register."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any, TypeVar

import grpc
import pytest
from alembic import command
from gaoxin.events.v1 import events_pb2
from gaoxin.talent.v1 import talent_pb2 as pb
from gaoxin.talent.v1 import talent_pb2_grpc as pb_grpc
from gaoxin.types.v1 import types_pb2
from sqlalchemy import Engine, select

from services.common.bus import Bus
from services.common.convert import ZoneLevel, date_to_pb
from services.common.db import make_engine, reading
from services.common.errors import VIOLATIONS_KEY, Unavailable, decode_violations
from services.common.grpc_server import build_server
from services.common.migrate import alembic_config
from services.common.outbox import OutboxRelay
from services.talent import store
from services.talent.api import TalentServicer
from services.talent.domain.checks import EnterpriseLocation
from services.talent.main import SERVICE_NAME
from services.talent.pseudonyms import Pseudonymizer

T = TypeVar("T")
CREDIT_CODE = "91320706MA1X7Y8D7E"
NAME, PASSPORT = "Ingrid Quaxelberg", "QX7741029"


class StandInDirectory:
    """Answers from a dict, or fails as a register that is down; remembers what it was asked."""

    def __init__(self, known: dict[str, EnterpriseLocation], down: bool = False) -> None:
        self.known = known
        self.down = down
        self.asked: list[tuple[str, date, float]] = []

    async def locate(self, credit_code: str, on: date, deadline: float) -> EnterpriseLocation | None:
        self.asked.append((credit_code, on, deadline))
        if self.down:
            raise Unavailable("register down")
        return self.known.get(credit_code)


def work_permit_request() -> pb.CheckWorkPermitAgeRequest:
    return pb.CheckWorkPermitAgeRequest(
        nationality="DE",
        birth_date=date_to_pb(date(1960, 3, 10)),
        application_date=date_to_pb(date(2026, 3, 9)),
        talent_category="A",
        employer_credit_code=CREDIT_CODE,
        approval_authority_level="city",
        applicant=pb.Applicant(name=NAME, passport_number=PASSPORT),
        requested_by="key-1",
    )


def serve(
    database_url: str,
    directory: StandInDirectory,
    scenario: Callable[[pb_grpc.TalentServiceStub], Awaitable[T]],
) -> tuple[T, Engine]:
    command.upgrade(alembic_config("talent", database_url), "head")
    engine = make_engine(database_url)
    relay = OutboxRelay(engine, store.outbox, Bus("nats://127.0.0.1:1", "unused"))
    servicer = TalentServicer(engine, relay, directory, Pseudonymizer(b"integration-test-key" * 2), 2.5)

    async def run() -> T:
        server, _, port = await build_server(
            [lambda s: pb_grpc.add_TalentServiceServicer_to_server(servicer, s)], [SERVICE_NAME], "127.0.0.1:0"
        )
        await server.start()
        try:
            async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
                return await scenario(pb_grpc.TalentServiceStub(channel))
        finally:
            await server.stop(None)

    try:
        return asyncio.run(run()), engine
    finally:
        servicer.writer.close()


def stored(engine: Engine) -> tuple[list[Any], list[Any]]:
    with reading(engine) as conn:
        return conn.execute(select(store.decisions)).all(), conn.execute(select(store.outbox)).all()


def test_check_records_decision_and_its_event_together(database_url: str) -> None:
    directory = StandInDirectory({CREDIT_CODE: EnterpriseLocation("某公司", "LYG-HTZ", ZoneLevel.NATIONAL)})

    async def scenario(stub: pb_grpc.TalentServiceStub) -> tuple[pb.Decision, pb.Decision]:
        decided = await stub.CheckWorkPermitAge(work_permit_request(), timeout=5)
        return decided, await stub.GetDecision(pb.GetDecisionRequest(decision_id=decided.decision_id))

    (decided, read_back), engine = serve(database_url, directory, scenario)

    assert (decided.eligible, decided.outcome) == (True, "eligible")
    assert (decided.work_permit_age.age, decided.work_permit_age.max_age) == (65, 65)
    assert read_back == decided
    assert directory.asked == [(CREDIT_CODE, date(2026, 3, 9), pytest.approx(2.5))]
    decisions, outbox = stored(engine)
    assert [d.decision_id for d in decisions] == [decided.decision_id]
    assert [o.subject for o in outbox] == ["gaoxin.talent.decision_recorded.v1"]
    event = events_pb2.TalentDecisionRecorded.FromString(outbox[0].payload)
    assert (event.decision_id, event.check, event.eligible, event.outcome, event.rule_set_version) == (
        decided.decision_id,
        "work_permit_age",
        True,
        "eligible",
        "2021-04-12.1",
    )
    engine.dispose()


def test_stored_decision_keeps_pseudonym_and_age_not_identifiers_or_birth_date(database_url: str) -> None:
    directory = StandInDirectory({})

    async def scenario(stub: pb_grpc.TalentServiceStub) -> pb.Decision:
        return await stub.CheckWorkPermitAge(work_permit_request(), timeout=5)

    decided, engine = serve(database_url, directory, scenario)

    decisions, outbox = stored(engine)
    row = json.dumps([str(value) for value in decisions[0]], ensure_ascii=False)
    for personal in (NAME, PASSPORT, "1960-03-10", "19600310"):
        assert personal not in row
        assert personal.encode() not in outbox[0].payload
    assert decisions[0].subject == decided.subject and decided.subject.startswith("sub_")
    assert decisions[0].inputs["age"] == "65"
    engine.dispose()


def test_invalid_check_is_invalid_argument_naming_fields_and_records_nothing(database_url: str) -> None:
    directory = StandInDirectory({})

    async def scenario(stub: pb_grpc.TalentServiceStub) -> grpc.aio.AioRpcError:
        request = work_permit_request()
        request.talent_category = "Z"
        request.birth_date.CopyFrom(types_pb2.Date(year=1960, month=2, day=30))
        try:
            await stub.CheckWorkPermitAge(request, timeout=5)
        except grpc.aio.AioRpcError as exc:
            return exc
        raise AssertionError("expected INVALID_ARGUMENT")

    refused, engine = serve(database_url, directory, scenario)

    assert refused.code() == grpc.StatusCode.INVALID_ARGUMENT
    violations = decode_violations(dict(refused.trailing_metadata() or ())[VIOLATIONS_KEY])
    assert {v.location for v in violations} == {("birth_date",), ("talent_category",)}
    assert directory.asked == []
    assert stored(engine) == ([], [])
    engine.dispose()


def test_register_down_is_unavailable_and_records_nothing(database_url: str) -> None:
    directory = StandInDirectory({}, down=True)

    async def scenario(stub: pb_grpc.TalentServiceStub) -> grpc.StatusCode:
        try:
            await stub.CheckWorkPermitAge(work_permit_request(), timeout=1.0)
        except grpc.aio.AioRpcError as exc:
            return exc.code()
        raise AssertionError("expected UNAVAILABLE")

    code, engine = serve(database_url, directory, scenario)

    assert code == grpc.StatusCode.UNAVAILABLE
    assert directory.asked[0][2] < 1.0  # the lookup had to finish inside the caller's own deadline
    assert stored(engine) == ([], [])
    engine.dispose()


def test_unknown_decision_is_not_found(tmp_path: Any) -> None:
    async def scenario(stub: pb_grpc.TalentServiceStub) -> grpc.StatusCode:
        try:
            await stub.GetDecision(pb.GetDecisionRequest(decision_id="no-such-decision"))
        except grpc.aio.AioRpcError as exc:
            return exc.code()
        raise AssertionError("expected NOT_FOUND")

    code, engine = serve(f"sqlite:///{tmp_path / 'talent.db'}", StandInDirectory({}), scenario)

    assert code == grpc.StatusCode.NOT_FOUND
    engine.dispose()
