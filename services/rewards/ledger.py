"""The ledger's unit of work: a fact changed → decide again → revoke, reinstate and grant, announce, in one
transaction.

Every function takes the caller's connection (a consumer's inbox transaction, or a gRPC call's transaction), so
that the fact, the awards it changes and their events (outbox) commit together or not at all.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from gaoxin.events.v1 import events_pb2
from sqlalchemy.engine import Connection, Row

from services.common.outbox import add_event, new_event_meta
from services.rewards import metrics, store
from services.rewards.domain.parameters import DEFAULT_PARAMETERS, ParameterTable
from services.rewards.domain.reconcile import GrantedAward, Plan, plan
from services.rewards.domain.rules import RULES_BY_ID, AwardDecision, FactSet, Outcome, Rule

log = logging.getLogger(__name__)

PRODUCER = "rewards"
AWARD_GRANTED = "gaoxin.rewards.award_granted.v1"
AWARD_REVOKED = "gaoxin.rewards.award_revoked.v1"


@dataclass
class Applied:
    """What a reconciliation did: award ids granted (new ones and reinstated ones), of them those reinstated, and
    award ids revoked."""

    granted: list[str] = field(default_factory=list)
    revoked: list[str] = field(default_factory=list)
    reinstated: list[str] = field(default_factory=list)

    def extend(self, other: Applied) -> None:
        self.granted += other.granted
        self.revoked += other.revoked
        self.reinstated += other.reinstated


def parameter_table(conn: Connection) -> ParameterTable:
    """The platform's defaults with every version an admin added."""
    return ParameterTable([*DEFAULT_PARAMETERS, *store.parameter_versions(conn)])


def load_facts(conn: Connection, rule: Rule, codes: Sequence[str] | None) -> FactSet:
    """The facts `rule` reads for these beneficiaries (every beneficiary when `codes` is None)."""
    facts = FactSet()
    if rule.id == "new_provincial_zone":
        facts.recognitions = store.recognitions(conn, codes)
    elif rule.id == "rank_advance":
        facts.ranks = store.rank_histories(conn, codes)
    elif rule.id == "pilot_county":
        facts.designations = store.designations(conn, codes)
    elif rule.id == "talent_project":
        facts.projects = store.talent_projects_by_code(conn, codes)
        zones = sorted({p.zone_code for p in facts.projects.values()})
        facts.recognitions = store.recognitions(conn, zones) if zones else {}
    else:  # pragma: no cover - RULES is closed
        raise KeyError(rule.id)
    return facts


def plan_rule(
    *,
    rule: Rule,
    facts: FactSet,
    granted: dict[str, list[GrantedAward]],
    params: ParameterTable,
    trigger: str,
    codes: Sequence[str] | None = None,
    revoked: dict[str, list[GrantedAward]] | None = None,
) -> Plan:
    """The plan for every beneficiary named (or, with `codes` None, every one with facts or granted awards: one
    with revoked awards only and no facts has nothing to reinstate)."""
    names = sorted(set(rule.named_in(facts)) | set(granted)) if codes is None else sorted(set(codes))
    result = Plan()
    for code in names:

        def evaluate(table: ParameterTable, refusals: bool, code: str = code) -> list[Outcome]:
            return rule.evaluate(code, facts, table, refusals)

        result.extend(plan(granted.get(code, []), evaluate, params, trigger, revoked=(revoked or {}).get(code, ())))
    return result


def reconcile(
    conn: Connection,
    *,
    rule: str,
    codes: Sequence[str] | None,
    trigger: str,
    source: str,
    params: ParameterTable | None = None,
) -> Applied:
    """Bring `rule`'s awards of these beneficiaries (None: all) in line with the facts stored now."""
    spec = RULES_BY_ID[rule]
    store.lock_rule(conn, rule)
    params = params or parameter_table(conn)
    facts = load_facts(conn, spec, codes)
    held = store.ledger_awards(conn, rule, spec.beneficiary_kind, codes)
    todo = plan_rule(
        rule=spec, facts=facts, granted=held.granted, params=params, trigger=trigger, codes=codes, revoked=held.revoked
    )
    return apply(conn, todo, source)


def apply(conn: Connection, todo: Plan, source: str) -> Applied:
    """Revocations first (freeing their keys), then reinstatements and grants; each with its event in the outbox.

    A reinstated award is announced as granted (`award_granted`, `reinstated` true) with its own id and amount,
    and counted in the metrics as a grant: its amount is back in the totals.
    """
    done = Applied()
    for revocation in todo.revocations:
        if store.revoke(conn, revocation.award.award_id, revocation.reason, source):
            stage_award_revoked(conn, revocation.award, revocation.reason)
            metrics.note(conn, False, revocation.award.rule, revocation.award.amount_yuan)
            done.revoked.append(revocation.award.award_id)
            _log("award revoked", revocation.award.award_id, revocation.award.rule, revocation.award.beneficiary_code)
    for reinstatement in todo.reinstatements:
        row = store.reinstate(conn, reinstatement.award.award_id, reinstatement.reason, source)
        if row is not None:
            stage_award_granted(conn, row, row.award_id, reinstated=True)
            metrics.note(conn, True, row.rule, row.amount_yuan)
            done.granted.append(row.award_id)
            done.reinstated.append(row.award_id)
            _log("award reinstated", row.award_id, row.rule, row.beneficiary_code)
    for decision in todo.grants:
        award_id = store.grant(conn, decision, source)
        if award_id is not None:
            stage_award_granted(conn, decision, award_id)
            metrics.note(conn, True, decision.rule, decision.amount_yuan)
            done.granted.append(award_id)
            _log("award granted", award_id, decision.rule, decision.beneficiary_code)
    return done


def stage_award_granted(
    conn: Connection, award: AwardDecision | Row[tuple[object, ...]], award_id: str, reinstated: bool = False
) -> None:
    """`award`: a decision just granted as `award_id`, or the ledger's row of a reinstated award."""
    event = events_pb2.AwardGranted(
        meta=new_event_meta(PRODUCER),
        award_id=award_id,
        rule=award.rule,
        beneficiary_kind=award.beneficiary_kind,
        beneficiary_code=award.beneficiary_code,
        year=award.year,
        amount_yuan=award.amount_yuan,
        clause_number=award.clause,
        reinstated=reinstated,
    )
    add_event(conn, store.outbox, AWARD_GRANTED, event)


def stage_award_revoked(conn: Connection, award: GrantedAward, reason: str) -> None:
    event = events_pb2.AwardRevoked(
        meta=new_event_meta(PRODUCER),
        award_id=award.award_id,
        rule=award.rule,
        beneficiary_kind=award.beneficiary_kind,
        beneficiary_code=award.beneficiary_code,
        year=award.year,
        amount_yuan=award.amount_yuan,
        reason=reason,
    )
    add_event(conn, store.outbox, AWARD_REVOKED, event)


def _log(message: str, award_id: str, rule: str, beneficiary: str) -> None:
    log.info(message, extra={"fields": {"award_id": award_id, "rule": rule, "beneficiary": beneficiary}})
