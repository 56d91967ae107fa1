"""Enterprises (API.md: Zones, counties, enterprises)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Request, Response
from fastapi.responses import JSONResponse
from gaoxin.indicators.v1 import indicators_pb2 as pb

from services.common.convert import date_to_pb
from services.gateway.batch_rows import BatchRows
from services.gateway.deps import Backend, Reader, Writer
from services.gateway.idempotency import IdempotencyKey, idempotent
from services.gateway.json_route import StrictJsonRoute
from services.gateway.schemas import (
    Enterprise,
    EnterpriseBatchIn,
    EnterpriseBatchResult,
    EnterpriseIn,
    documented_body,
)
from services.gateway.wire import iso_date

router = APIRouter(prefix="/v1", tags=["enterprises"], route_class=StrictJsonRoute)

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
    openapi_extra=documented_body(
        EnterpriseBatchIn, "enterprises", EnterpriseIn, "up to 10,000 enterprises, stored all or nothing"
    ),
)
async def post_enterprises(
    body: Annotated[Any, Body()],
    request: Request,
    backend: Backend,
    caller: Writer,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    content_type = request.headers.get("content-type", "")
    _, rows = BatchRows.from_body(
        body, EnterpriseBatchIn, "enterprises", EnterpriseIn, enterprise_message, content_type
    )

    async def produce() -> Response:
        message = pb.UpsertEnterprisesRequest(
            enterprises=rows.messages, row_indexes=rows.indexes, validate_only=rows.check_only
        )
        reply = await rows.send(lambda: backend.call(backend.indicators.UpsertEnterprises, message))
        return JSONResponse({"created": reply.created, "updated": reply.updated, "unchanged": reply.unchanged})

    return await idempotent(request, caller.key_id, idempotency_key, produce)


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
