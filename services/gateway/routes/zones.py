"""Counties and zones (API.md: Zones, counties, enterprises)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import JSONResponse
from gaoxin.indicators.v1 import indicators_pb2 as pb
from gaoxin.types.v1 import types_pb2

from services.common.convert import ZoneLevel, date_to_pb, level_from_pb, level_to_pb
from services.gateway.backends import PAGING_QUERY, query_fields
from services.gateway.deps import Backend, Reader, Writer
from services.gateway.idempotency import IdempotencyKey, idempotent
from services.gateway.json_route import StrictJsonRoute
from services.gateway.page_tokens import Paging
from services.gateway.schemas import (
    County,
    CountyCode,
    CountyDetail,
    CountyIn,
    DesignationIn,
    DesignationRecorded,
    IsoDate,
    PageSize,
    RecognitionIn,
    RecognitionRecorded,
    Zone,
    ZoneCode,
    ZoneIn,
    ZonePage,
)
from services.gateway.wire import iso_date, level_name

router = APIRouter(prefix="/v1", tags=["zones"], route_class=StrictJsonRoute)

ZONE_PATH = {"zone_code": ("path", "zone_code")}
COUNTY_PATH = {"county_code": ("path", "county_code")}
ZoneCodePath = Annotated[ZoneCode, Path(description="the zone's code", examples=["LYG-HTZ"])]
CountyCodePath = Annotated[CountyCode, Path(description="6-digit division code", examples=["320706"])]


def zone_json(zone: pb.Zone) -> dict[str, Any]:
    level = level_from_pb(zone.level)
    return {
        "zone_code": zone.zone_code,
        "name": zone.name,
        "county_code": zone.county_code,
        "parks": list(zone.parks),
        "level": level.value if level else None,
        "recognitions": [
            {"level": level_name(r.level), "recognized_on": iso_date(r.recognized_on)} for r in zone.recognitions
        ],
    }


def county_json(county: pb.CountyDetail) -> dict[str, Any]:
    return {
        "county_code": county.county.county_code,
        "name": county.county.name,
        "designations": [
            {"programme": d.programme, "level": level_name(d.level), "listed_on": iso_date(d.listed_on)}
            for d in county.designations
        ],
    }


@router.put(
    "/counties/{county_code}",
    response_model=County,
    responses={201: {"model": County, "description": "created"}},
    summary="Create or rename a county/district",
)
async def put_county(
    county_code: CountyCodePath,
    body: CountyIn,
    request: Request,
    backend: Backend,
    caller: Writer,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    async def produce() -> Response:
        reply = await backend.call(
            backend.indicators.UpsertCounty,
            pb.UpsertCountyRequest(county=pb.County(county_code=county_code, name=body.name)),
            COUNTY_PATH,
        )
        return JSONResponse(
            {"county_code": reply.county.county_code, "name": reply.county.name},
            status_code=201 if reply.created else 200,
        )

    return await idempotent(request, caller.key_id, idempotency_key, produce)


@router.get("/counties/{county_code}", response_model=CountyDetail, summary="A county/district and its designations")
async def get_county(county_code: CountyCodePath, backend: Backend, caller: Reader) -> dict[str, Any]:
    reply = await backend.call(backend.indicators.GetCounty, pb.GetCountyRequest(county_code=county_code), COUNTY_PATH)
    return county_json(reply)


@router.post(
    "/counties/{county_code}/designations",
    response_model=DesignationRecorded,
    status_code=201,
    responses={
        201: {
            "description": (
                "recorded; also the answer to the same fact pushed again (API.md: 201), which records nothing more "
                "and says so with `created: false`"
            )
        }
    },
    summary="List a county in a pilot programme (创新型试点, 知识产权试点/示范)",
)
async def post_designation(
    county_code: CountyCodePath,
    body: DesignationIn,
    request: Request,
    backend: Backend,
    caller: Writer,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    async def produce() -> Response:
        reply = await backend.call(
            backend.indicators.RecordDesignation,
            pb.RecordDesignationRequest(
                county_code=county_code,
                designation=pb.Designation(
                    programme=body.programme,
                    level=level_to_pb(ZoneLevel(body.level)),
                    listed_on=date_to_pb(body.listed_on),
                ),
            ),
            COUNTY_PATH,
        )
        payload = {
            "county_code": county_code,
            "programme": body.programme,
            "level": body.level,
            "listed_on": body.listed_on.isoformat(),
            "created": reply.created,
            "county": county_json(reply.county),
        }
        # 201 either way, as the contract lists: the fact is recorded as asked, and `created` tells which it was.
        return JSONResponse(payload, status_code=201)

    return await idempotent(request, caller.key_id, idempotency_key, produce)


@router.put(
    "/zones/{zone_code}",
    response_model=Zone,
    responses={201: {"model": Zone, "description": "created"}},
    summary="Create or update a zone",
)
async def put_zone(
    zone_code: ZoneCodePath,
    body: ZoneIn,
    request: Request,
    backend: Backend,
    caller: Writer,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    async def produce() -> Response:
        reply = await backend.call(
            backend.indicators.UpsertZone,
            pb.UpsertZoneRequest(
                zone_code=zone_code,
                name=body.name,
                county_code=body.county_code,
                parks=body.parks or [],
                keep_parks=body.parks is None,
            ),
            ZONE_PATH,
        )
        return JSONResponse(zone_json(reply.zone), status_code=201 if reply.created else 200)

    return await idempotent(request, caller.key_id, idempotency_key, produce)


@router.post(
    "/zones/{zone_code}/recognitions",
    response_model=RecognitionRecorded,
    status_code=201,
    responses={
        201: {
            "description": (
                "recorded; also the answer to the same fact pushed again (API.md: 201), which records nothing more "
                "and says so with `created: false`"
            )
        }
    },
    summary="Record a recognition (认定) of a zone at a level",
)
async def post_recognition(
    zone_code: ZoneCodePath,
    body: RecognitionIn,
    request: Request,
    backend: Backend,
    caller: Writer,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    async def produce() -> Response:
        reply = await backend.call(
            backend.indicators.RecordRecognition,
            pb.RecordRecognitionRequest(
                zone_code=zone_code,
                recognition=types_pb2.Recognition(
                    level=level_to_pb(ZoneLevel(body.level)), recognized_on=date_to_pb(body.recognized_on)
                ),
            ),
            ZONE_PATH,
        )
        payload = {
            "zone_code": zone_code,
            "level": body.level,
            "recognized_on": body.recognized_on.isoformat(),
            "created": reply.created,
            "zone": zone_json(reply.zone),
        }
        # 201 either way, as the contract lists: the fact is recorded as asked, and `created` tells which it was.
        return JSONResponse(payload, status_code=201)

    return await idempotent(request, caller.key_id, idempotency_key, produce)


@router.get("/zones/{zone_code}", response_model=Zone, summary="A zone, with its level and recognitions")
async def get_zone(
    zone_code: ZoneCodePath,
    backend: Backend,
    caller: Reader,
    as_of: Annotated[IsoDate | None, Query(description="level on this date; default today")] = None,
) -> dict[str, Any]:
    request = pb.GetZoneRequest(zone_code=zone_code)
    if as_of:
        request.as_of.CopyFrom(date_to_pb(as_of))
    return zone_json(await backend.call(backend.indicators.GetZone, request, ZONE_PATH))


@router.get("/zones", response_model=ZonePage, summary="Zones, by code")
async def list_zones(
    backend: Backend,
    caller: Reader,
    paging: Paging,
    page_size: PageSize = 50,
    as_of: IsoDate | None = None,
) -> dict[str, Any]:
    request = pb.ListZonesRequest(page_size=min(page_size, 1000), page_token=paging.after)
    if as_of:
        request.as_of.CopyFrom(date_to_pb(as_of))
    reply = await backend.call(backend.indicators.ListZones, request, {**PAGING_QUERY, **query_fields("as_of")})
    return {"items": [zone_json(z) for z in reply.zones], "next_page_token": paging.next_token(reply.next_page_token)}
