"""The award ledger (API.md: Rewards): awards, their yearly totals, and simulation."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from gaoxin.rewards.v1 import rewards_pb2 as pb
from gaoxin.types.v1 import types_pb2

from services.common.convert import ZoneLevel, date_to_pb, level_to_pb
from services.gateway.backends import PAGING_QUERY, query_fields
from services.gateway.deps import Backend, Reader
from services.gateway.json_route import StrictJsonRoute
from services.gateway.page_tokens import Paging
from services.gateway.schemas import Award, AwardPage, AwardSummary, PageSize, ParameterIn, SimulationIn, SimulationOut
from services.gateway.wire import basis_json, clause_json, iso_date, iso_time, parameter_value

router = APIRouter(prefix="/v1", tags=["rewards"], route_class=StrictJsonRoute)

_STATUS = {pb.AWARD_STATUS_GRANTED: "granted", pb.AWARD_STATUS_REVOKED: "revoked"}
_STATUS_FILTER = {"granted": pb.AWARD_STATUS_GRANTED, "revoked": pb.AWARD_STATUS_REVOKED}
_RECORDED_FACTS = {"include": pb.RECORDED_FACTS_INCLUDE, "ignore": pb.RECORDED_FACTS_IGNORE}


def parameters_json(uses: Any) -> list[dict[str, Any]]:
    return [
        {
            "name": p.name,
            "value": parameter_value(p.value, p.kind),
            "version": p.version,
            "effective_from": iso_date(p.effective_from),
        }
        for p in uses
    ]


def decision_json(award: pb.Award) -> dict[str, Any]:
    """What a decision says, granted or simulated: who, how much, why."""
    return {
        "rule": award.rule,
        "beneficiary": {"kind": award.beneficiary.kind, "code": award.beneficiary.code},
        "basis_key": award.basis_key,
        "year": award.year,
        "amount_yuan": award.amount_yuan,
        "basis": basis_json(award.basis),
        "clause": clause_json(award.clause),
        "parameters": parameters_json(award.parameters),
        "earmark": award.earmark or None,
        "explanation": award.explanation,
    }


def award_json(award: pb.Award) -> dict[str, Any]:
    return {
        "award_id": award.award_id,
        **decision_json(award),
        "status": _STATUS[award.status],
        # Text, not datetimes: answers sent without the response model (jsonable_encoder) would write `+00:00`.
        "granted_at": iso_time(award.granted_at),
        "revoked_at": iso_time(award.revoked_at) if award.HasField("revoked_at") else None,
        "revocation_reason": award.revocation_reason or None,
        "history": [
            {"status": _STATUS[change.status], "at": iso_time(change.at), "reason": change.reason or None}
            for change in award.history
        ],
    }


def refusal_json(refusal: pb.Refusal) -> dict[str, Any]:
    return {
        "rule": refusal.rule,
        "beneficiary": {"kind": refusal.beneficiary.kind, "code": refusal.beneficiary.code},
        "basis_key": refusal.basis_key or None,
        "reason": refusal.reason,
        "clause": clause_json(refusal.clause),
        "parameters": parameters_json(refusal.parameters),
    }


def parameter_value_text(value: bool | int | float | str) -> str:
    """The value as the service parses it. A JSON number for the rate arrives as a float: its shortest repr
    ("0.05") is the literal the client wrote, so no binary fraction reaches the Decimal."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def parameter_pb(body: ParameterIn) -> pb.ParameterValue:
    return pb.ParameterValue(
        name=body.name, value=parameter_value_text(body.value), effective_from=date_to_pb(body.effective_from)
    )


def _level(level: str) -> types_pb2.ZoneLevel.ValueType:
    return level_to_pb(ZoneLevel(level))


@router.get("/awards", response_model=AwardPage, summary="Awards granted (and revoked), with their reasons")
async def list_awards(
    backend: Backend,
    caller: Reader,
    paging: Paging,
    year: Annotated[int | None, Query(ge=1990, le=2100)] = None,
    beneficiary_code: str | None = None,
    rule: str | None = None,
    status: Literal["granted", "revoked"] | None = None,
    beneficiary_kind: Annotated[
        Literal["zone", "county", "project"] | None, Query(description="awards of zones, of counties or of projects")
    ] = None,
    page_size: PageSize = 50,
) -> dict[str, Any]:
    reply = await backend.call(
        backend.rewards.ListAwards,
        pb.ListAwardsRequest(
            year=year or 0,
            beneficiary_code=beneficiary_code or "",
            rule=rule or "",
            status=_STATUS_FILTER[status] if status else pb.AWARD_STATUS_UNSPECIFIED,
            beneficiary_kind=beneficiary_kind or "",
            page_size=min(page_size, 1000),
            page_token=paging.after,
        ),
        {**PAGING_QUERY, **query_fields("year", "beneficiary_code", "rule", "status", "beneficiary_kind")},
    )
    return {"items": [award_json(a) for a in reply.awards], "next_page_token": paging.next_token(reply.next_page_token)}


@router.get(
    "/awards/summary",
    response_model=AwardSummary,
    summary="Totals per year, rule and earmark in integer yuan: granted, and revoked separately",
)
async def summarize_awards(
    backend: Backend,
    caller: Reader,
    year: Annotated[int | None, Query(ge=1990, le=2100, description="one year; default every year")] = None,
) -> dict[str, Any]:
    reply = await backend.call(backend.rewards.SummarizeAwards, pb.SummarizeAwardsRequest(year=year or 0))

    def total(t: pb.Total) -> dict[str, int]:
        return {"count": t.count, "amount_yuan": t.amount_yuan}

    return {
        "items": [
            {
                "year": y.year,
                "granted": total(y.granted),
                "revoked": total(y.revoked),
                "rules": [{"rule": r.rule, "granted": total(r.granted), "revoked": total(r.revoked)} for r in y.rules],
                "earmarks": [
                    {"earmark": e.earmark or None, "granted": total(e.granted), "revoked": total(e.revoked)}
                    for e in y.earmarks
                ],
            }
            for y in reply.years
        ]
    }


# After /awards/summary: routes match in order, and "summary" would pass for an award id.
@router.get(
    "/awards/{award_id}",
    response_model=Award,
    summary="One award, granted or revoked, by the id its webhook event and the list give",
)
async def get_award(
    award_id: Annotated[str, Path(max_length=64, description="`award_id` of the list or of an award event")],
    backend: Backend,
    caller: Reader,
) -> dict[str, Any]:
    reply = await backend.call(
        backend.rewards.GetAward, pb.GetAwardRequest(award_id=award_id), {"award_id": ("path", "award_id")}
    )
    return award_json(reply)


@router.post(
    "/awards:simulate",
    response_model=SimulationOut,
    summary=(
        "The awards hypothetical facts would produce, explained as real ones: by default on top of the recorded "
        "facts, against the ledger (what is new, what is already granted, what would be revoked); stores nothing"
    ),
)
async def simulate_awards(body: SimulationIn, backend: Backend, caller: Reader) -> dict[str, Any]:
    request = pb.SimulateAwardsRequest(
        recognitions=[
            pb.RecognitionFact(zone_code=r.zone_code, level=_level(r.level), recognized_on=date_to_pb(r.recognized_on))
            for r in body.recognitions
        ],
        designations=[
            pb.DesignationFact(
                county_code=d.county_code,
                programme=d.programme,
                level=_level(d.level),
                listed_on=date_to_pb(d.listed_on),
            )
            for d in body.designations
        ],
        rankings=[
            pb.RankingFact(
                year=r.year,
                level=_level(r.level),
                ranks=[pb.RankingFact.Entry(zone_code=e.zone_code, rank=e.rank) for e in r.ranks],
            )
            for r in body.rankings
        ],
        talent_projects=[
            pb.TalentProject(
                project_code=p.project_code,
                name=p.name,
                zone_code=p.zone_code,
                talent_level=_level(p.talent_level),
                investment_yuan=p.investment_yuan,
                recruited_on=date_to_pb(p.recruited_on),
            )
            for p in body.talent_projects
        ],
        parameters=[parameter_pb(p) for p in body.parameters],
        recorded_facts=_RECORDED_FACTS[body.recorded_facts],
    )
    reply = await backend.call(backend.rewards.SimulateAwards, request)
    return {
        # An award the ledger holds comes back as the ledger's, with its id: granted (already granted), or revoked
        # (the push would reinstate it as it was); one it would grant has none.
        "awards": [
            {
                **decision_json(a),
                "already_granted": a.status == pb.AWARD_STATUS_GRANTED,
                "reinstated": a.status == pb.AWARD_STATUS_REVOKED,
                "award_id": a.award_id or None,
            }
            for a in reply.awards
        ],
        "refusals": [refusal_json(r) for r in reply.refusals],
        "revocations": [
            {
                "award_id": r.award.award_id,
                **decision_json(r.award),
                "granted_at": iso_time(r.award.granted_at),
                "reason": r.reason,
            }
            for r in reply.revocations
        ],
    }
