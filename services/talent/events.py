"""Events the talent service publishes (through its outbox): `gaoxin.talent.decision_recorded.v1`.

The event says which check was decided and how, never about whom: no pseudonym either, since subscribers
(portals, webhooks) have no need to link people.
"""

from __future__ import annotations

from gaoxin.events.v1 import events_pb2
from sqlalchemy.engine import Connection

from services.common.outbox import add_event, new_event_meta
from services.talent.domain.checks import Assessment
from services.talent.store import outbox

PRODUCER = "talent"
DECISION_RECORDED = "gaoxin.talent.decision_recorded.v1"


def stage_decision_recorded(conn: Connection, decision_id: str, assessment: Assessment) -> str:
    event = events_pb2.TalentDecisionRecorded(
        meta=new_event_meta(PRODUCER),
        decision_id=decision_id,
        check=assessment.check,
        eligible=assessment.eligible,
        outcome=assessment.outcome.value,
        rule_set_version=assessment.rule_set.version,
    )
    return add_event(conn, outbox, DECISION_RECORDED, event)
