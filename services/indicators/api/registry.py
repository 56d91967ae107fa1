"""Counties, their designations, zones and recognitions (clauses 三, 十七, 二十三, 二十五)."""

from __future__ import annotations

from datetime import date

from gaoxin.indicators.v1 import indicators_pb2 as pb

from services.common.convert import date_to_pb, level_from_pb, level_to_pb, today_in_china
from services.common.db import reading, transaction
from services.common.errors import Conflict, FieldViolation, InvalidArgument, NotFound
from services.common.paging import decode_text_position, encode_token, page_size
from services.indicators import store
from services.indicators.api.base import Context, ServicerBase, date_arg, invalid
from services.indicators.domain.ranking import contradicted_rankings, contradiction_detail
from services.indicators.domain.registry import (
    Designation,
    Recognition,
    check_county_code,
    check_name,
    check_programme,
    check_recognition_date,
    check_zone_code,
    level_on,
)
from services.indicators.events import recognition_to_pb, stage_county_designated, stage_zone_recognized
from services.indicators.store import rankings as ranking_store


def zone_to_pb(zone: store.ZoneRow, as_of: date) -> pb.Zone:
    return pb.Zone(
        zone_code=zone.zone_code,
        name=zone.name,
        county_code=zone.county_code,
        parks=zone.parks,
        level=level_to_pb(level_on(zone.recognitions, as_of)),
        recognitions=[recognition_to_pb(r) for r in zone.recognitions],
    )


def county_to_pb(county_code: str, name: str, designations: list[Designation]) -> pb.CountyDetail:
    return pb.CountyDetail(
        county=pb.County(county_code=county_code, name=name),
        designations=[
            pb.Designation(programme=d.programme, level=level_to_pb(d.level), listed_on=date_to_pb(d.listed_on))
            for d in designations
        ],
    )


class RegistryApi(ServicerBase):
    async def UpsertCounty(self, request: pb.UpsertCountyRequest, context: Context) -> pb.UpsertCountyResponse:
        county = request.county
        invalid(check_county_code(county.county_code) + check_name(county.name))

        def work() -> bool:
            with transaction(self.engine) as conn:
                return store.upsert_county(conn, county.county_code, county.name)

        created = await self._write(work)
        return pb.UpsertCountyResponse(county=county, created=created)

    async def GetCounty(self, request: pb.GetCountyRequest, context: Context) -> pb.CountyDetail:
        def work() -> pb.CountyDetail:
            with reading(self.engine) as conn:
                name = store.get_county(conn, request.county_code)
                if name is None:
                    raise NotFound(f"county {request.county_code} not found")
                return county_to_pb(request.county_code, name, store.county_designations(conn, request.county_code))

        return await self._read(work)

    async def RecordDesignation(
        self, request: pb.RecordDesignationRequest, context: Context
    ) -> pb.RecordDesignationResponse:
        given = request.designation
        level = level_from_pb(given.level)
        listed_on = date_arg(given.listed_on, "listed_on")
        violations = check_programme(given.programme)
        if level is None:
            violations.append(FieldViolation(("level",), "must be 'provincial' or 'national'"))
        if listed_on is None:
            violations.append(FieldViolation(("listed_on",), "is required"))
        else:
            violations += check_recognition_date(listed_on, today_in_china(), ("listed_on",))
        invalid(violations)
        assert level is not None and listed_on is not None
        designation = Designation(listed_on, given.programme, level)

        def work() -> tuple[pb.CountyDetail, bool]:
            with transaction(self.engine) as conn:
                name = store.get_county(conn, request.county_code)
                if name is None:
                    raise NotFound(f"county {request.county_code} not found")
                created = store.add_designation(conn, request.county_code, designation)
                if created:
                    stage_county_designated(conn, request.county_code, designation)
                return county_to_pb(request.county_code, name, store.county_designations(conn, request.county_code)), (
                    created
                )

        county, created = await self._write(work)
        return pb.RecordDesignationResponse(county=county, created=created)

    async def UpsertZone(self, request: pb.UpsertZoneRequest, context: Context) -> pb.UpsertZoneResponse:
        parks = list(request.parks)
        violations = check_zone_code(request.zone_code) + check_name(request.name)
        violations += check_county_code(request.county_code)
        violations += [v for i, park in enumerate(parks) for v in check_name(park, ("parks", i))]
        if len(set(parks)) != len(parks):
            violations.append(FieldViolation(("parks",), "park names must be unique"))
        invalid(violations)

        def work() -> tuple[store.ZoneRow, bool]:
            with transaction(self.engine) as conn:
                if store.get_county(conn, request.county_code) is None:
                    raise InvalidArgument(
                        f"county {request.county_code} is not registered",
                        [FieldViolation(("county_code",), "unknown county; PUT /v1/counties/{code} first")],
                    )
                given = None if request.keep_parks else parks
                created = store.upsert_zone(conn, request.zone_code, request.name, request.county_code, given)
                zone = store.get_zone(conn, request.zone_code)
                assert zone is not None
                return zone, created

        zone, created = await self._write(work)
        return pb.UpsertZoneResponse(zone=zone_to_pb(zone, today_in_china()), created=created)

    async def GetZone(self, request: pb.GetZoneRequest, context: Context) -> pb.Zone:
        as_of = date_arg(request.as_of, "as_of") or today_in_china()

        def work() -> store.ZoneRow | None:
            with reading(self.engine) as conn:
                return store.get_zone(conn, request.zone_code)

        zone = await self._read(work)
        if zone is None:
            raise NotFound(f"zone {request.zone_code} not found")
        return zone_to_pb(zone, as_of)

    async def ListZones(self, request: pb.ListZonesRequest, context: Context) -> pb.ListZonesResponse:
        as_of = date_arg(request.as_of, "as_of") or today_in_china()
        limit = page_size(request.page_size)
        after = decode_text_position(request.page_token)

        def work() -> list[store.ZoneRow]:
            with reading(self.engine) as conn:
                return store.list_zones(conn, after, limit + 1)

        rows = await self._read(work)
        page, more = rows[:limit], len(rows) > limit
        return pb.ListZonesResponse(
            zones=[zone_to_pb(z, as_of) for z in page],
            next_page_token=encode_token(page[-1].zone_code) if more else "",
        )

    async def RecordRecognition(
        self, request: pb.RecordRecognitionRequest, context: Context
    ) -> pb.RecordRecognitionResponse:
        level = level_from_pb(request.recognition.level)
        recognized_on = date_arg(request.recognition.recognized_on, "recognized_on")
        violations = [] if level else [FieldViolation(("level",), "must be 'provincial' or 'national'")]
        if recognized_on is None:
            violations.append(FieldViolation(("recognized_on",), "is required"))
        else:
            violations += check_recognition_date(recognized_on, today_in_china())
        invalid(violations)
        assert level is not None and recognized_on is not None
        recognition = Recognition(recognized_on, level)

        def work() -> tuple[store.ZoneRow, bool]:
            with transaction(self.engine) as conn:
                # Checked and inserted under the zone's lock, which a ranking push takes too (PutRanking).
                store.lock_zones(conn, [request.zone_code])
                zone = store.get_zone(conn, request.zone_code)
                if zone is None:
                    raise NotFound(f"zone {request.zone_code} not found")
                existing = store.recognition_on(conn, request.zone_code, recognized_on)
                if existing == level:
                    return zone, False  # the same fact pushed again: nothing changes, no event
                if existing is not None:
                    raise Conflict(
                        f"zone {request.zone_code} already has a {existing.value} recognition on "
                        f"{recognized_on.isoformat()}",
                        [FieldViolation(("recognized_on",), "another level is recorded on this date")],
                    )
                placements = ranking_store.rank_history(conn, request.zone_code)
                if found := contradicted_rankings(placements, [*zone.recognitions, recognition]):
                    raise Conflict(
                        contradiction_detail(zone.zone_code, recognition, found),
                        [FieldViolation(("recognized_on",), c.describe(zone.zone_code)) for c in found],
                    )
                store.add_recognition(conn, request.zone_code, recognition)
                history = store.zone_recognitions(conn, request.zone_code)
                stage_zone_recognized(conn, zone.zone_code, zone.county_code, recognition, history)
                zone = store.get_zone(conn, request.zone_code)
                assert zone is not None
                return zone, True

        zone, created = await self._write(work)
        return pb.RecordRecognitionResponse(zone=zone_to_pb(zone, today_in_china()), created=created)
