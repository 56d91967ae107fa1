"""Enterprises (API.md: Zones, counties, enterprises)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response
from fastapi.responses import JSONResponse
from gaoxin.indicators.v1 import indicators_pb2 as pb
from pydantic import ValidationError

from services.common.convert import date_to_pb
from services.gateway.deps import Backend, Reader, Writer
from services.gateway.idempotency import IdempotencyKey, idempotent
from services.gateway.problems import Problem, validation_problem
from services.gateway.schemas import Enterprise, EnterpriseBatchIn, EnterpriseBatchResult, EnterpriseIn
from services.gateway.wire import iso_date

router = APIRouter(prefix="/v1", tags=["enterprises"])

CreditCodePath = Annotated[
    str, Path(max_length=64, description="unified social credit code", examples=["913207063F0WTCDK3T"])
]


def enterprise_json(enterprise: pb.Enterprise) -> dict[str, Any]:
    certificate = None
    if enterprise.HasField("hitech_certificate"):
        c = enterprise.hitech_certificate
        certificate = {"number": c.number, "issued_on": iso_date(c.issued_on), "valid_until": iso_date(c.valid_until)}
    return {
        "credit_code": enterprise.credit_code,
        "name": enterprise.name,
        "zone_code": enterprise.zone_code,
        "above_scale": enterprise.above_scale,
        "hitech": enterprise.hitech_today,
        "hitech_certificate": certificate,
    }


@router.post(
    "/enterprises:batch",
    response_model=EnterpriseBatchResult,
    summary="Create or update enterprises, all or nothing",
    description=(
        "Each credit code is checked against GB 32100-2015 (both check characters; letters in upper case); a bad "
        'row is a 422 naming it (`["body", "enterprises", i, field]`) and nothing is stored. Every problem of the '
        "batch is in the one answer, malformed rows and the register's findings (unknown zone, duplicate) alike. "
        "A certificate is added to the enterprise's certificates (a renewal keeps the earlier ones, so past dates "
        "stay answerable)."
    ),
    responses={422: {"description": "invalid rows, each listed; nothing was stored"}},
)
async def post_enterprises(
    body: EnterpriseBatchIn, request: Request, backend: Backend, caller: Writer, idempotency_key: IdempotencyKey = None
) -> Response:
    rows = EnterpriseRows.of(body.enterprises)

    async def produce() -> Response:
        message = pb.UpsertEnterprisesRequest(
            enterprises=rows.items, row_indexes=rows.indexes, validate_only=bool(rows.errors)
        )
        try:
            reply = await backend.call(backend.indicators.UpsertEnterprises, message)
        except Problem as problem:
            if problem.status != 422 or not rows.errors:
                raise
            raise rows.problem(problem.errors) from None
        if rows.errors:
            raise rows.problem([])
        return JSONResponse({"created": reply.created, "updated": reply.updated, "unchanged": reply.unchanged})

    if rows.errors and not rows.items:
        raise rows.problem([])
    return await idempotent(request, caller.key_id, idempotency_key, produce)


@dataclass
class EnterpriseRows:
    """A batch's rows: the well-formed ones as messages (with their index in the batch), the others' errors."""

    items: list[pb.Enterprise] = field(default_factory=list)
    indexes: list[int] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def of(cls, rows: list[Any]) -> EnterpriseRows:
        parsed = cls()
        for index, row in enumerate(rows):
            try:
                enterprise = EnterpriseIn.model_validate(row)
            except ValidationError as exc:
                parsed.errors += [
                    {"location": ["body", "enterprises", index, *e["loc"]], "message": e["msg"]} for e in exc.errors()
                ]
                continue
            parsed.items.append(enterprise_message(enterprise))
            parsed.indexes.append(index)
        return parsed

    def problem(self, found_by_register: list[dict[str, Any]]) -> Problem:
        """One 422 with the malformed rows' errors and what the register found in the others, in row order."""
        return validation_problem(sorted([*self.errors, *found_by_register], key=_row_of))


def _row_of(error: dict[str, Any]) -> int:
    location = error["location"]
    return location[2] if len(location) > 2 and isinstance(location[2], int) else -1


def enterprise_message(e: EnterpriseIn) -> pb.Enterprise:
    item = pb.Enterprise(credit_code=e.credit_code, name=e.name, zone_code=e.zone_code, above_scale=e.above_scale)
    if (certificate := e.hitech_certificate) is not None:
        item.hitech_certificate.CopyFrom(
            pb.HitechCertificate(number=certificate.number, issued_on=date_to_pb(certificate.issued_on))
        )
    return item


@router.get("/enterprises/{credit_code}", response_model=Enterprise, summary="An enterprise and its certificate")
async def get_enterprise(credit_code: CreditCodePath, backend: Backend, caller: Reader) -> dict[str, Any]:
    reply = await backend.call(
        backend.indicators.GetEnterprise,
        pb.GetEnterpriseRequest(credit_code=credit_code),
        {"credit_code": ("path", "credit_code")},
    )
    return enterprise_json(reply)
