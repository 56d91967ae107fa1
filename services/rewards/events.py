"""What the rewards service consumes (zone recognitions) and publishes (awards granted)."""

from __future__ import annotations

import logging

from gaoxin.events.v1 import events_pb2
from sqlalchemy.engine import Connection

from services.common.convert import date_from_pb, level_from_pb
from services.common.inbox import Subscription
from services.common.outbox import add_event, new_event_meta
from services.rewards import store
from services.rewards.domain.parameters import ParameterTable
from services.rewards.domain.rules import AwardDecision, RecognitionFact, new_provincial_zone

log = logging.getLogger(__name__)

PRODUCER = "rewards"
AWARD_GRANTED = "gaoxin.rewards.award_granted.v1"
ZONE_RECOGNIZED = "gaoxin.indicators.zone_recognized.v1"


def stage_award_granted(conn: Connection, award_id: str, decision: AwardDecision) -> None:
    event = events_pb2.AwardGranted(
        meta=new_event_meta(PRODUCER),
        award_id=award_id,
        rule=decision.rule,
        beneficiary_kind=decision.beneficiary_kind,
        beneficiary_code=decision.beneficiary_code,
        year=decision.year,
        amount_yuan=decision.amount_yuan,
        clause_number=decision.clause,
    )
    add_event(conn, store.outbox, AWARD_GRANTED, event)


def grant_and_announce(conn: Connection, decision: AwardDecision, source_event_id: str) -> str | None:
    award_id = store.grant(conn, decision, source_event_id)
    if award_id is not None:
        stage_award_granted(conn, award_id, decision)
        log.info(
            "award granted",
            extra={
                "fields": {
                    "award_id": award_id,
                    "rule": decision.rule,
                    "beneficiary": decision.beneficiary_code,
                }
            },
        )
    return award_id


def on_zone_recognized(params: ParameterTable) -> Subscription:
    def handle(conn: Connection, subject: str, payload: bytes) -> None:
        event = events_pb2.ZoneRecognized.FromString(payload)
        history = []
        for r in event.history:
            level, on = level_from_pb(r.level), date_from_pb(r.recognized_on)
            if level is not None and on is not None:
                history.append(RecognitionFact(on, level))
        decision = new_provincial_zone(event.zone_code, history, params)
        if isinstance(decision, AwardDecision):
            grant_and_announce(conn, decision, event.meta.event_id)

    return Subscription(
        durable="rewards-zone-recognized", stream="GAOXIN_INDICATORS", subject=ZONE_RECOGNIZED, handler=handle
    )
