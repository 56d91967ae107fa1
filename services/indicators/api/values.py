"""The indicator catalogue, ingestion of values (unary and client-streaming), targets, value histories."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime

from gaoxin.indicators.v1 import indicators_pb2 as pb
from prometheus_client import Counter
from sqlalchemy import Engine

from services.common.bulk import gc_paused
from services.common.convert import ZoneLevel, clause_to_pb, date_to_pb, level_to_pb
from services.common.db import reading, transaction
from services.common.errors import FieldViolation, InvalidArgument, MalformedInput, NotFound
from services.common.logs import request_id_var
from services.indicators import store
from services.indicators.api.base import Context, ServicerBase, invalid
from services.indicators.domain.catalogue import CATALOGUE, RAW_CODES, TARGETS, Indicator, TargetRule
from services.indicators.domain.csv_values import parse_csv
from services.indicators.domain.dated import Version, end_of_year
from services.indicators.domain.json_values import parse_item, parse_json
from services.indicators.domain.registry import level_on
from services.indicators.domain.targets import evaluate_all
from services.indicators.domain.values import (
    MAX_BATCH_VALUES,
    MalformedBatch,
    ParsedBatch,
    counterpart_keys,
    flag_duplicates,
    flag_parts_exceeding_wholes,
    flag_unknown_zones,
    paired_rows,
    part_whole_zones,
    plan,
    sorted_violations,
    year_problem,
)
from services.indicators.events import stage_values_accepted
from services.indicators.store import values as value_store
from services.indicators.store.registry import known_zones

UNATTRIBUTED = "unattributed"
VALUES_INGESTED = Counter(
    "gaoxin_indicator_values_ingested_total",
    "Indicator values in accepted batches, by what each did to the value held: created, revised or unchanged.",
    ["outcome"],
)
for _outcome in ("created", "revised", "unchanged"):
    VALUES_INGESTED.labels(_outcome)  # every series exists from the start, so increase() sees the first batch


def target_to_pb(target: Version[TargetRule]) -> pb.Target:
    rule = target.value
    return pb.Target(
        level=level_to_pb(rule.level),
        op=rule.op,
        threshold=str(rule.threshold),
        year=rule.year,
        clause=clause_to_pb(rule.clause),
        effective_from=date_to_pb(target.effective_from),
        version=target.version,
    )


def indicator_to_pb(indicator: Indicator) -> pb.Indicator:
    return pb.Indicator(
        code=indicator.code,
        name_zh=indicator.name_zh,
        name_en=indicator.name_en,
        unit=indicator.unit,
        kind=indicator.kind,
        formula=indicator.formula,
        numerator=indicator.numerator,
        denominator=indicator.denominator,
        targets=[target_to_pb(t) for t in TARGETS if t.value.indicator == indicator.code],
        clause=clause_to_pb(3),
    )


def parse_request(payload: str, data: bytes, values: list[pb.IndicatorValue], default_source: str) -> ParsedBatch:
    """A batch from whichever payload the request carried; MalformedInput when it cannot be read at all."""
    try:
        if payload == "csv":
            return parse_csv(data, default_source)
        if payload == "json":
            return parse_json(data, default_source)
    except MalformedBatch as exc:
        raise MalformedInput(str(exc)) from exc
    batch = ParsedBatch("values")
    if not values:
        batch.violations.append(FieldViolation(("values",), "the batch holds no values"))
    elif len(values) > MAX_BATCH_VALUES:
        batch.violations.append(FieldViolation(("values",), f"a batch holds at most {MAX_BATCH_VALUES:,} values"))
        return batch
    for i, v in enumerate(values):
        item = {"zone_code": v.zone_code, "indicator": v.indicator, "year": v.year, "value": v.value}
        parse_item({**item, "source": v.source}, i, default_source, batch)
    flag_duplicates(batch)
    return batch


@dataclass(frozen=True)
class Ingested:
    batch_id: str
    accepted: int
    created: int
    revised: int
    unchanged: int


def ingest(engine: Engine, batch: ParsedBatch, default_source: str) -> Ingested:
    """Validate against the registry and store the batch, all or nothing, in one transaction; one event when it
    changed anything (a batch that only repeats held values is recorded, and announced to no one)."""
    with transaction(engine) as conn:
        zone_codes = batch.zone_codes
        flag_unknown_zones(batch, zone_codes - known_zones(conn, zone_codes))
        # Parts against wholes, stored values included: under the locks of the zones whose parts or wholes the
        # batch writes, which every such batch takes, so no batch committed meanwhile changes what is checked.
        pushed = paired_rows(batch.rows)
        store.lock_zones(conn, part_whole_zones(pushed))
        flag_parts_exceeding_wholes(batch, pushed, value_store.stored_values(conn, counterpart_keys(pushed)))
        invalid(sorted_violations(batch.violations))
        changes = plan(batch.rows, value_store.held_values(conn, batch.rows))
        batch_id = str(uuid.uuid4())
        sources = {row.source for row in batch.rows}
        source = sources.pop() if len(sources) == 1 else default_source
        accepted = len(batch.rows)
        value_store.write_batch(conn, batch_id, source, request_id_var.get(), datetime.now(UTC), accepted, changes)
        if changes.new or changes.revised:
            stage_values_accepted(conn, batch_id, accepted, changes, source)
    return Ingested(batch_id, accepted, len(changes.new), len(changes.revised), changes.unchanged)


def ingested_to_pb(result: Ingested) -> pb.IngestIndicatorValuesResponse:
    return pb.IngestIndicatorValuesResponse(
        accepted=result.accepted,
        revised=result.revised,
        unchanged=result.unchanged,
        batch_id=result.batch_id,
        created=result.created,
    )


def check_year(year: int) -> None:
    if why := year_problem(year):
        raise InvalidArgument(f"year {year}: {why}", [FieldViolation(("year",), why)])


class ValuesApi(ServicerBase):
    async def ListIndicators(self, request: pb.ListIndicatorsRequest, context: Context) -> pb.ListIndicatorsResponse:
        return pb.ListIndicatorsResponse(indicators=[indicator_to_pb(i) for i in CATALOGUE.values()])

    async def IngestIndicatorValues(
        self, request: pb.IngestIndicatorValuesRequest, context: Context
    ) -> pb.IngestIndicatorValuesResponse:
        payload = request.WhichOneof("payload") or "values"
        data = request.csv if payload == "csv" else request.json if payload == "json" else b""
        return await self._ingest(payload, data, list(request.values.values), request.default_source)

    async def StreamIndicatorValues(
        self, request_iterator: AsyncIterator[pb.IngestIndicatorValuesRequest], context: Context
    ) -> pb.IngestIndicatorValuesResponse:
        """The whole stream is one batch: chunks of values are concatenated, and so are pieces of a CSV file;
        the two cannot be mixed, and JSON is for the unary call."""
        kinds: set[str] = set()
        values: list[pb.IndicatorValue] = []
        pieces: list[bytes] = []
        default_source = ""
        async for chunk in request_iterator:
            kind = chunk.WhichOneof("payload")
            if kind is not None:
                kinds.add(kind)
            if kind == "values":
                values.extend(chunk.values.values)
            elif kind == "csv":
                pieces.append(chunk.csv)
            default_source = default_source or chunk.default_source
            if len(values) > MAX_BATCH_VALUES:
                break  # enough to refuse the batch; reading on would only hold more memory
        if len(kinds) > 1 or "json" in kinds:
            invalid([FieldViolation(("payload",), "stream either chunks of values or pieces of one CSV file")])
        payload = kinds.pop() if kinds else "values"
        return await self._ingest(payload, b"".join(pieces), values, default_source)

    async def _ingest(
        self, payload: str, data: bytes, values: list[pb.IndicatorValue], default_source: str
    ) -> pb.IngestIndicatorValuesResponse:
        source = default_source.strip()[:200] or UNATTRIBUTED
        with gc_paused():
            batch = await self._read(lambda: parse_request(payload, data, values, source))
            result = await self._write(lambda: ingest(self.engine, batch, source))
        VALUES_INGESTED.labels("created").inc(result.created)
        VALUES_INGESTED.labels("revised").inc(result.revised)
        VALUES_INGESTED.labels("unchanged").inc(result.unchanged)
        return ingested_to_pb(result)

    async def GetZoneIndicators(self, request: pb.GetZoneIndicatorsRequest, context: Context) -> pb.ZoneIndicators:
        check_year(request.year)

        def work() -> tuple[store.ZoneRow | None, dict[str, value_store.StoredValue]]:
            with reading(self.engine) as conn:
                zone = store.get_zone(conn, request.zone_code)
                held = value_store.current_values(conn, [request.zone_code], request.year)
                return zone, held.get(request.zone_code, {})

        zone, held = await self._read(work)
        if zone is None:
            raise NotFound(f"zone {request.zone_code} not found")
        at = end_of_year(request.year)
        level: ZoneLevel | None = level_on(zone.recognitions, at)
        reply = pb.ZoneIndicators(zone_code=zone.zone_code, year=request.year, level=level_to_pb(level))
        for indicator in CATALOGUE.values():
            if indicator.kind != "raw":
                continue
            raw = pb.RawValue(indicator=indicator.code, unit=indicator.unit)
            stored = held.get(indicator.code)
            if stored is not None:
                raw.value, raw.source, raw.batch_id = stored.value, stored.source, stored.batch_id
                raw.revisions = stored.version - 1
                raw.recorded_at.FromDatetime(stored.recorded_at)
            reply.raw.append(raw)
        for derived in evaluate_all({code: v.value for code, v in held.items()}, level, at):
            item = pb.DerivedValue(
                indicator=derived.indicator.code,
                computable=derived.ratio is not None,
                value=derived.value,
                status=derived.status,
                explanation=derived.explanation,
            )
            if derived.target is not None:
                item.target.CopyFrom(target_to_pb(derived.target))
            reply.derived.append(item)
        return reply

    async def ListValueRevisions(self, request: pb.ListValueRevisionsRequest, context: Context) -> pb.ValueRevisions:
        check_year(request.year)
        known = CATALOGUE.get(request.indicator)
        if known is None:
            raise NotFound(f"unknown indicator {request.indicator[:40]!r}; GET /v1/indicators lists the catalogue")
        if known.code not in RAW_CODES:
            # Read, not pushed: a derived value has no history of its own; its raw values have.
            why = f"{known.code} is derived ({known.formula}): it has no revisions; read those of its raw values"
            invalid([FieldViolation(("indicator",), why)])

        def work() -> tuple[bool, list[value_store.StoredValue]]:
            with reading(self.engine) as conn:
                if store.get_zone(conn, request.zone_code) is None:
                    return False, []
                return True, value_store.value_history(conn, request.zone_code, request.indicator, request.year)

        found, history = await self._read(work)
        if not found:
            raise NotFound(f"zone {request.zone_code} not found")
        if not history:
            raise NotFound(f"zone {request.zone_code} has no {request.indicator} value for {request.year}")
        reply = pb.ValueRevisions(zone_code=request.zone_code, indicator=request.indicator, year=request.year)
        for stored in history:
            version = pb.ValueVersion(
                version=stored.version, value=stored.value, source=stored.source, batch_id=stored.batch_id
            )
            version.recorded_at.FromDatetime(stored.recorded_at)
            if stored.superseded_at is not None:
                version.superseded_at.FromDatetime(stored.superseded_at)
            reply.versions.append(version)
        return reply
