"""Reward rules of clause 二十五 as small pure functions: facts in, an award decision (or none) out."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from services.common.convert import ZoneLevel
from services.rewards.domain.parameters import ParameterTable, ParameterVersion

CLAUSE_REWARDS = 25


@dataclass(frozen=True)
class RecognitionFact:
    recognized_on: date
    level: ZoneLevel


@dataclass(frozen=True)
class AwardDecision:
    """An award a rule grants: who, how much, why (basis, clause, parameter versions)."""

    rule: str
    beneficiary_kind: str
    beneficiary_code: str
    basis_key: str  # with rule and beneficiary, the award's unique key in the ledger
    year: int
    amount_yuan: int
    basis: dict[str, str]
    clause: int
    parameters: tuple[ParameterVersion, ...]
    earmark: str = ""
    explanation: str = ""


@dataclass(frozen=True)
class NoAward:
    """A rule that looked at the facts and granted nothing, and why."""

    rule: str
    reason: str
    parameters: tuple[ParameterVersion, ...] = field(default=())


def new_provincial_zone(
    zone_code: str, history: Sequence[RecognitionFact], params: ParameterTable
) -> AwardDecision | NoAward:
    """对新认定的省级高新区给予 100 万元奖励 — a zone whose first recognition ever is provincial.

    A zone first recognised national and later listed provincial (a downgrade) is not newly recognised, and
    a later provincial re-recognition is not new either: only the earliest recognition counts.
    """
    rule = "new_provincial_zone"
    if not history:
        return NoAward(rule, "the zone has no recognition")
    first = min(history, key=lambda r: r.recognized_on)
    if first.level is not ZoneLevel.PROVINCIAL:
        return NoAward(rule, f"the zone was first recognised {first.level.value}, not provincial")
    effective = params.in_force("policy.effective_from", first.recognized_on)
    if effective is None or first.recognized_on < date.fromisoformat(str(effective.value)):
        return NoAward(rule, f"recognised on {first.recognized_on.isoformat()}, before the policy took effect")
    amount = params.in_force(f"{rule}.amount_yuan", first.recognized_on)
    if amount is None:
        return NoAward(rule, f"no amount in force on {first.recognized_on.isoformat()}", (effective,))
    earmark = params.in_force("zone_reward.earmark", first.recognized_on)
    used = (effective, amount) + ((earmark,) if earmark else ())
    return AwardDecision(
        rule=rule,
        beneficiary_kind="zone",
        beneficiary_code=zone_code,
        basis_key="first_recognition",
        year=first.recognized_on.year,
        amount_yuan=int(amount.value),
        basis={
            "zone_code": zone_code,
            "level": first.level.value,
            "recognized_on": first.recognized_on.isoformat(),
        },
        clause=CLAUSE_REWARDS,
        parameters=used,
        earmark=str(earmark.value) if earmark else "",
        explanation=(
            f"Zone {zone_code} was first recognised as a provincial-level zone on "
            f"{first.recognized_on.isoformat()}, on or after the policy took effect "
            f"({effective.value}): 新认定的省级高新区, ¥{int(amount.value):,}."
        ),
    )
