"""Reward rules and their parameters (API.md: Rewards): what each rule pays, under which versions, and why not."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse
from gaoxin.rewards.v1 import rewards_pb2 as pb

from services.common.convert import date_to_pb
from services.gateway.deps import Admin, Backend, Reader
from services.gateway.idempotency import IdempotencyKey, idempotent
from services.gateway.json_route import StrictJsonRoute
from services.gateway.routes.awards import parameter_pb
from services.gateway.schemas import IsoDate, ParameterAdded, ParameterIn, RewardRules
from services.gateway.wire import clause_json, iso_time, parameter_value, pb_date

router = APIRouter(prefix="/v1", tags=["rewards"], route_class=StrictJsonRoute)


def version_json(version: pb.ParameterVersion) -> dict[str, Any]:
    return {
        "name": version.name,
        "value": parameter_value(version.value, version.kind),
        "version": version.version,
        "effective_from": pb_date(version.effective_from).isoformat(),
        "source": version.source,
        "recorded_at": iso_time(version.recorded_at) if version.HasField("recorded_at") else None,
    }


def parameter_json(parameter: pb.Parameter) -> dict[str, Any]:
    return {
        "name": parameter.name,
        "kind": parameter.kind,
        "description": parameter.description,
        "clause": clause_json(parameter.clause),
        "choices": list(parameter.choices),
        "open_point": parameter.open_point or None,
        "versions": [version_json(v) for v in parameter.versions],
        "in_force": version_json(parameter.in_force) if parameter.has_value_in_force else None,
    }


@router.get(
    "/reward-rules",
    response_model=RewardRules,
    summary="Every reward rule with its clause, its parameters (all versions) and whether it can grant",
)
async def list_reward_rules(
    backend: Backend,
    caller: Reader,
    as_of: Annotated[IsoDate | None, Query(description="which versions are in force; default today in China")] = None,
) -> dict[str, Any]:
    request = pb.ListRewardRulesRequest()
    if as_of:
        request.as_of.CopyFrom(date_to_pb(as_of))
    reply = await backend.call(backend.rewards.ListRewardRules, request, {"as_of": ("query", "as_of")})
    return {
        "as_of": pb_date(reply.as_of),
        "items": [
            {
                "rule": r.rule,
                "title": r.title,
                "beneficiary_kind": r.beneficiary_kind,
                "clause": clause_json(r.clause),
                "condition": r.condition,
                "basis_key": r.basis_key,
                "fact_date": r.fact_date,
                "active": r.active,
                "inactive_reasons": list(r.inactive_reasons),
                "triggers": list(r.triggers),
                "parameters": [parameter_json(p) for p in r.parameters],
            }
            for r in reply.rules
        ],
    }


@router.post(
    "/reward-parameters",
    response_model=ParameterAdded,
    status_code=201,
    summary="A new version of a reward parameter, effective from a date (scope admin)",
    description=(
        "Awards already granted keep the versions they used. Facts that had no award are decided again at once, "
        "e.g. talent projects recruited on or after `effective_from` once a rate is set."
    ),
)
async def add_reward_parameter(
    body: ParameterIn, request: Request, backend: Backend, caller: Admin, idempotency_key: IdempotencyKey = None
) -> Response:
    async def produce() -> Response:
        reply = await backend.call(
            backend.rewards.AddRewardParameter, pb.AddRewardParameterRequest(parameter=parameter_pb(body))
        )
        return JSONResponse({**version_json(reply.parameter), "awards_granted": reply.awards_granted}, status_code=201)

    return await idempotent(request, caller.key_id, idempotency_key, produce)
