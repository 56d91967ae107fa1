"""The indicator catalogue, batches of values, and a zone's indicators against its targets (API.md: Indicators)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import JSONResponse
from gaoxin.indicators.v1 import indicators_pb2 as pb

from services.gateway import keyset
from services.gateway.backends import INGEST_DEADLINE_SECONDS
from services.gateway.deps import Backend, Reader, Writer
from services.gateway.idempotency import IdempotencyKey, idempotent
from services.gateway.json_route import StrictJsonRoute
from services.gateway.page_tokens import Paging
from services.gateway.problems import Problem
from services.gateway.schemas import (
    IndicatorList,
    PageSize,
    ValueBatchResult,
    ValueRevisions,
    ZoneCode,
    ZoneIndicators,
)
from services.gateway.wire import clause_json, is_json, iso_date, iso_time, level_name, or_none, sent_media_type

router = APIRouter(prefix="/v1", tags=["indicators"], route_class=StrictJsonRoute)

ZONE_PATH = {"zone_code": ("path", "zone_code"), "year": ("query", "year"), "indicator": ("path", "indicator")}
ZoneCodePath = Annotated[ZoneCode, Path(description="the zone's code", examples=["LYG-HTZ"])]
# The years the indicators service keeps values for: outside them a 422 at ["query", "year"].
Year = Annotated[int, Query(ge=2000, le=2100, description="the year of the values", examples=[2024])]

# What the indicators service accepts as a value's text (services/indicators/domain/values.py): plain notation
# with at most 15 significant digits before the point (leading zeros aside) and 6 places after it (trailing zeros
# aside); or exponent notation, whose limits apply to the number and cannot be put in a pattern; or a negative
# zero ("-0", "-0.0"), which is 0.
VALUE_PATTERN = (
    r"^\s*(\+?(0*[0-9]{1,15}(\.[0-9]{0,6}0*)?|\.[0-9]{1,6}0*|([0-9]+(\.[0-9]*)?|\.[0-9]+)[eE][+-]?[0-9]+)"
    r"|-(0+(\.0*)?|\.0+)([eE][+-]?[0-9]+)?)\s*$"
)
_VALUE_SCHEMA = {
    "type": "object",
    "required": ["zone_code", "indicator", "year", "value"],
    "additionalProperties": False,
    "properties": {
        "zone_code": {"type": "string", "examples": ["LYG-HTZ"]},
        "indicator": {
            "type": "string",
            "enum": [
                "rd_expenditure",
                "gdp",
                "hitech_industry_output",
                "above_scale_industrial_output",
                "hitech_enterprises",
                "above_scale_enterprises",
            ],
        },
        "year": {"type": "integer", "minimum": 2000, "maximum": 2100},
        "value": {
            "oneOf": [
                {"type": "number", "minimum": 0, "exclusiveMaximum": 10**15},
                {"type": "string", "pattern": VALUE_PATTERN},
            ],
            "description": (
                "万元 or a count (whole number), below 10^15 (at most 15 digits before the decimal point) and with "
                "at most 6 decimal places (trailing zeros aside); a string keeps exactness. Written with an "
                "exponent (`1.5e3`) the same limits apply to the number it denotes."
            ),
        },
        "source": {"type": ["string", "null"], "maxLength": 200, "description": "default: the pushing API key"},
    },
}
BATCH_BODY = {
    "required": True,
    "description": (
        "Up to 200,000 values, validated whole and stored all or nothing. JSON errors are located "
        '`["body", "values", i, field]`; CSV errors `["body", "line", n, field]` with n the line of the file '
        "(header = line 1). At most 1,000 errors are listed; the detail says how many more there are."
    ),
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "required": ["values"],
                "additionalProperties": False,
                "properties": {"values": {"type": "array", "items": _VALUE_SCHEMA, "minItems": 1, "maxItems": 200_000}},
            }
        },
        "text/csv": {
            "schema": {"type": "string"},
            "example": "zone_code,indicator,year,value,source\nLYG-HTZ,gdp,2024,5123456.7,统计年报\n",
        },
    },
}


def target_json(target: pb.Target) -> dict[str, Any]:
    return {
        "level": level_name(target.level),
        "op": target.op,
        "threshold": target.threshold,
        "year": target.year,
        "clause": clause_json(target.clause),
        "version": target.version,
        "effective_from": iso_date(target.effective_from),
    }


def indicator_json(indicator: pb.Indicator) -> dict[str, Any]:
    return {
        "code": indicator.code,
        "name": {"zh": indicator.name_zh, "en": indicator.name_en},
        "unit": indicator.unit,
        "kind": indicator.kind,
        "formula": or_none(indicator.formula),
        "numerator": or_none(indicator.numerator),
        "denominator": or_none(indicator.denominator),
        "targets": [target_json(t) for t in indicator.targets],
        "clause": clause_json(indicator.clause),
    }


@router.get(
    "/indicators",
    response_model=IndicatorList,
    summary="The indicator catalogue with its 2025 targets",
    description="In catalogue order (raw indicators first, then the ratios derived from them), paged as every list.",
)
async def list_indicators(backend: Backend, caller: Reader, paging: Paging, page_size: PageSize = 50) -> dict[str, Any]:
    reply = await backend.call(backend.indicators.ListIndicators, pb.ListIndicatorsRequest())
    # The catalogue is small and answered whole: paged here, by (position in the catalogue, code).
    page, token = keyset.page_of_whole(
        list(enumerate(reply.indicators)), page_size, paging.after, lambda i: (i[0], i[1].code), (int, str)
    )
    return {"items": [indicator_json(i) for _, i in page], "next_page_token": paging.next_token(token)}


def _payload(request: Request) -> str:
    content_type = request.headers.get("content-type", "")
    media_type, _, params = content_type.partition(";")
    media_type = media_type.strip().lower()
    charset = params.partition("charset=")[2].strip().strip('"').lower()
    if media_type == "text/csv":
        if charset and charset not in ("utf-8", "utf8"):
            raise Problem(415, f"CSV must be UTF-8, not {charset}", "unsupported_media_type")
        return "csv"
    if is_json(media_type):
        return "json"
    raise Problem(
        415,
        f"send the values as application/json or text/csv (the request has {sent_media_type(content_type)})",
        "unsupported_media_type",
    )


@router.post(
    "/indicator-values:batch",
    response_model=ValueBatchResult,
    summary="Push a batch of indicator values (JSON or CSV), all or nothing",
    description=(
        "A value for a (zone, indicator, year) already held replaces it and keeps it as a revision; the same value "
        "again creates no revision. One `gaoxin.indicators.indicator_values_accepted.v1` event per batch that "
        "changed anything."
    ),
    openapi_extra={"requestBody": BATCH_BODY},
    responses={
        400: {"description": "the body cannot be read (not UTF-8, not JSON, broken CSV quoting)"},
        413: {"description": "body larger than the gateway accepts"},
        415: {"description": "neither application/json nor UTF-8 text/csv"},
        422: {"description": "invalid rows, each listed; nothing was stored"},
    },
)
async def post_values(
    request: Request, backend: Backend, caller: Writer, idempotency_key: IdempotencyKey = None
) -> Response:
    payload = _payload(request)

    async def produce() -> Response:
        body = await request.body()
        message = pb.IngestIndicatorValuesRequest(default_source=f"api-key:{caller.key_id}")
        if payload == "csv":
            message.csv = body
        else:
            message.json = body
        reply = await backend.call(
            backend.indicators.IngestIndicatorValues, message, deadline_seconds=INGEST_DEADLINE_SECONDS
        )
        return JSONResponse(
            {
                "accepted": reply.accepted,
                "created": reply.created,
                "revised": reply.revised,
                "unchanged": reply.unchanged,
                "batch_id": reply.batch_id,
            }
        )

    return await idempotent(request, caller.key_id, idempotency_key, produce)


@router.get(
    "/zones/{zone_code}/indicators",
    response_model=ZoneIndicators,
    summary="A zone's values for a year, its derived ratios, and the clause 三 targets they meet or not",
)
async def get_zone_indicators(zone_code: ZoneCodePath, year: Year, backend: Backend, caller: Reader) -> dict[str, Any]:
    reply = await backend.call(
        backend.indicators.GetZoneIndicators, pb.GetZoneIndicatorsRequest(zone_code=zone_code, year=year), ZONE_PATH
    )
    return {
        "zone_code": reply.zone_code,
        "year": reply.year,
        "level": level_name(reply.level),
        "raw": [
            {
                "indicator": r.indicator,
                "unit": r.unit,
                "value": or_none(r.value),
                "source": or_none(r.source),
                "recorded_at": iso_time(r.recorded_at) if r.HasField("recorded_at") else None,
                "revisions": r.revisions,
                "batch_id": or_none(r.batch_id),
            }
            for r in reply.raw
        ],
        "derived": [
            {
                "indicator": d.indicator,
                "value": d.value if d.computable else None,
                "target": target_json(d.target) if d.HasField("target") else None,
                "status": d.status,
                "explanation": d.explanation,
            }
            for d in reply.derived
        ],
    }


@router.get(
    "/zones/{zone_code}/indicators/{indicator}/revisions",
    response_model=ValueRevisions,
    summary="Every version of one value, with its source and time",
)
async def get_value_revisions(
    zone_code: ZoneCodePath,
    indicator: Annotated[str, Path(max_length=64, examples=["gdp"])],
    year: Year,
    backend: Backend,
    caller: Reader,
) -> dict[str, Any]:
    reply = await backend.call(
        backend.indicators.ListValueRevisions,
        pb.ListValueRevisionsRequest(zone_code=zone_code, indicator=indicator, year=year),
        ZONE_PATH,
    )
    return {
        "zone_code": reply.zone_code,
        "indicator": reply.indicator,
        "year": reply.year,
        "versions": [
            {
                "version": v.version,
                "value": v.value,
                "source": v.source,
                "batch_id": v.batch_id,
                "recorded_at": iso_time(v.recorded_at),
                "superseded_at": iso_time(v.superseded_at) if v.HasField("superseded_at") else None,
            }
            for v in reply.versions
        ],
    }
