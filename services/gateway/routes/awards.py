"""The award ledger (API.md: Rewards)."""

from __future__ import annotations

from datetime import UTC, date
from typing import Annotated, Any

from fastapi import APIRouter, Query
from gaoxin.rewards.v1 import rewards_pb2 as pb

from services.gateway.deps import Backend, Reader
from services.gateway.schemas import AwardPage

router = APIRouter(prefix="/v1", tags=["rewards"])

_STATUS = {pb.AWARD_STATUS_GRANTED: "granted", pb.AWARD_STATUS_REVOKED: "revoked"}


def _value(text: str) -> int | str:
    return int(text) if text.lstrip("-").isdigit() else text


def award_json(award: pb.Award) -> dict[str, Any]:
    return {
        "award_id": award.award_id,
        "rule": award.rule,
        "beneficiary": {"kind": award.beneficiary.kind, "code": award.beneficiary.code},
        "year": award.year,
        "amount_yuan": award.amount_yuan,
        "status": _STATUS[award.status],
        "basis": dict(award.basis),
        "clause": {
            "id": award.clause.number,
            "label": award.clause.label,
            "text": award.clause.text,
            "url": f"/v1/policy/clauses/{award.clause.number}",
        },
        "parameters": [
            {
                "name": p.name,
                "value": _value(p.value),
                "version": p.version,
                "effective_from": date(p.effective_from.year, p.effective_from.month, p.effective_from.day),
            }
            for p in award.parameters
        ],
        "earmark": award.earmark or None,
        "explanation": award.explanation,
        "granted_at": award.granted_at.ToDatetime(UTC),
        "revoked_at": award.revoked_at.ToDatetime(UTC) if award.HasField("revoked_at") else None,
        "revocation_reason": award.revocation_reason or None,
    }


@router.get("/awards", response_model=AwardPage, summary="Awards granted (and revoked), with their reasons")
async def list_awards(
    backend: Backend,
    caller: Reader,
    year: Annotated[int | None, Query(ge=1990, le=2100)] = None,
    beneficiary_code: str | None = None,
    rule: str | None = None,
    page_size: Annotated[int, Query(ge=1, description="default 50; larger values are reduced to 1000")] = 50,
    page_token: str | None = None,
) -> dict[str, Any]:
    reply = await backend.call(
        backend.rewards.ListAwards,
        pb.ListAwardsRequest(
            year=year or 0,
            beneficiary_code=beneficiary_code or "",
            rule=rule or "",
            page_size=min(page_size, 1000),
            page_token=page_token or "",
        ),
    )
    return {"items": [award_json(a) for a in reply.awards], "next_page_token": reply.next_page_token or None}
