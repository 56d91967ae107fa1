"""Events of the talent service: `gaoxin.talent.decision_recorded.v1` (no personal data) — to come."""

from __future__ import annotations

DECISION_RECORDED = "gaoxin.talent.decision_recorded.v1"
