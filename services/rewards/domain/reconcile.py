"""Reconciliation, pure: the awards of a beneficiary against what its facts justify now.

For one rule and one beneficiary, `plan` compares the awards the ledger holds as granted with the outcomes of
the rule over the beneficiary's current facts:

- a desired award whose key holds no granted award is granted, unless the ledger holds a revoked award of that
  key with the same basis that its own parameter versions still justify: that award is reinstated (same id,
  amount, parameter versions and explanation), never granted a second time ("an award is granted once per
  (rule, beneficiary, basis) whatever happens to the events that caused it");
- a granted award whose key is desired with the same basis stays as it is (with its amount and the parameter
  versions it was decided with, even if newer versions would give another amount);
- a granted award whose key is desired with another basis (e.g. a corrected rank) is revoked, and the new
  decision granted: every granted award's basis is true of the current facts;
- a granted award whose key is not desired is re-judged with the parameter versions it used: if those still
  justify it on the current facts with the same basis, it stays (a later parameter version never takes an award
  away: "earlier decisions keep the version they used"); otherwise it is revoked, with the reason;
- a revoked award whose key is left without a granted award is reinstated when its own parameter versions justify
  it again on the current facts with the same basis, desired under the current versions or not: had its facts
  never changed, it would have stayed granted under the previous rule, and an award must not depend on the
  correction history of its facts.

Of several revoked awards that qualify for one key, the oldest is reinstated. Revocations come before
reinstatements and grants, so a key can be revoked and filled again in one transaction. Running the plan twice on
the same facts plans nothing the second time, and facts arriving in any order end in the same ledger.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from services.rewards.domain.parameters import ParameterTable, ParameterVersion
from services.rewards.domain.rules import AwardDecision, NoAward, Outcome


@dataclass(frozen=True)
class GrantedAward:
    """An award the ledger holds: granted (`plan`'s `granted`) or revoked (its `revoked`)."""

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


@dataclass(frozen=True)
class Reinstatement:
    award: GrantedAward  # a revoked award of the ledger, granted again as it was
    reason: str


@dataclass
class Plan:
    revocations: list[Revocation] = field(default_factory=list)
    reinstatements: list[Reinstatement] = field(default_factory=list)
    grants: list[AwardDecision] = field(default_factory=list)

    def extend(self, other: Plan) -> None:
        self.revocations += other.revocations
        self.reinstatements += other.reinstatements
        self.grants += other.grants

    def __bool__(self) -> bool:
        return bool(self.revocations or self.reinstatements or self.grants)


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
    revoked: Sequence[GrantedAward] = (),
) -> Plan:
    """The revocations, reinstatements and grants that bring one beneficiary's awards of one rule in line with
    its facts.

    `granted` and `revoked` are the beneficiary's awards of the rule the ledger holds with each status, oldest
    first. `trigger` names the change that made us look ("ranking 2023 national republished"); every revocation
    and reinstatement reason starts with it. `outcomes` may pass `evaluate(params, False)` when the caller already
    has it. Refusals are asked for only when an award is revoked, to quote why.
    """
    current = list(evaluate(params, False) if outcomes is None else outcomes)
    desired: dict[str, AwardDecision] = {}
    for outcome in current:
        if isinstance(outcome, AwardDecision):
            desired.setdefault(outcome.basis_key, outcome)
    refused: dict[str, NoAward] | None = None
    justified = _Justified(evaluate, params)
    result = Plan()
    held: set[str] = set()  # keys whose granted award stays, or is replaced below
    wanted_keys: dict[str, AwardDecision] = {}  # keys to fill with a decision: reinstated or granted
    for award in granted:
        held.add(award.basis_key)
        wanted = desired.get(award.basis_key)
        if wanted is not None:
            if dict(wanted.basis) == dict(award.basis):
                continue
            change = basis_change(award.basis, wanted.basis)
            result.revocations.append(Revocation(award, f"{trigger}: the basis changed ({change})"))
            wanted_keys.setdefault(award.basis_key, wanted)
            continue
        if justified(award):
            continue
        held.discard(award.basis_key)  # free again: an earlier award of the key may hold again
        if refused is None:
            refused = {}
            for outcome in evaluate(params, True):
                if isinstance(outcome, NoAward) and outcome.basis_key:
                    refused.setdefault(outcome.basis_key, outcome)
        why = refused[award.basis_key].reason if award.basis_key in refused else _gone(award)
        result.revocations.append(Revocation(award, f"{trigger}: {why}"))
    for key, decision in desired.items():
        if key not in held:
            wanted_keys.setdefault(key, decision)
    back = f"{trigger}: its basis holds again"
    for key, decision in wanted_keys.items():
        earlier = next(
            (r for r in revoked if r.basis_key == key and dict(r.basis) == dict(decision.basis) and justified(r)),
            None,
        )
        if earlier is not None:
            result.reinstatements.append(Reinstatement(earlier, back))
        else:
            result.grants.append(decision)
    # Keys no award of the plan fills: a revoked award its own versions justify again is reinstated.
    filled = held | set(wanted_keys)
    for award in revoked:
        if award.basis_key not in filled and justified(award):
            filled.add(award.basis_key)
            result.reinstatements.append(Reinstatement(award, back))
    return result


class _Justified:
    """Whether an award's own parameter versions still justify it on the current facts with its basis.

    A later parameter version never takes an award away ("earlier decisions keep the version they used"), and a
    revoked award is reinstated on the same test. Awards decided with the same versions share one evaluation.
    """

    def __init__(self, evaluate: Evaluate, params: ParameterTable) -> None:
        self._evaluate = evaluate
        self._params = params
        self._bases: dict[tuple[ParameterVersion, ...], dict[str, Mapping[str, str]]] = {}

    def __call__(self, award: GrantedAward) -> bool:
        if not award.parameters:
            return False
        bases = self._bases.get(award.parameters)
        if bases is None:
            bases = {}
            for outcome in self._evaluate(self._params.pinned(award.parameters), False):
                if isinstance(outcome, AwardDecision):
                    bases.setdefault(outcome.basis_key, outcome.basis)
            self._bases[award.parameters] = bases
        basis = bases.get(award.basis_key)
        return basis is not None and dict(basis) == dict(award.basis)


def _gone(award: GrantedAward) -> str:
    return f"the facts no longer include its basis ({award.basis_key})"
