"""gRPC servicer of the rewards service (read side of the ledger; awards are granted by event consumers)."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime
from typing import Any

import grpc
from gaoxin.rewards.v1 import rewards_pb2 as pb
from gaoxin.rewards.v1 import rewards_pb2_grpc as pb_grpc
from gaoxin.types.v1 import types_pb2
from sqlalchemy import Engine

from services.common.convert import date_to_pb
from services.common.db import reading
from services.common.errors import FieldViolation, InvalidArgument
from services.common.paging import decode_token, encode_token, page_size
from services.common.policy.clauses import chinese_numeral, clause
from services.rewards import store

Context = grpc.aio.ServicerContext[object, object]

_STATUS = {"granted": pb.AWARD_STATUS_GRANTED, "revoked": pb.AWARD_STATUS_REVOKED}


def clause_ref(number: int) -> types_pb2.ClauseRef:
    return types_pb2.ClauseRef(number=number, label=f"（{chinese_numeral(number)}）", text=clause(number).text)


def award_to_pb(row: Any) -> pb.Award:
    award = pb.Award(
        award_id=row.award_id,
        rule=row.rule,
        beneficiary=pb.Beneficiary(kind=row.beneficiary_kind, code=row.beneficiary_code),
        year=row.year,
        amount_yuan=row.amount_yuan,
        status=_STATUS[row.status],
        basis=row.basis,
        clause=clause_ref(row.clause),
        parameters=[
            pb.ParameterUse(
                name=p["name"],
                value=p["value"],
                version=p["version"],
                effective_from=date_to_pb(date.fromisoformat(p["effective_from"])),
            )
            for p in row.parameters
        ],
        earmark=row.earmark,
        revocation_reason=row.revocation_reason or "",
        explanation=row.explanation,
    )
    award.granted_at.FromDatetime(_utc(row.granted_at))
    if row.revoked_at is not None:
        award.revoked_at.FromDatetime(_utc(row.revoked_at))
    return award


def _utc(value: datetime) -> datetime:
    # SQLite returns naive datetimes for timezone-aware columns; every stored time is UTC.
    return value if value.tzinfo else value.replace(tzinfo=UTC)


class RewardsServicer(pb_grpc.RewardsServiceServicer):
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    async def ListAwards(self, request: pb.ListAwardsRequest, context: Context) -> pb.ListAwardsResponse:
        limit = page_size(request.page_size)
        after = decode_token(request.page_token)
        if after is not None and not isinstance(after, int):
            raise InvalidArgument("bad page_token", [FieldViolation(("page_token",), "unrecognised page token")])
        where = store.AwardFilter(
            year=request.year or None,
            beneficiary_code=request.beneficiary_code or None,
            rule=request.rule or None,
        )

        def work() -> list[Any]:
            with reading(self.engine) as conn:
                return store.list_awards(conn, where, after or 0, limit + 1)

        rows = await asyncio.to_thread(work)
        page, more = rows[:limit], len(rows) > limit
        return pb.ListAwardsResponse(
            awards=[award_to_pb(r) for r in page], next_page_token=encode_token(page[-1].seq) if more else ""
        )
