"""Reconciliation, pure: the granted awards of a beneficiary against what its facts justify now.

For one rule and one beneficiary, `plan` compares the awards the ledger holds as granted with the outcomes of
the rule over the beneficiary's current facts:

- a desired award whose key holds no granted award is granted;
- a granted award whose key is desired with the same basis stays as it is (with its amount and the parameter
  versions it was decided with, even if newer versions would give another amount);
- a granted award whose key is desired with another basis (e.g. a corrected rank) is revoked, and the new
  decision granted: every granted award's basis is true of the current facts;
- a granted award whose key is not desired is re-judged with the parameter versions it used: if those still
  justify it on the current facts with the same basis, it stays (a later parameter version never takes an award
  away: "earlier decisions keep the version they used"); otherwise it is revoked, with the reason.

Revocations come before grants, so a key can be revoked and granted again in one transaction. Running the plan
twice on the same facts plans nothing the second time, and facts arriving in any order end in the same ledger.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from services.rewards.domain.parameters import ParameterTable, ParameterVersion
from services.rewards.domain.rules import AwardDecision, NoAward, Outcome


@dataclass(frozen=True)
class GrantedAward:
    """An award the ledger holds with status granted."""

    award_id: str
    rule: str
    beneficiary_kind: str
    beneficiary_code: str
    basis_key: str
    year: int
    amount_yuan: int
    basis: Mapping[str, str]
    parameters: tuple[ParameterVersion, ...]


@dataclass(frozen=True)
class Revocation:
    award: GrantedAward
    reason: str


@dataclass
class Plan:
    revocations: list[Revocation] = field(default_factory=list)
    grants: list[AwardDecision] = field(default_factory=list)

    def extend(self, other: Plan) -> None:
        self.revocations += other.revocations
        self.grants += other.grants

    def __bool__(self) -> bool:
        return bool(self.revocations or self.grants)


# The rule over one beneficiary's current facts, under a parameter table; the flag asks for the refusals too
# (False: the awards alone will do).
Evaluate = Callable[[ParameterTable, bool], Sequence[Outcome]]


def basis_change(old: Mapping[str, str], new: Mapping[str, str]) -> str:
    """What changed between two bases, e.g. "rank 5 → 4, advance 3 → 4"."""
    changes = [
        f"{name} {old.get(name, '—')} → {new.get(name, '—')}"
        for name in sorted(set(old) | set(new))
        if old.get(name) != new.get(name)
    ]
    return ", ".join(changes)


def plan(
    granted: Sequence[GrantedAward],
    evaluate: Evaluate,
    params: ParameterTable,
    trigger: str,
    outcomes: Sequence[Outcome] | None = None,
) -> Plan:
    """The revocations and grants that bring one beneficiary's awards of one rule in line with its facts.

    `trigger` names the change that made us look ("ranking 2023 national republished"); every revocation
    reason starts with it. `outcomes` may pass `evaluate(params, False)` when the caller already has it.
    Refusals are asked for only when an award is revoked, to quote why.
    """
    current = list(evaluate(params, False) if outcomes is None else outcomes)
    desired: dict[str, AwardDecision] = {}
    for outcome in current:
        if isinstance(outcome, AwardDecision):
            desired.setdefault(outcome.basis_key, outcome)
    refused: dict[str, NoAward] | None = None
    result = Plan()
    held: set[str] = set()
    for award in granted:
        held.add(award.basis_key)
        wanted = desired.get(award.basis_key)
        if wanted is not None:
            if dict(wanted.basis) == dict(award.basis):
                continue
            change = basis_change(award.basis, wanted.basis)
            result.revocations.append(Revocation(award, f"{trigger}: the basis changed ({change})"))
            result.grants.append(wanted)
            continue
        if _still_justified(award, evaluate, params):
            continue
        if refused is None:
            refused = {}
            for outcome in evaluate(params, True):
                if isinstance(outcome, NoAward) and outcome.basis_key:
                    refused.setdefault(outcome.basis_key, outcome)
        why = refused[award.basis_key].reason if award.basis_key in refused else _gone(award)
        result.revocations.append(Revocation(award, f"{trigger}: {why}"))
    result.grants += [d for key, d in desired.items() if key not in held]
    return result


def _still_justified(award: GrantedAward, evaluate: Evaluate, params: ParameterTable) -> bool:
    if not award.parameters:
        return False
    for outcome in evaluate(params.pinned(award.parameters), False):
        if isinstance(outcome, AwardDecision) and outcome.basis_key == award.basis_key:
            return dict(outcome.basis) == dict(award.basis)
    return False


def _gone(award: GrantedAward) -> str:
    return f"the facts no longer include its basis ({award.basis_key})"
