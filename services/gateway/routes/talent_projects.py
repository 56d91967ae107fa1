"""Talent start-up projects (clause 五; API.md: Rewards), owned by the rewards service."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from gaoxin.rewards.v1 import rewards_pb2 as pb

from services.common.convert import ZoneLevel, date_to_pb, level_from_pb, level_to_pb, today_in_china
from services.gateway.deps import Backend, Reader, Writer
from services.gateway.idempotency import IdempotencyKey, idempotent
from services.gateway.json_route import StrictJsonRoute
from services.gateway.problems import Problem
from services.gateway.routes.awards import award_json, refusal_json
from services.gateway.schemas import ProjectCode, TalentProjectDetail, TalentProjectIn, TalentProjectRecorded
from services.gateway.wire import iso_time, pb_date

router = APIRouter(prefix="/v1", tags=["rewards"], route_class=StrictJsonRoute)

ProjectCodePath = Annotated[ProjectCode, Path(description="the project's code", examples=["TP-2023-001"])]


def detail_json(detail: pb.TalentProjectDetail) -> dict[str, Any]:
    project = detail.project
    level = level_from_pb(project.talent_level)
    return {
        "project_code": project.project_code,
        "name": project.name,
        "zone_code": project.zone_code,
        "talent_level": level.value if level else None,
        "investment_yuan": project.investment_yuan,
        "recruited_on": pb_date(project.recruited_on).isoformat(),
        "awards": [award_json(a) for a in detail.awards],
        "refusals": [refusal_json(r) for r in detail.refusals],
        "recorded_at": iso_time(detail.recorded_at),
        "updated_at": iso_time(detail.updated_at),
    }


@router.post(
    "/talent-projects",
    response_model=TalentProjectRecorded,
    status_code=201,
    responses={200: {"model": TalentProjectRecorded, "description": "already recorded: unchanged, or corrected"}},
    summary="Record a recruited talent start-up project (clause 五); its award follows at once",
    description=(
        "The zone must be registered. The award is investment × `talent_project.rate`, rounded to whole yuan half "
        "up; until a rate is in force on the recruitment date the project has no award and `refusals` says why. "
        "The same `project_code` with other facts corrects the project: an award whose basis changed is revoked "
        "and the corrected facts granted anew; corrected back, the first award is reinstated as it was (same "
        "`award_id`, amount and rate version)."
    ),
)
async def record_talent_project(
    body: TalentProjectIn, request: Request, backend: Backend, caller: Writer, idempotency_key: IdempotencyKey = None
) -> Response:
    today = today_in_china()
    if body.recruited_on > today:
        raise Problem(
            422,
            "1 invalid field(s)",
            "validation_failed",
            [
                {
                    "location": ["body", "recruited_on"],
                    "message": f"must not be in the future (today is {today.isoformat()} in China)",
                }
            ],
        )

    async def produce() -> Response:
        reply = await backend.call(
            backend.rewards.RecordTalentProject,
            pb.RecordTalentProjectRequest(
                project=pb.TalentProject(
                    project_code=body.project_code,
                    name=body.name,
                    zone_code=body.zone_code,
                    talent_level=level_to_pb(ZoneLevel(body.talent_level)),
                    investment_yuan=body.investment_yuan,
                    recruited_on=date_to_pb(body.recruited_on),
                )
            ),
        )
        payload = {**detail_json(reply.project), "created": reply.created, "changed": reply.changed}
        return JSONResponse(jsonable_encoder(payload), status_code=201 if reply.created else 200)

    return await idempotent(request, caller.key_id, idempotency_key, produce)


@router.get(
    "/talent-projects/{project_code}",
    response_model=TalentProjectDetail,
    summary="A talent start-up project, its awards, and why it has none if it has none",
)
async def get_talent_project(project_code: ProjectCodePath, backend: Backend, caller: Reader) -> dict[str, Any]:
    reply = await backend.call(
        backend.rewards.GetTalentProject,
        pb.GetTalentProjectRequest(project_code=project_code),
        {"project_code": ("path", "project_code")},
    )
    return detail_json(reply)
