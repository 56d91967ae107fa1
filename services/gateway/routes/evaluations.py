"""Official rankings, rank histories and clause 二十六's consequences (API.md: Evaluations)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Request, Response
from fastapi.responses import JSONResponse
from gaoxin.indicators.v1 import indicators_pb2 as pb

from services.common.convert import ZoneLevel, level_to_pb
from services.gateway import keyset
from services.gateway.batch_rows import BatchRows
from services.gateway.deps import Backend, Reader, Writer
from services.gateway.idempotency import IdempotencyKey, idempotent
from services.gateway.json_route import StrictJsonRoute
from services.gateway.page_tokens import Paging
from services.gateway.schemas import (
    Consequences,
    Level,
    PageSize,
    RankHistory,
    RankIn,
    Ranking,
    RankingIn,
    RankingPublished,
    ZoneCode,
    documented_body,
)
from services.gateway.wire import clause_json, iso_time, level_name, or_none

router = APIRouter(prefix="/v1", tags=["evaluations"], route_class=StrictJsonRoute)

RANKING_PATH = {"year": ("path", "year"), "level": ("path", "level")}
# The years the indicators service keeps (2000-2100, as for values): outside them a 422 at ["path", "year"].
YearPath = Annotated[int, Path(ge=2000, le=2100, description="the evaluated year", examples=[2024])]
LevelPath = Annotated[
    Level, Path(description="national zones are ranked among national zones, provincial among provincial")
]
NORMALISATION = (
    "min-max per indicator across the ranked zones that have all three ratios, (x - min) / (max - min), 1 when all "
    "are equal; score = 100 × Σ weight × normalised, rounded half-even to 2 places; null when a ratio is missing"
)


def ranking_json(ranking: pb.Ranking) -> dict[str, Any]:
    return {
        "year": ranking.year,
        "level": level_name(ranking.level),
        "field_size": ranking.field_size,
        "published_at": iso_time(ranking.published_at),
        "composite": {
            "weight_set_version": ranking.weight_set_version,
            "weights": dict(sorted(ranking.weights.items())),
            "normalisation": NORMALISATION,
        },
        "ranks": [
            {
                "zone_code": e.zone_code,
                "rank": e.rank,
                "historical_best": e.historical_best if e.has_historical_best else None,
                "advance": e.advance if e.has_historical_best else None,
                "composite_score": or_none(e.composite_score),
            }
            for e in ranking.entries
        ],
        "clause": clause_json(ranking.clause),
    }


@router.put(
    "/evaluations/{year}/rankings/{level}",
    response_model=RankingPublished,
    responses={201: {"model": RankingPublished, "description": "the first ranking of this year and level"}},
    summary="Push the official annual ranking of a level (replaces an earlier one)",
    description=(
        "Ranks are absolute positions, positive and unique; each zone must be registered and of this level on "
        "31 December of the year. A ranking is dated 31 December of its year: a year that has not ended in China "
        "(31 December after today) is refused with 422 at the path's `year`. 200 when it replaced an earlier "
        "ranking or was identical to it (then nothing changes and no event is published); the event lists zones "
        "dropped by a replacement. Every answer cites clause 二十五."
    ),
    openapi_extra=documented_body(
        RankingIn, "ranks", RankIn, "the official ranking: every rank of this year and level"
    ),
)
async def put_ranking(
    year: YearPath,
    level: LevelPath,
    body: Annotated[Any, Body()],
    request: Request,
    backend: Backend,
    caller: Writer,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    ranking, rows = BatchRows.from_body(
        body,
        RankingIn,
        "ranks",
        RankIn,
        lambda r: pb.RankEntry(zone_code=r.zone_code, rank=r.rank),
        request.headers.get("content-type", ""),
    )

    async def produce() -> Response:
        message = pb.PutRankingRequest(
            year=year,
            level=level_to_pb(ZoneLevel(level)),
            ranks=rows.messages,
            field_size=(ranking.field_size or 0) if ranking is not None else 0,
            validate_only=rows.check_only,
            row_indexes=rows.indexes,
        )
        reply = await rows.send(lambda: backend.call(backend.indicators.PutRanking, message, RANKING_PATH))
        payload = {
            **ranking_json(reply.ranking),
            "replaced": reply.replaced,
            "changed": reply.changed,
            "dropped_zone_codes": list(reply.dropped_zone_codes),
        }
        first = reply.changed and not reply.replaced
        return JSONResponse(payload, status_code=201 if first else 200)

    return await idempotent(request, caller.key_id, idempotency_key, produce)


@router.get(
    "/evaluations/{year}/rankings/{level}",
    response_model=Ranking,
    summary="The official ranking with historical best, advance and the platform's composite score",
)
async def get_ranking(year: YearPath, level: LevelPath, backend: Backend, caller: Reader) -> dict[str, Any]:
    reply = await backend.call(
        backend.indicators.GetRanking,
        pb.GetRankingRequest(year=year, level=level_to_pb(ZoneLevel(level))),
        RANKING_PATH,
    )
    return ranking_json(reply)


@router.get(
    "/evaluations/{year}/consequences/{level}",
    response_model=Consequences,
    summary="Clause 二十六: support, none or restrict for each ranked zone",
)
async def get_consequences(year: YearPath, level: LevelPath, backend: Backend, caller: Reader) -> dict[str, Any]:
    reply = await backend.call(
        backend.indicators.GetConsequences,
        pb.GetConsequencesRequest(year=year, level=level_to_pb(ZoneLevel(level))),
        RANKING_PATH,
    )
    return {
        "year": reply.year,
        "level": level_name(reply.level),
        "field_size": reply.field_size,
        "support_count": reply.support_count,
        "restrict_count": reply.restrict_count,
        "parameter_version": or_none(reply.parameter_version),
        "explanation": reply.explanation,
        "clause": clause_json(reply.clause),
        "zones": [
            {"zone_code": z.zone_code, "rank": z.rank, "outcome": z.outcome, "measures": list(z.measures)}
            for z in reply.zones
        ],
    }


@router.get("/zones/{zone_code}/ranks", response_model=RankHistory, summary="Every official rank of a zone")
async def get_rank_history(
    zone_code: Annotated[ZoneCode, Path(examples=["GY-DEMO"])],
    backend: Backend,
    caller: Reader,
    paging: Paging,
    page_size: PageSize = 50,
) -> dict[str, Any]:
    reply = await backend.call(
        backend.indicators.GetRankHistory,
        pb.GetRankHistoryRequest(zone_code=zone_code),
        {"zone_code": ("path", "zone_code")},
    )
    # A zone has at most two ranks a year, answered whole: paged here, oldest first by (year, level), so a rank
    # dropped by a replaced ranking between two pages shifts nothing.
    page, token = keyset.page_of_whole(
        reply.entries, page_size, paging.after, lambda e: (e.year, level_name(e.level) or ""), (int, str)
    )
    return {
        "zone_code": reply.zone_code,
        "items": [{"year": e.year, "level": level_name(e.level), "rank": e.rank} for e in page],
        "next_page_token": paging.next_token(token),
    }
