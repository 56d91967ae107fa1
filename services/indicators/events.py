"""Events the indicators service publishes (through its outbox, in the transaction of the change)."""

from __future__ import annotations

from collections.abc import Sequence

from gaoxin.events.v1 import events_pb2
from gaoxin.indicators.v1 import indicators_pb2
from gaoxin.types.v1 import types_pb2
from sqlalchemy.engine import Connection

from services.common.convert import ZoneLevel, date_to_pb, level_to_pb
from services.common.outbox import add_event, new_event_meta
from services.indicators.domain.ranking import RankEntry
from services.indicators.domain.registry import Designation, Recognition
from services.indicators.domain.values import Plan
from services.indicators.store import outbox

PRODUCER = "indicators"
ZONE_RECOGNIZED = "gaoxin.indicators.zone_recognized.v1"
COUNTY_DESIGNATED = "gaoxin.indicators.county_designated.v1"
INDICATOR_VALUES_ACCEPTED = "gaoxin.indicators.indicator_values_accepted.v1"
RANKING_PUBLISHED = "gaoxin.indicators.ranking_published.v1"
CONSEQUENCES_DETERMINED = "gaoxin.indicators.consequences_determined.v1"


def recognition_to_pb(recognition: Recognition) -> types_pb2.Recognition:
    return types_pb2.Recognition(
        level=level_to_pb(recognition.level), recognized_on=date_to_pb(recognition.recognized_on)
    )


def stage_zone_recognized(
    conn: Connection,
    zone_code: str,
    county_code: str,
    recognition: Recognition,
    history: Sequence[Recognition],
) -> str:
    event = events_pb2.ZoneRecognized(
        meta=new_event_meta(PRODUCER),
        zone_code=zone_code,
        county_code=county_code,
        recognition=recognition_to_pb(recognition),
        history=[recognition_to_pb(r) for r in history],
    )
    return add_event(conn, outbox, ZONE_RECOGNIZED, event)


def stage_county_designated(conn: Connection, county_code: str, designation: Designation) -> str:
    event = events_pb2.CountyDesignated(
        meta=new_event_meta(PRODUCER),
        county_code=county_code,
        programme=designation.programme,
        level=level_to_pb(designation.level),
        listed_on=date_to_pb(designation.listed_on),
    )
    return add_event(conn, outbox, COUNTY_DESIGNATED, event)


def stage_values_accepted(conn: Connection, batch_id: str, accepted: int, plan: Plan, source: str) -> str:
    """One event for the whole batch, naming what it touched, so a consumer can re-read just those zones."""
    changed = [row.key for row in plan.new] + [row.key for row, _ in plan.revised]
    event = events_pb2.IndicatorValuesAccepted(
        meta=new_event_meta(PRODUCER),
        batch_id=batch_id,
        accepted=accepted,
        revised=len(plan.revised),
        zone_codes=sorted({zone_code for zone_code, _, _ in changed}),
        years=sorted({year for _, _, year in changed}),
        source=source,
    )
    return add_event(conn, outbox, INDICATOR_VALUES_ACCEPTED, event)


def stage_ranking_published(
    conn: Connection,
    year: int,
    level: ZoneLevel,
    entries: Sequence[RankEntry],
    replaced: bool,
    dropped: Sequence[str],
) -> str:
    event = events_pb2.RankingPublished(
        meta=new_event_meta(PRODUCER),
        year=year,
        level=level_to_pb(level),
        ranks=[events_pb2.RankingPublished.Entry(zone_code=e.zone_code, rank=e.rank) for e in entries],
        replaced=replaced,
        dropped_zone_codes=list(dropped),
    )
    return add_event(conn, outbox, RANKING_PUBLISHED, event)


def stage_consequences_determined(conn: Connection, consequences: indicators_pb2.Consequences) -> str:
    """What `GetConsequences` answers for the ranking just stored, for portals that act on clause 二十六."""
    event = events_pb2.ConsequencesDetermined(
        meta=new_event_meta(PRODUCER),
        year=consequences.year,
        level=consequences.level,
        field_size=consequences.field_size,
        support_count=consequences.support_count,
        restrict_count=consequences.restrict_count,
        parameter_version=consequences.parameter_version,
        explanation=consequences.explanation,
        clause_number=consequences.clause.number,
        zones=[
            events_pb2.ConsequencesDetermined.Zone(
                zone_code=z.zone_code, rank=z.rank, outcome=z.outcome, measures=list(z.measures)
            )
            for z in consequences.zones
        ],
    )
    return add_event(conn, outbox, CONSEQUENCES_DETERMINED, event)
