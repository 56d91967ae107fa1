"""Events the talent service publishes (through its outbox): `gaoxin.talent.decision_recorded.v1`.

The event says which check was decided and how, never about whom: no pseudonym either, since subscribers
(portals, webhooks) have no need to link people.
"""

from __future__ import annotations

from typing import Any

from gaoxin.events.v1 import events_pb2

from services.common.outbox import event_row, new_event_meta
from services.talent.domain.checks import Assessment

PRODUCER = "talent"
DECISION_RECORDED = "gaoxin.talent.decision_recorded.v1"


def decision_recorded_row(decision_id: str, assessment: Assessment) -> dict[str, Any]:
    """The outbox row of the decision's event; built in the request's context, which gives it its request id."""
    event = events_pb2.TalentDecisionRecorded(
        meta=new_event_meta(PRODUCER),
        decision_id=decision_id,
        check=assessment.check,
        eligible=assessment.eligible,
        outcome=assessment.outcome.value,
        rule_set_version=assessment.rule_set.version,
    )
    return event_row(DECISION_RECORDED, event)
