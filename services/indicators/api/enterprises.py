"""Enterprises in zones: batch upsert, lookup, and the talent service's "where is it, is it high-tech on D"."""

from __future__ import annotations

from datetime import date

from gaoxin.indicators.v1 import indicators_pb2 as pb
from sqlalchemy.engine import Connection

from services.common.convert import date_from_pb, date_to_pb, level_to_pb, today_in_china
from services.common.db import reading, transaction
from services.common.errors import FieldViolation, NotFound
from services.common.text import control_character_problem
from services.indicators import store
from services.indicators.api.base import Context, ServicerBase, date_arg, invalid
from services.indicators.domain.credit_code import credit_code_problems
from services.indicators.domain.enterprises import (
    EARLIEST_CERTIFICATE,
    MAX_BATCH,
    Certificate,
    EnterpriseRecord,
    hitech_on,
)
from services.indicators.domain.registry import Recognition, check_name, level_on
from services.indicators.store import enterprises as enterprise_store
from services.indicators.store.registry import known_zones

Location = tuple[str | int, ...]

# Per LocateEnterprises call: the talent service sends what gathered while its previous call was out.
MAX_LOOKUPS = 500


def enterprise_to_pb(record: EnterpriseRecord, today: date) -> pb.Enterprise:
    message = pb.Enterprise(
        credit_code=record.credit_code,
        name=record.name,
        zone_code=record.zone_code,
        above_scale=record.above_scale,
        hitech_today=hitech_on(record.certificates, today),
    )
    latest = record.latest_certificate
    if latest is not None:
        message.hitech_certificate.CopyFrom(
            pb.HitechCertificate(
                number=latest.number, issued_on=date_to_pb(latest.issued_on), valid_until=date_to_pb(latest.valid_until)
            )
        )
    return message


def location_to_pb(record: EnterpriseRecord, history: list[Recognition], on: date) -> pb.LocateEnterpriseResponse:
    return pb.LocateEnterpriseResponse(
        found=True,
        zone_code=record.zone_code,
        zone_level=level_to_pb(level_on(history, on)),
        hitech=hitech_on(record.certificates, on),
        above_scale=record.above_scale,
        enterprise_name=record.name,
    )


def check_credit_code(code: str, location: Location) -> list[FieldViolation]:
    return [FieldViolation(location, problem) for problem in credit_code_problems(code)]


def parse_enterprise(item: pb.Enterprise, i: int, today: date) -> tuple[EnterpriseRecord | None, list[FieldViolation]]:
    at: Location = ("enterprises", i)
    violations = check_credit_code(item.credit_code, (*at, "credit_code"))
    violations += check_name(item.name, (*at, "name"))
    if not item.zone_code:
        violations.append(FieldViolation((*at, "zone_code"), "is required"))
    certificates: tuple[Certificate, ...] = ()
    if item.HasField("hitech_certificate"):
        given = item.hitech_certificate
        number = given.number.strip()
        if not number or len(number) > 64:
            violations.append(FieldViolation((*at, "hitech_certificate", "number"), "must be 1-64 characters"))
        elif problem := control_character_problem(number):
            violations.append(FieldViolation((*at, "hitech_certificate", "number"), problem))
        try:
            issued_on = date_from_pb(given.issued_on)
        except ValueError:
            issued_on = None
        where = (*at, "hitech_certificate", "issued_on")
        if issued_on is None:
            violations.append(FieldViolation(where, "must be a valid date"))
        elif not EARLIEST_CERTIFICATE <= issued_on <= today:
            violations.append(
                FieldViolation(where, f"must be between {EARLIEST_CERTIFICATE.isoformat()} and today ({today})")
            )
        if issued_on is not None and number:
            certificates = (Certificate(number, issued_on),)
    if violations:
        return None, violations
    return EnterpriseRecord(item.credit_code, item.name, item.zone_code, item.above_scale, certificates), []


class EnterprisesApi(ServicerBase):
    async def UpsertEnterprises(
        self, request: pb.UpsertEnterprisesRequest, context: Context
    ) -> pb.UpsertEnterprisesResponse:
        today = today_in_china()
        if not 1 <= len(request.enterprises) <= MAX_BATCH:
            invalid([FieldViolation(("enterprises",), f"must hold 1 to {MAX_BATCH:,} enterprises")])
        rows = list(request.row_indexes) or list(range(len(request.enterprises)))
        if len(rows) != len(request.enterprises):
            invalid([FieldViolation(("row_indexes",), "must hold one index per enterprise, or none")])
        records: list[EnterpriseRecord] = []
        violations: list[FieldViolation] = []
        first: dict[str, int] = {}
        for row, item in zip(rows, request.enterprises, strict=True):
            record, problems = parse_enterprise(item, row, today)
            violations += problems
            if (earlier := first.setdefault(item.credit_code, row)) != row:
                violations.append(
                    FieldViolation(("enterprises", row, "credit_code"), f"duplicate of enterprises[{earlier}]")
                )
            if record is not None:
                records.append(record)

        zone_codes = [(row, item.zone_code) for row, item in zip(rows, request.enterprises, strict=True)]

        def check(conn: Connection) -> None:
            known = known_zones(conn, {code for _, code in zone_codes if code})
            violations.extend(
                FieldViolation(("enterprises", row, "zone_code"), f"unknown zone {code!r}; PUT /v1/zones first")
                for row, code in zone_codes
                if code and code not in known
            )
            invalid(sorted(violations, key=lambda v: v.location[1] if len(v.location) > 1 else -1))

        if request.validate_only:

            def validate() -> None:
                with reading(self.engine) as conn:
                    check(conn)

            await self._read(validate)
            return pb.UpsertEnterprisesResponse()

        def work() -> tuple[int, int, int]:
            with transaction(self.engine) as conn:
                check(conn)
                return enterprise_store.upsert_enterprises(conn, records)

        created, updated, unchanged = await self._write(work)
        return pb.UpsertEnterprisesResponse(created=created, updated=updated, unchanged=unchanged)

    async def GetEnterprise(self, request: pb.GetEnterpriseRequest, context: Context) -> pb.Enterprise:
        invalid(check_credit_code(request.credit_code, ("credit_code",)))

        def work() -> EnterpriseRecord | None:
            with reading(self.engine) as conn:
                return enterprise_store.get_enterprise(conn, request.credit_code)

        record = await self._read(work)
        if record is None:
            raise NotFound(f"enterprise {request.credit_code} not found")
        return enterprise_to_pb(record, today_in_china())

    async def LocateEnterprise(
        self, request: pb.LocateEnterpriseRequest, context: Context
    ) -> pb.LocateEnterpriseResponse:
        invalid(check_credit_code(request.credit_code, ("credit_code",)))
        on = date_arg(request.on, "on") or today_in_china()

        def work() -> pb.LocateEnterpriseResponse:
            with reading(self.engine) as conn:
                record = enterprise_store.get_enterprise(conn, request.credit_code)
                if record is None:
                    return pb.LocateEnterpriseResponse(found=False)
                history = store.zone_recognitions(conn, record.zone_code)
            return location_to_pb(record, history, on)

        return await self._read(work)

    async def LocateEnterprises(
        self, request: pb.LocateEnterprisesRequest, context: Context
    ) -> pb.LocateEnterprisesResponse:
        if len(request.lookups) > MAX_LOOKUPS:
            invalid([FieldViolation(("lookups",), f"at most {MAX_LOOKUPS} lookups in one call")])
        today = today_in_china()
        problems = [credit_code_problems(lookup.credit_code) for lookup in request.lookups]
        dates = [date_arg(lookup.on, f"lookups.{i}.on") or today for i, lookup in enumerate(request.lookups)]
        codes = [lookup.credit_code for lookup, refused in zip(request.lookups, problems, strict=True) if not refused]

        def work() -> pb.LocateEnterprisesResponse:
            # Two queries for the whole batch, whatever its size: that is what gathering lookups is for.
            with reading(self.engine) as conn:
                records = enterprise_store.get_enterprises(conn, codes)
                histories = store.zones_recognitions(conn, sorted({r.zone_code for r in records.values()}))
            answers = []
            for lookup, refused, on in zip(request.lookups, problems, dates, strict=True):
                record = records.get(lookup.credit_code)
                if refused:
                    answers.append(pb.LocateEnterpriseResponse(found=False, credit_code_problems=refused))
                elif record is None:
                    answers.append(pb.LocateEnterpriseResponse(found=False))
                else:
                    answers.append(location_to_pb(record, histories[record.zone_code], on))
            return pb.LocateEnterprisesResponse(locations=answers)

        return await self._read(work)
