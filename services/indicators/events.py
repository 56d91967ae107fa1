"""Events the indicators service publishes (through its outbox)."""

from __future__ import annotations

from collections.abc import Sequence

from gaoxin.events.v1 import events_pb2
from gaoxin.types.v1 import types_pb2
from sqlalchemy.engine import Connection

from services.common.convert import date_to_pb, level_to_pb
from services.common.outbox import add_event, new_event_meta
from services.indicators.domain.registry import Recognition
from services.indicators.store import outbox

PRODUCER = "indicators"
ZONE_RECOGNIZED = "gaoxin.indicators.zone_recognized.v1"


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
