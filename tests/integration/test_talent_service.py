"""The talent service over real gRPC and a real database (SQLite and PostgreSQL), asking the real enterprise
register: the indicators service's servicer, served in-process on its own port over its own migrated database."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

import grpc
import pytest
from alembic import command
from gaoxin.events.v1 import events_pb2
from gaoxin.indicators.v1 import indicators_pb2_grpc
from gaoxin.talent.v1 import talent_pb2 as pb
from gaoxin.talent.v1 import talent_pb2_grpc as pb_grpc
from gaoxin.types.v1 import types_pb2
from sqlalchemy import Engine, select

from services.common.bus import Bus
from services.common.convert import ZoneLevel, date_to_pb
from services.common.db import make_engine, reading, transaction
from services.common.errors import VIOLATIONS_KEY, decode_violations
from services.common.grpc_server import build_server
from services.common.metrics import GRPC_HANDLED
from services.common.migrate import alembic_config
from services.common.outbox import OutboxRelay
from services.indicators import store as indicators_store
from services.indicators.api import IndicatorsServicer
from services.indicators.domain.enterprises import EnterpriseRecord
from services.indicators.domain.registry import Recognition
from services.indicators.main import SERVICE_NAME as INDICATORS_SERVICE
from services.indicators.store import enterprises as enterprise_store
from services.platform import free_port
from services.talent import store
from services.talent.api import TalentServicer
from services.talent.directory import IndicatorsDirectory
from services.talent.main import SERVICE_NAME
from services.talent.pseudonyms import Pseudonymizer

T = TypeVar("T")
CREDIT_CODE = "91320706MA1X7Y8D7E"
MISTYPED_CODE = "91320706MA1X7Y8D7A"  # the check character (GB 32100-2015) should be E
UNREGISTERED_CODE = "9144030071526726XG"  # valid, and not in the register
ZONE = "LYG-HTZ"
NAME, PASSPORT = "Ingrid Quaxelberg", "QX7741029"
APPLIED_ON = date(2026, 3, 9)
LOOKUP_DEADLINE = 2.5


@dataclass
class Register:
    """The indicators service's enterprise register: its real servicer over its own migrated SQLite database."""

    engine: Engine
    servicer: IndicatorsServicer


@pytest.fixture
def register(tmp_path: Path) -> Iterator[Register]:
    url = f"sqlite:///{tmp_path / 'indicators.db'}"
    command.upgrade(alembic_config("indicators", url), "head")
    engine = make_engine(url)
    with transaction(engine) as conn:
        indicators_store.upsert_county(conn, "320706", "海州区")
        indicators_store.upsert_zone(conn, ZONE, "连云港高新区", "320706", [])
        indicators_store.add_recognition(conn, ZONE, Recognition(date(2015, 2, 16), ZoneLevel.PROVINCIAL))
        # National from the day after the application: the level reported shows which date the register was asked.
        indicators_store.add_recognition(conn, ZONE, Recognition(date(2026, 3, 10), ZoneLevel.NATIONAL))
        enterprise_store.upsert_enterprises(conn, [EnterpriseRecord(CREDIT_CODE, "某公司", ZONE, True)])
    relay = OutboxRelay(engine, indicators_store.outbox, Bus("nats://127.0.0.1:1", "unused"))
    yield Register(engine, IndicatorsServicer(engine, relay))
    engine.dispose()


def located(code: str) -> float:
    """LocateEnterprises calls the indicators server has completed with `code`, in this process so far."""
    value: float = GRPC_HANDLED.labels(INDICATORS_SERVICE, "LocateEnterprises", code)._value.get()
    return value


def work_permit_request(employer: str = CREDIT_CODE) -> pb.CheckWorkPermitAgeRequest:
    return pb.CheckWorkPermitAgeRequest(
        nationality="DE",
        birth_date=date_to_pb(date(1960, 3, 10)),
        application_date=date_to_pb(APPLIED_ON),
        talent_category="A",
        employer_credit_code=employer,
        approval_authority_level="city",
        applicant=pb.Applicant(name=NAME, passport_number=PASSPORT),
        requested_by="key-1",
    )


def serve(
    database_url: str,
    register: Register | str,
    scenario: Callable[[pb_grpc.TalentServiceStub], Awaitable[T]],
) -> tuple[T, Engine]:
    """Serve the talent service on a free port and run `scenario` against a client of it. Its enterprise
    directory is the real `IndicatorsDirectory`, pointed at `register` served on a port of its own, or at the
    address `register` names (where nothing, or nothing that answers, listens)."""
    command.upgrade(alembic_config("talent", database_url), "head")
    engine = make_engine(database_url)
    relay = OutboxRelay(engine, store.outbox, Bus("nats://127.0.0.1:1", "unused"))

    async def run() -> T:
        servers = []
        if isinstance(register, Register):
            indicators, _, indicators_port = await build_server(
                [lambda s: indicators_pb2_grpc.add_IndicatorsServiceServicer_to_server(register.servicer, s)],
                [INDICATORS_SERVICE],
                "127.0.0.1:0",
            )
            await indicators.start()
            servers.append(indicators)
            address = f"127.0.0.1:{indicators_port}"
        else:
            address = register
        directory = IndicatorsDirectory(address)
        servicer = TalentServicer(engine, relay, directory, Pseudonymizer(b"integration-test-key" * 2), LOOKUP_DEADLINE)
        try:
            server, _, port = await build_server(
                [lambda s: pb_grpc.add_TalentServiceServicer_to_server(servicer, s)], [SERVICE_NAME], "127.0.0.1:0"
            )
            servers.append(server)
            await server.start()
            async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
                return await scenario(pb_grpc.TalentServiceStub(channel))
        finally:
            for running in reversed(servers):
                await running.stop(None)
            servicer.writer.close()

    return asyncio.run(run()), engine


async def refusal(call: Awaitable[Any]) -> grpc.aio.AioRpcError:
    """The error `call` fails with; a call that succeeds fails the test."""
    try:
        await call
    except grpc.aio.AioRpcError as exc:
        return exc
    raise AssertionError("expected the call to be refused")


def stored(engine: Engine) -> tuple[list[Any], list[Any]]:
    with reading(engine) as conn:
        return conn.execute(select(store.decisions)).all(), conn.execute(select(store.outbox)).all()


def test_check_asks_the_register_and_records_decision_and_its_event_together(
    database_url: str, register: Register
) -> None:
    asked_before = located("OK")

    async def scenario(stub: pb_grpc.TalentServiceStub) -> tuple[pb.Decision, pb.Decision]:
        decided = await stub.CheckWorkPermitAge(work_permit_request(), timeout=5)
        return decided, await stub.GetDecision(pb.GetDecisionRequest(decision_id=decided.decision_id))

    (decided, read_back), engine = serve(database_url, register, scenario)

    assert (decided.eligible, decided.outcome) == (True, "eligible")
    assert (decided.work_permit_age.age, decided.work_permit_age.max_age) == (65, 65)
    employer = {c.name: c for c in decided.conditions}["employer_in_hitech_zone"]
    assert employer.met
    # What the register holds, on the application date (national only from the day after).
    assert employer.detail == f"employer 某公司 is in zone {ZONE}, a provincial high-tech zone on 2026-03-09"
    assert located("OK") == asked_before + 1
    assert read_back == decided
    decisions, outbox = stored(engine)
    assert [d.decision_id for d in decisions] == [decided.decision_id]
    assert [o.subject for o in outbox] == ["gaoxin.talent.decision_recorded.v1"]
    event = events_pb2.TalentDecisionRecorded.FromString(outbox[0].payload)
    assert (event.decision_id, event.check, event.eligible, event.outcome, event.rule_set_version) == (
        decided.decision_id,
        "work_permit_age",
        True,
        "eligible",
        "2021-04-12.2",
    )
    engine.dispose()


def test_concurrent_checks_share_register_calls_and_a_check_sees_a_move_recorded_before_it(
    database_url: str, register: Register
) -> None:
    asked_before = located("OK")

    def move_employer_to_an_unrecognised_zone() -> None:
        with transaction(register.engine) as conn:
            indicators_store.upsert_zone(conn, "NEW-ZONE", "未认定园区", "320706", [])
            enterprise_store.upsert_enterprises(conn, [EnterpriseRecord(CREDIT_CODE, "某公司", "NEW-ZONE", True)])

    async def scenario(stub: pb_grpc.TalentServiceStub) -> tuple[list[pb.Decision], pb.Decision]:
        together = await asyncio.gather(*(stub.CheckWorkPermitAge(work_permit_request(), timeout=5) for _ in range(30)))
        move_employer_to_an_unrecognised_zone()
        return list(together), await stub.CheckWorkPermitAge(work_permit_request(), timeout=5)

    (together, after_move), engine = serve(database_url, register, scenario)

    assert [d.outcome for d in together] == ["eligible"] * 30
    calls = located("OK") - asked_before
    assert 2 <= calls < 30  # 30 lookups gathered into fewer calls; the check after the move had one of its own
    employer = {c.name: c for c in after_move.conditions}["employer_in_hitech_zone"]
    assert (after_move.outcome, employer.met) == ("not_eligible", False)
    assert "NEW-ZONE" in employer.detail
    assert len(stored(engine)[0]) == 31
    engine.dispose()


def test_employer_not_in_the_register_is_a_recorded_no(database_url: str, register: Register) -> None:
    async def scenario(stub: pb_grpc.TalentServiceStub) -> pb.Decision:
        return await stub.CheckWorkPermitAge(work_permit_request(UNREGISTERED_CODE), timeout=5)

    decided, engine = serve(database_url, register, scenario)

    assert (decided.eligible, decided.outcome) == (False, "not_eligible")
    assert (decided.work_permit_age.age, decided.work_permit_age.max_age) == (65, 60)
    employer = {c.name: c for c in decided.conditions}["employer_in_hitech_zone"]
    assert (employer.met, employer.detail) == (
        False,
        f"no enterprise with the credit code {UNREGISTERED_CODE} is registered",
    )
    assert [d.decision_id for d in stored(engine)[0]] == [decided.decision_id]
    engine.dispose()


def test_stored_decision_keeps_pseudonym_and_age_not_identifiers_or_birth_date(
    database_url: str, register: Register
) -> None:
    async def scenario(stub: pb_grpc.TalentServiceStub) -> pb.Decision:
        return await stub.CheckWorkPermitAge(work_permit_request(), timeout=5)

    decided, engine = serve(database_url, register, scenario)

    decisions, outbox = stored(engine)
    row = json.dumps([str(value) for value in decisions[0]], ensure_ascii=False)
    for personal in (NAME, PASSPORT, "1960-03-10", "19600310"):
        assert personal not in row
        assert personal.encode() not in outbox[0].payload
    assert decisions[0].subject == decided.subject and decided.subject.startswith("sub_")
    assert decisions[0].inputs["age"] == "65"
    engine.dispose()


def test_invalid_check_is_invalid_argument_naming_fields_and_records_nothing(
    database_url: str, register: Register
) -> None:
    asked_before = sum(located(code) for code in ("OK", "INVALID_ARGUMENT"))

    async def scenario(stub: pb_grpc.TalentServiceStub) -> grpc.aio.AioRpcError:
        request = work_permit_request()
        request.talent_category = "Z"
        request.birth_date.CopyFrom(types_pb2.Date(year=1960, month=2, day=30))
        return await refusal(stub.CheckWorkPermitAge(request, timeout=5))

    refused, engine = serve(database_url, register, scenario)

    assert refused.code() == grpc.StatusCode.INVALID_ARGUMENT
    violations = decode_violations(dict(refused.trailing_metadata() or ())[VIOLATIONS_KEY])
    assert {v.location for v in violations} == {("birth_date",), ("talent_category",)}
    assert sum(located(code) for code in ("OK", "INVALID_ARGUMENT")) == asked_before  # the register was not asked
    assert stored(engine) == ([], [])
    engine.dispose()


def test_credit_code_the_register_refuses_is_invalid_argument_on_the_employer(
    database_url: str, register: Register
) -> None:
    # Refused in the register's answer to the lookup, not as a failed call (which would refuse a whole batch).
    refused_before = located("OK")

    async def scenario(stub: pb_grpc.TalentServiceStub) -> grpc.aio.AioRpcError:
        return await refusal(stub.CheckWorkPermitAge(work_permit_request(MISTYPED_CODE), timeout=5))

    refused, engine = serve(database_url, register, scenario)

    assert refused.code() == grpc.StatusCode.INVALID_ARGUMENT
    violations = decode_violations(dict(refused.trailing_metadata() or ())[VIOLATIONS_KEY])
    assert [(v.location, v.message) for v in violations] == [
        (("employer_credit_code",), "check character (position 18, GB 32100-2015) should be 'E', found 'A'")
    ]
    assert located("OK") == refused_before + 1
    assert stored(engine) == ([], [])
    engine.dispose()


def check_refused(timeout: float) -> Callable[[pb_grpc.TalentServiceStub], Awaitable[tuple[grpc.StatusCode, float]]]:
    async def scenario(stub: pb_grpc.TalentServiceStub) -> tuple[grpc.StatusCode, float]:
        started = time.monotonic()
        error = await refusal(stub.CheckWorkPermitAge(work_permit_request(), timeout=timeout))
        return error.code(), time.monotonic() - started

    return scenario


def test_register_down_is_unavailable_and_records_nothing(database_url: str) -> None:
    (code, _), engine = serve(database_url, f"127.0.0.1:{free_port()}", check_refused(timeout=5))

    assert code == grpc.StatusCode.UNAVAILABLE
    assert stored(engine) == ([], [])
    engine.dispose()


def test_register_not_answering_is_unavailable_within_the_callers_deadline(database_url: str) -> None:
    # A register host that accepts connections and never answers (a hung process, a black-holed network): the
    # lookup may only use a share of the caller's remaining 2 s, so the caller gets UNAVAILABLE (503), not its
    # own DEADLINE_EXCEEDED (504), although the configured lookup deadline (2.5 s) is longer.
    with socket.create_server(("127.0.0.1", 0)) as silent:
        address = f"127.0.0.1:{silent.getsockname()[1]}"
        (code, elapsed), engine = serve(database_url, address, check_refused(timeout=2.0))

    assert code == grpc.StatusCode.UNAVAILABLE
    assert 1.0 < elapsed < 2.0
    assert stored(engine) == ([], [])
    engine.dispose()


def test_unknown_decision_is_not_found(tmp_path: Path) -> None:
    async def scenario(stub: pb_grpc.TalentServiceStub) -> grpc.StatusCode:
        return (await refusal(stub.GetDecision(pb.GetDecisionRequest(decision_id="no-such-decision")))).code()

    code, engine = serve(f"sqlite:///{tmp_path / 'talent.db'}", f"127.0.0.1:{free_port()}", scenario)

    assert code == grpc.StatusCode.NOT_FOUND
    engine.dispose()
