"""Talent checks of clause 五 (API.md: Talent): each answer is a decision, stored and readable by its id.

A check is a POST that records a decision, so it honours Idempotency-Key (a retry replays the first decision
rather than recording a second). The answer is the decision itself, whose address is in Content-Location.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response
from fastapi.responses import JSONResponse
from gaoxin.talent.v1 import talent_pb2 as pb

from services.common.convert import date_to_pb
from services.gateway.backends import Backends
from services.gateway.deps import Backend, Checker, Principal, TalentReader
from services.gateway.idempotency import IdempotencyKey, idempotent
from services.gateway.json_route import StrictJsonRoute
from services.gateway.schemas import (
    ApplicantIdentifiers,
    RdInstitutionRepresentativeCheckIn,
    RdInstitutionRepresentativeDecision,
    RVisaCheckIn,
    RVisaDecision,
    TalentDecision,
    TalentRules,
    WorkPermitAgeCheckIn,
    WorkPermitAgeDecision,
)
from services.gateway.wire import clause_json, iso_date, iso_time, or_none

router = APIRouter(prefix="/v1/talent", tags=["talent"], route_class=StrictJsonRoute)

DECISION_PATH = {"decision_id": ("path", "decision_id")}
CHECK_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "headers": {
            "Content-Location": {
                "description": "where the recorded decision is readable: /v1/talent/decisions/{decision_id}",
                "schema": {"type": "string"},
            }
        }
    },
    422: {"description": "invalid input, each field named; nothing is recorded"},
    503: {"description": "a service the check needs is unavailable; nothing is recorded, retry later"},
}


def decision_json(decision: pb.Decision) -> dict[str, Any]:
    body: dict[str, Any] = {
        "decision_id": decision.decision_id,
        "check": decision.check,
        "eligible": decision.eligible,
        "outcome": decision.outcome,
        "conditions": [
            {
                "name": c.name,
                "met": c.met,
                "detail": c.detail,
                # The shape of clause_json with the words this condition rests on in place of the whole text.
                "clause": {
                    "id": c.clause.number,
                    "label": c.clause.label,
                    "quote": c.quote,
                    "url": f"/v1/policy/clauses/{c.clause.number}",
                },
            }
            for c in decision.conditions
        ],
        "explanation": decision.explanation,
    }
    result = decision.WhichOneof("result")
    if result == "work_permit_age":
        body |= {"age": decision.work_permit_age.age, "max_age": decision.work_permit_age.max_age}
    elif result == "r_visa":
        visa = decision.r_visa
        body |= {
            "max_validity_years": visa.max_validity_years or None,
            "max_stay_days": visa.max_stay_days or None,
            "apply_at": or_none(visa.apply_at),
        }
    elif result == "rd_institution_representative":
        rights = decision.rd_institution_representative
        body |= {
            "may_be_legal_representative": rights.may_be_legal_representative,
            "may_lead_government_research_projects": rights.may_lead_government_research_projects,
            "may_receive_related_funding": rights.may_receive_related_funding,
        }
    return body | {
        "rule_set_version": decision.rule_set_version,
        "decided_on": iso_date(decision.decided_on),
        "decided_at": iso_time(decision.decided_at),
        "subject": or_none(decision.subject),
        "subject_basis": or_none(decision.subject_basis),
        # Sorted: a protobuf map has no order of its own, and its iteration order differs from one start to the next.
        "inputs": dict(sorted(decision.inputs.items())),
        "requested_by": decision.requested_by,
    }


def _decision_response(decision: pb.Decision) -> JSONResponse:
    return JSONResponse(
        decision_json(decision), headers={"Content-Location": f"/v1/talent/decisions/{decision.decision_id}"}
    )


def _applicant(body: ApplicantIdentifiers) -> pb.Applicant:
    return pb.Applicant(name=body.name or "", passport_number=body.passport_number or "")


async def _check(
    request: Request,
    backend: Backends,
    caller: Principal,
    idempotency_key: str | None,
    method: Callable[..., Awaitable[pb.Decision]],
    message: Any,
) -> Response:
    """Ask the talent service, answer with the decision it recorded; a repeated Idempotency-Key replays it."""

    async def produce() -> Response:
        return _decision_response(await backend.call(method, message))

    return await idempotent(request, caller.key_id, idempotency_key, produce)


@router.post(
    "/work-permit-age:check",
    response_model=WorkPermitAgeDecision,
    responses=CHECK_RESPONSES,
    summary="May this foreign expert apply for a work permit at this age (up to 65 under clause 五)?",
)
async def check_work_permit_age(
    body: WorkPermitAgeCheckIn,
    request: Request,
    backend: Backend,
    caller: Checker,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    message = pb.CheckWorkPermitAgeRequest(
        nationality=body.nationality,
        birth_date=date_to_pb(body.birth_date),
        application_date=date_to_pb(body.application_date),
        talent_category=body.talent_category,
        employer_credit_code=body.employer_credit_code,
        approval_authority_level=body.approval_authority_level,
        applicant=_applicant(body),
        requested_by=caller.key_id,
    )
    return await _check(request, backend, caller, idempotency_key, backend.talent.CheckWorkPermitAge, message)


@router.post(
    "/r-visa:check",
    response_model=RVisaDecision,
    responses=CHECK_RESPONSES,
    summary="May this foreign talent apply abroad for a 10-year R visa with a provincial confirmation letter?",
)
async def check_r_visa(
    body: RVisaCheckIn, request: Request, backend: Backend, caller: Checker, idempotency_key: IdempotencyKey = None
) -> Response:
    message = pb.CheckRVisaRequest(
        nationality=body.nationality,
        talent_type=body.talent_type,
        applicant=_applicant(body),
        requested_by=caller.key_id,
    )
    if (letter := body.confirmation_letter) is not None:
        message.confirmation_letter.CopyFrom(
            pb.ConfirmationLetter(
                issuer_level=letter.issuer_level, issued_on=date_to_pb(letter.issued_on), number=letter.number or ""
            )
        )
    return await _check(request, backend, caller, idempotency_key, backend.talent.CheckRVisa, message)


@router.post(
    "/rd-institution-representative:check",
    response_model=RdInstitutionRepresentativeDecision,
    responses=CHECK_RESPONSES,
    summary="May this permanent resident head a new R&D institution, lead government projects, receive funding?",
)
async def check_rd_institution_representative(
    body: RdInstitutionRepresentativeCheckIn,
    request: Request,
    backend: Backend,
    caller: Checker,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    message = pb.CheckRdInstitutionRepresentativeRequest(
        nationality=body.nationality,
        permanent_residence_card=body.permanent_residence_card,
        applicant=_applicant(body),
        requested_by=caller.key_id,
    )
    return await _check(
        request, backend, caller, idempotency_key, backend.talent.CheckRdInstitutionRepresentative, message
    )


@router.get(
    "/decisions/{decision_id}",
    response_model=TalentDecision,
    summary="A recorded talent decision (scope `talent:check` or `read`; no personal value in clear)",
)
async def get_decision(
    decision_id: Annotated[str, Path(max_length=64, description="from the check's answer")],
    backend: Backend,
    caller: TalentReader,
) -> Response:
    reply = await backend.call(
        backend.talent.GetDecision, pb.GetDecisionRequest(decision_id=decision_id), DECISION_PATH
    )
    return JSONResponse(decision_json(reply))


@router.get("/rules", response_model=TalentRules, summary="The clause 五 rules and every version of their parameters")
async def list_rules(backend: Backend, caller: TalentReader) -> dict[str, Any]:
    reply = await backend.call(backend.talent.ListRules, pb.ListRulesRequest())
    return {
        "rules": [
            {
                "rule": r.rule,
                "summary": r.summary,
                "quote": r.quote,
                "clause": clause_json(r.clause),
            }
            for r in reply.rules
        ],
        "rule_set_version": reply.rule_set_version,
        "rule_sets": [
            {"version": s.version, "effective_from": iso_date(s.effective_from), "parameters": dict(s.parameters)}
            for s in reply.rule_sets
        ],
    }
