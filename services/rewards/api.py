"""gRPC servicer of the rewards service.

Awards are granted by the event consumers (and, for talent projects, which this service owns, by the call that
records the project); this servicer reads the ledger, simulates, explains the rules, adds parameter versions.
Each unit of work runs in a worker thread with its own transaction.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime
from typing import Any, TypeVar

import grpc
from gaoxin.rewards.v1 import rewards_pb2 as pb
from gaoxin.rewards.v1 import rewards_pb2_grpc as pb_grpc
from gaoxin.types.v1 import types_pb2
from sqlalchemy import Engine

from services.common.convert import (
    ZoneLevel,
    clause_to_pb,
    date_from_pb,
    date_to_pb,
    level_from_pb,
    level_to_pb,
    today_in_china,
)
from services.common.db import reading, transaction
from services.common.errors import Conflict, FieldViolation, InvalidArgument, NotFound
from services.common.logs import request_id_var
from services.common.outbox import OutboxRelay
from services.common.paging import decode_sequence, encode_token, page_size
from services.rewards import ledger, simulation, store
from services.rewards.domain import validation as check
from services.rewards.domain.parameters import SPECS, ParameterTable, ParameterVersion, parse_value, render_value
from services.rewards.domain.rules import (
    RULES,
    RULES_BY_ID,
    AwardDecision,
    DesignationFact,
    FactSet,
    NoAward,
    Outcome,
    RankFact,
    RecognitionFact,
    TalentProjectFact,
    evaluate_all,
    rules_using,
)
from services.rewards.indicators_client import IndicatorsClient

Context = grpc.aio.ServicerContext[object, object]
T = TypeVar("T")

_STATUS = {"granted": pb.AWARD_STATUS_GRANTED, "revoked": pb.AWARD_STATUS_REVOKED}
_STATUS_NAME = {v: k for k, v in _STATUS.items()}
BENEFICIARY_KINDS = tuple(dict.fromkeys(r.beneficiary_kind for r in RULES))  # zone, county, project
RULE_ORDER = {r.id: i for i, r in enumerate(RULES)}
# A simulation evaluates everything it is given in one call; beyond this it is a batch job, not a request.
MAX_SIMULATED_FACTS = 100_000


def _use(name: str, value: str, version: int, effective_from: date) -> pb.ParameterUse:
    spec = SPECS.get(name)
    return pb.ParameterUse(
        name=name,
        value=value,
        version=version,
        effective_from=date_to_pb(effective_from),
        kind=spec.kind.value if spec else "",
    )


def _uses(parameters: Iterable[ParameterVersion]) -> list[pb.ParameterUse]:
    return [_use(p.name, render_value(p.value), p.version, p.effective_from) for p in parameters]


def award_to_pb(row: Any, history: Iterable[store.StatusChange] = ()) -> pb.Award:
    """A ledger row, with its history when given (the ledger's reads give it; a simulation does not)."""
    award = pb.Award(
        award_id=row.award_id,
        rule=row.rule,
        beneficiary=pb.Beneficiary(kind=row.beneficiary_kind, code=row.beneficiary_code),
        year=row.year,
        amount_yuan=row.amount_yuan,
        status=_STATUS[row.status],
        basis=row.basis,
        clause=clause_to_pb(row.clause),
        parameters=[
            _use(p["name"], p["value"], p["version"], date.fromisoformat(p["effective_from"])) for p in row.parameters
        ],
        earmark=row.earmark,
        revocation_reason=row.revocation_reason or "",
        explanation=row.explanation,
        basis_key=row.basis_key,
    )
    award.granted_at.FromDatetime(row.granted_at)
    if row.revoked_at is not None:
        award.revoked_at.FromDatetime(row.revoked_at)
    for change in history:
        entry = award.history.add(status=_STATUS[change.status], reason=change.reason or "")
        entry.at.FromDatetime(change.at)
    return award


def awards_to_pb(conn: Any, rows: Sequence[Any]) -> list[pb.Award]:
    """Ledger rows with their histories (one query for all of them)."""
    changes = store.histories(conn, [row.award_id for row in rows])
    return [award_to_pb(row, changes.get(row.award_id, ())) for row in rows]


def decision_to_pb(decision: AwardDecision) -> pb.Award:
    """A decision not (yet) in the ledger: a simulated award, with no id, status or times."""
    return pb.Award(
        rule=decision.rule,
        beneficiary=pb.Beneficiary(kind=decision.beneficiary_kind, code=decision.beneficiary_code),
        year=decision.year,
        amount_yuan=decision.amount_yuan,
        basis=decision.basis,
        clause=clause_to_pb(decision.clause),
        parameters=_uses(decision.parameters),
        earmark=decision.earmark,
        explanation=decision.explanation,
        basis_key=decision.basis_key,
    )


def refusal_to_pb(refusal: NoAward) -> pb.Refusal:
    spec = next(r for r in RULES if r.id == refusal.rule)
    return pb.Refusal(
        rule=refusal.rule,
        beneficiary=pb.Beneficiary(
            kind=refusal.beneficiary_kind or spec.beneficiary_kind, code=refusal.beneficiary_code
        ),
        basis_key=refusal.basis_key,
        reason=refusal.reason,
        parameters=_uses(refusal.parameters),
        clause=clause_to_pb(spec.clause),
    )


def _invalid(violations: list[FieldViolation]) -> None:
    if violations:
        raise InvalidArgument(
            "; ".join(f"{'.'.join(map(str, v.location))}: {v.message}" for v in violations), violations
        )


def _date(value: types_pb2.Date, at: check.Location, violations: list[FieldViolation]) -> date | None:
    try:
        return date_from_pb(value)
    except ValueError as exc:
        violations.append(FieldViolation(at, f"is not a valid date ({exc})"))
        return None


def _fact_date(
    value: types_pb2.Date, at: check.Location, violations: list[FieldViolation], today: date | None = None
) -> date | None:
    """A fact's date: required, valid, in range; None (with a violation) otherwise."""
    try:
        on = date_from_pb(value)
    except ValueError as exc:
        violations.append(FieldViolation(at, f"is not a valid date ({exc})"))
        return None
    found = check.check_fact_date(on, at, today)
    violations += found
    return None if found else on


def _level(value: types_pb2.ZoneLevel.ValueType, at: check.Location, violations: list[FieldViolation]) -> ZoneLevel:
    level = level_from_pb(value)
    if level is None:
        violations.append(FieldViolation(at, "must be 'provincial' or 'national'"))
        return ZoneLevel.PROVINCIAL
    return level


def _sorted_outcomes(outcomes: Iterable[Outcome]) -> list[Outcome]:
    return sorted(outcomes, key=lambda o: (RULE_ORDER[o.rule], o.beneficiary_code, o.basis_key))


def _award_order(award: Any) -> tuple[int, str, str]:
    """Rule, beneficiary, basis key: the order of a simulation's awards, decided or held by the ledger."""
    return RULE_ORDER[award.rule], award.beneficiary_code, award.basis_key


# ---------------------------------------------------------------------------------------- request parsing


def talent_project_from_pb(
    project: pb.TalentProject, at: check.Location, violations: list[FieldViolation], today: date | None
) -> TalentProjectFact:
    """`today` set: a real project (its recruitment date must not be in the future)."""
    violations += check.check_project_code(project.project_code, (*at, "project_code"))
    violations += check.check_name(project.name, (*at, "name"))
    violations += check.check_zone_code(project.zone_code, (*at, "zone_code"))
    level = _level(project.talent_level, (*at, "talent_level"), violations)
    violations += check.check_investment(project.investment_yuan, (*at, "investment_yuan"))
    on = _fact_date(project.recruited_on, (*at, "recruited_on"), violations, today)
    return TalentProjectFact(
        project.project_code, project.name, project.zone_code, level, project.investment_yuan, on or date.min
    )


def parameter_from_pb(
    value: pb.ParameterValue, table: ParameterTable, at: check.Location, violations: list[FieldViolation]
) -> ParameterVersion | None:
    before = len(violations)
    violations += check.check_parameter_name(value.name, (*at, "name"))
    try:
        effective_from = date_from_pb(value.effective_from)
    except ValueError as exc:
        violations.append(FieldViolation((*at, "effective_from"), f"is not a valid date ({exc})"))
        effective_from = None
    else:
        violations += check.check_effective_from(effective_from, (*at, "effective_from"))
    parsed = None
    if value.name in SPECS:
        try:
            parsed = parse_value(value.name, value.value)
        except ValueError as exc:
            violations.append(FieldViolation((*at, "value"), str(exc)))
        else:
            if effective_from is not None:
                violations += check.check_parameter_version(value.name, parsed, effective_from, (*at, "value"))
    if len(violations) > before or parsed is None or effective_from is None:
        return None
    spec = SPECS[value.name]
    return ParameterVersion(
        value.name, parsed, table.next_version(value.name), effective_from, spec.clause, spec.description, "admin"
    )


def facts_from_simulation(request: pb.SimulateAwardsRequest, violations: list[FieldViolation]) -> FactSet:
    facts = FactSet()
    seen_recognition: dict[tuple[str, date], ZoneLevel] = {}
    for i, r in enumerate(request.recognitions):
        at: check.Location = ("recognitions", i)
        violations += check.check_zone_code(r.zone_code, (*at, "zone_code"))
        level = _level(r.level, (*at, "level"), violations)
        on = _fact_date(r.recognized_on, (*at, "recognized_on"), violations)
        if on is None:
            continue
        if seen_recognition.get((r.zone_code, on), level) is not level:
            violations.append(FieldViolation((*at, "level"), "another level is given for this zone on this date"))
        seen_recognition[(r.zone_code, on)] = level
        facts.recognitions.setdefault(r.zone_code, []).append(RecognitionFact(on, level))
    for i, d in enumerate(request.designations):
        at = ("designations", i)
        violations += check.check_county_code(d.county_code, (*at, "county_code"))
        violations += check.check_programme(d.programme, (*at, "programme"))
        level = _level(d.level, (*at, "level"), violations)
        on = _fact_date(d.listed_on, (*at, "listed_on"), violations)
        if on is not None:
            facts.designations.setdefault(d.county_code, []).append(DesignationFact(d.programme, level, on))
    seen_rankings: set[tuple[int, ZoneLevel]] = set()
    for i, ranking in enumerate(request.rankings):
        at = ("rankings", i)
        violations += check.check_year(ranking.year, (*at, "year"))
        level = _level(ranking.level, (*at, "level"), violations)
        if (ranking.year, level) in seen_rankings:
            violations.append(FieldViolation((*at, "year"), f"a second {level.value} ranking of {ranking.year}"))
        seen_rankings.add((ranking.year, level))
        zones: set[str] = set()
        ranks: set[int] = set()
        for j, entry in enumerate(ranking.ranks):
            where: check.Location = (*at, "ranks", j)
            violations += check.check_zone_code(entry.zone_code, (*where, "zone_code"))
            if entry.rank < 1:
                violations.append(FieldViolation((*where, "rank"), "must be a positive integer"))
            if entry.rank in ranks:
                violations.append(FieldViolation((*where, "rank"), "ranks must be unique within a ranking"))
            if entry.zone_code in zones:
                violations.append(FieldViolation((*where, "zone_code"), "a zone appears twice in this ranking"))
            zones.add(entry.zone_code)
            ranks.add(entry.rank)
            facts.ranks.setdefault(entry.zone_code, []).append(RankFact(ranking.year, level, entry.rank))
    for i, project in enumerate(request.talent_projects):
        at = ("talent_projects", i)
        fact = talent_project_from_pb(project, at, violations, today=None)
        if fact.project_code in facts.projects:
            violations.append(FieldViolation((*at, "project_code"), "a project appears twice"))
        facts.projects[fact.project_code] = fact
    return facts


def recognition_conflicts(
    request: pb.SimulateAwardsRequest, conflicts: Sequence[simulation.Conflict]
) -> list[FieldViolation]:
    """A hypothetical recognition on a date its zone has another level recorded on: the real push is refused."""
    recorded = {(c.zone_code, c.recognized_on): c.recorded for c in conflicts}
    violations = []
    for i, r in enumerate(request.recognitions):
        on = date_from_pb(r.recognized_on)
        held = recorded.get((r.zone_code, on)) if on is not None else None
        if held is not None:
            message = f"zone {r.zone_code} has a {held.value} recognition recorded on this date"
            violations.append(FieldViolation(("recognitions", i, "level"), message))
    return violations


# ------------------------------------------------------------------------------------------------ servicer


class RewardsServicer(pb_grpc.RewardsServiceServicer):
    def __init__(self, engine: Engine, relay: OutboxRelay | None = None, indicators: IndicatorsClient | None = None):
        self.engine = engine
        self.relay = relay
        self.indicators = indicators

    async def _read(self, work: Callable[[Any], T]) -> T:
        def run() -> T:
            with reading(self.engine) as conn:
                return work(conn)

        return await asyncio.to_thread(run)

    async def _write(self, work: Callable[[Any], T]) -> T:
        def run() -> T:
            with transaction(self.engine) as conn:
                return work(conn)

        result = await asyncio.to_thread(run)
        if self.relay is not None:
            self.relay.notify()
        return result

    # ------------------------------------------------------------------------------------------- ledger

    async def ListAwards(self, request: pb.ListAwardsRequest, context: Context) -> pb.ListAwardsResponse:
        limit = page_size(request.page_size)
        after = decode_sequence(request.page_token)
        if request.rule and request.rule not in RULES_BY_ID:
            # An unknown rule would match nothing: say so rather than answer an empty page that looks like "none".
            known = ", ".join(RULES_BY_ID)
            raise InvalidArgument("unknown rule", [FieldViolation(("rule",), f"unknown rule; the rules are {known}")])
        if request.beneficiary_kind and request.beneficiary_kind not in BENEFICIARY_KINDS:
            kinds = ", ".join(BENEFICIARY_KINDS)
            raise InvalidArgument(
                "unknown beneficiary kind",
                [FieldViolation(("beneficiary_kind",), f"unknown beneficiary kind; the kinds are {kinds}")],
            )
        where = store.AwardFilter(
            year=request.year or None,
            beneficiary_code=request.beneficiary_code or None,
            rule=request.rule or None,
            status=_STATUS_NAME.get(request.status),
            beneficiary_kind=request.beneficiary_kind or None,
        )

        def work(conn: Any) -> tuple[list[pb.Award], bool, int]:
            rows = store.list_awards(conn, where, after or 0, limit + 1)
            page = rows[:limit]
            return awards_to_pb(conn, page), len(rows) > limit, page[-1].seq if page else 0

        awards, more, last = await self._read(work)
        return pb.ListAwardsResponse(awards=awards, next_page_token=encode_token(last) if more else "")

    async def GetAward(self, request: pb.GetAwardRequest, context: Context) -> pb.Award:
        def work(conn: Any) -> pb.Award | None:
            row = store.get_award(conn, request.award_id)
            return None if row is None else awards_to_pb(conn, [row])[0]

        award = await self._read(work)
        if award is None:
            raise NotFound(f"no award {request.award_id}")
        return award

    async def SummarizeAwards(self, request: pb.SummarizeAwardsRequest, context: Context) -> pb.AwardSummary:
        rows = await self._read(lambda conn: store.summary_rows(conn, request.year or None))
        return summary_to_pb(rows)

    # --------------------------------------------------------------------------------------- simulation

    async def SimulateAwards(self, request: pb.SimulateAwardsRequest, context: Context) -> pb.SimulateAwardsResponse:
        size = len(request.recognitions) + len(request.designations) + len(request.talent_projects)
        size += sum(len(r.ranks) for r in request.rankings)
        if size > MAX_SIMULATED_FACTS:
            raise InvalidArgument(
                f"a simulation takes at most {MAX_SIMULATED_FACTS} facts, not {size}",
                [FieldViolation(("rankings",), f"at most {MAX_SIMULATED_FACTS} facts in all")],
            )
        violations: list[FieldViolation] = []
        facts = facts_from_simulation(request, violations)
        table = await self._read(ledger.parameter_table)
        extra = [parameter_from_pb(p, table, ("parameters", i), violations) for i, p in enumerate(request.parameters)]
        if request.recorded_facts not in pb.RecordedFacts.values():
            violations.append(FieldViolation(("recorded_facts",), "must be 'include' or 'ignore'"))
        _invalid(violations)
        hypothetical: list[ParameterVersion] = []
        for version in extra:
            assert version is not None
            # Each hypothetical version outranks the recorded ones and those before it in the request.
            hypothetical.append(
                ParameterVersion(
                    version.name,
                    version.value,
                    table.next_version(version.name) + sum(v.name == version.name for v in hypothetical),
                    version.effective_from,
                    version.clause,
                    version.description,
                    "simulation",
                )
            )
        params = table.with_versions(hypothetical)
        if request.recorded_facts == pb.RECORDED_FACTS_IGNORE:
            outcomes = _sorted_outcomes(evaluate_all(facts, params))
            return pb.SimulateAwardsResponse(
                awards=[decision_to_pb(o) for o in outcomes if isinstance(o, AwardDecision)],
                refusals=[refusal_to_pb(o) for o in outcomes if isinstance(o, NoAward)],
            )
        rankings = {(r.year, level) for r in request.rankings if (level := level_from_pb(r.level)) is not None}

        def work(conn: Any) -> simulation.Outcome:
            found = simulation.conflicts(conn, facts)
            if found:
                _invalid(recognition_conflicts(request, found))
            return simulation.simulate(conn, facts, rankings, params)

        outcome = await self._read(work)
        awards = [(_award_order(d), decision_to_pb(d)) for d in outcome.grants]
        awards += [(_award_order(row), award_to_pb(row)) for row in outcome.held]
        # As the ledger holds them now (status REVOKED): what the push would grant again, as they were.
        awards += [(_award_order(row), award_to_pb(row)) for row in outcome.reinstatements]
        revocations = sorted(outcome.revocations, key=lambda r: _award_order(r[0]))
        return pb.SimulateAwardsResponse(
            awards=[award for _, award in sorted(awards, key=lambda a: a[0])],
            refusals=[refusal_to_pb(o) for o in _sorted_outcomes(outcome.refusals) if isinstance(o, NoAward)],
            revocations=[pb.SimulatedRevocation(award=award_to_pb(row), reason=reason) for row, reason in revocations],
        )

    # ------------------------------------------------------------------------------- rules, parameters

    async def ListRewardRules(self, request: pb.ListRewardRulesRequest, context: Context) -> pb.ListRewardRulesResponse:
        violations: list[FieldViolation] = []
        as_of = _date(request.as_of, ("as_of",), violations) or today_in_china()
        _invalid(violations)

        def work(conn: Any) -> tuple[ParameterTable, dict[tuple[str, int], datetime]]:
            return ledger.parameter_table(conn), store.parameter_recorded_at(conn)

        table, recorded = await self._read(work)
        return pb.ListRewardRulesResponse(rules=rules_to_pb(table, recorded, as_of), as_of=date_to_pb(as_of))

    async def AddRewardParameter(
        self, request: pb.AddRewardParameterRequest, context: Context
    ) -> pb.AddRewardParameterResponse:
        violations: list[FieldViolation] = []
        # Checked once here for a quick answer, and again in the transaction that numbers the version.
        parameter_from_pb(request.parameter, ParameterTable(), (), violations)
        _invalid(violations)
        request_id = request_id_var.get()

        def work(conn: Any) -> tuple[ParameterVersion, ledger.Applied, datetime]:
            table = ledger.parameter_table(conn)
            version = parameter_from_pb(request.parameter, table, (), [])
            assert version is not None
            if not store.add_parameter_version(conn, version, request_id):
                raise Conflict(
                    f"another version of {version.name} was added at the same time; retry",
                    [FieldViolation(("name",), "concurrent change")],
                )
            table = table.with_versions([version])
            trigger = (
                f"parameter {version.name} version {version.version} ({render_value(version.value)}) effective "
                f"from {version.effective_from.isoformat()} added"
            )
            applied = ledger.Applied()
            for rule in rules_using(version.name):
                applied.extend(
                    ledger.reconcile(
                        conn,
                        rule=rule.id,
                        codes=None,
                        trigger=trigger,
                        source=f"parameter:{version.name}:v{version.version}",
                        params=table,
                    )
                )
            return version, applied, store.parameter_recorded_at(conn)[(version.name, version.version)]

        version, applied, recorded_at = await self._write(work)
        return pb.AddRewardParameterResponse(
            parameter=parameter_version_to_pb(version, recorded_at), awards_granted=len(applied.granted)
        )

    # ---------------------------------------------------------------------------------- talent projects

    async def RecordTalentProject(
        self, request: pb.RecordTalentProjectRequest, context: Context
    ) -> pb.RecordTalentProjectResponse:
        violations: list[FieldViolation] = []
        fact = talent_project_from_pb(request.project, (), violations, today=today_in_china())
        _invalid(violations)
        if self.indicators is None:
            raise RuntimeError("RecordTalentProject needs the indicators client")
        zone = await self.indicators.zone(fact.zone_code)
        if zone is None:
            raise InvalidArgument(
                f"zone {fact.zone_code} is not registered",
                [FieldViolation(("zone_code",), "unknown zone; PUT /v1/zones/{code} first")],
            )
        source = f"request:{request_id_var.get()}"

        def work(conn: Any) -> tuple[bool, bool, pb.TalentProjectDetail]:
            # The zone's recognitions as the indicators service knows them now, so the decision does not wait
            # for the zone_recognized events to arrive.
            store.add_recognitions(conn, fact.zone_code, zone.recognitions)
            created, changed = store.upsert_talent_project(conn, fact)
            if changed:
                verb = "recorded" if created else "corrected"
                trigger = f"talent project {fact.project_code} {verb}"
                ledger.reconcile(conn, rule="talent_project", codes=[fact.project_code], trigger=trigger, source=source)
            detail = talent_project_detail(conn, fact.project_code)
            assert detail is not None
            return created, changed, detail

        created, changed, detail = await self._write(work)
        return pb.RecordTalentProjectResponse(project=detail, created=created, changed=changed)

    async def GetTalentProject(self, request: pb.GetTalentProjectRequest, context: Context) -> pb.TalentProjectDetail:
        detail = await self._read(lambda conn: talent_project_detail(conn, request.project_code))
        if detail is None:
            raise NotFound(f"talent project {request.project_code} not found")
        return detail


# ------------------------------------------------------------------------------------------ conversions


def talent_project_to_pb(fact: TalentProjectFact) -> pb.TalentProject:
    return pb.TalentProject(
        project_code=fact.project_code,
        name=fact.name,
        zone_code=fact.zone_code,
        talent_level=level_to_pb(fact.talent_level),
        investment_yuan=fact.investment_yuan,
        recruited_on=date_to_pb(fact.recruited_on),
    )


def talent_project_detail(conn: Any, code: str) -> pb.TalentProjectDetail | None:
    """The project, every award it has had, and why it has none now (when it has none)."""
    row = store.talent_project(conn, code)
    if row is None:
        return None
    awards = store.awards_of(conn, "talent_project", "project", code)
    detail = pb.TalentProjectDetail(project=talent_project_to_pb(row.fact), awards=awards_to_pb(conn, awards))
    if not any(a.status == store.GRANTED for a in awards):
        spec = next(r for r in RULES if r.id == "talent_project")
        facts = ledger.load_facts(conn, spec, [code])
        outcomes = spec.evaluate(code, facts, ledger.parameter_table(conn), True)
        detail.refusals.extend(refusal_to_pb(o) for o in outcomes if isinstance(o, NoAward))
    detail.recorded_at.FromDatetime(row.recorded_at)
    detail.updated_at.FromDatetime(row.updated_at)
    return detail


def parameter_version_to_pb(version: ParameterVersion, recorded_at: datetime | None) -> pb.ParameterVersion:
    message = pb.ParameterVersion(
        name=version.name,
        value=render_value(version.value),
        version=version.version,
        effective_from=date_to_pb(version.effective_from),
        source=version.source,
        kind=SPECS[version.name].kind.value,
    )
    if recorded_at is not None:
        message.recorded_at.FromDatetime(recorded_at)
    return message


def rules_to_pb(table: ParameterTable, recorded: dict[tuple[str, int], datetime], as_of: date) -> list[pb.RewardRule]:
    result = []
    for rule in RULES:
        parameters = []
        for name in rule.parameters:
            spec = SPECS[name]
            in_force = table.in_force(name, as_of)
            message = pb.Parameter(
                name=name,
                kind=spec.kind.value,
                description=spec.description,
                clause=clause_to_pb(spec.clause),
                choices=list(spec.choices),
                open_point=spec.open_point,
                versions=[parameter_version_to_pb(v, recorded.get((v.name, v.version))) for v in table.history(name)],
                has_value_in_force=in_force is not None,
            )
            if in_force is not None:
                message.in_force.CopyFrom(parameter_version_to_pb(in_force, recorded.get((name, in_force.version))))
            parameters.append(message)
        missing = [name for name in rule.required if table.in_force(name, as_of) is None]
        reasons = [
            f"{name} has no value in force on {as_of.isoformat()}"
            + (
                ": the policy text gives none (按照招商项目投资额度的一定比例); an admin sets one with "
                "POST /v1/reward-parameters"
                if not table.history(name)
                else ""
            )
            + "; the rule grants nothing until it has one"
            for name in missing
        ]
        result.append(
            pb.RewardRule(
                rule=rule.id,
                title=rule.title,
                beneficiary_kind=rule.beneficiary_kind,
                clause=clause_to_pb(rule.clause),
                condition=rule.condition,
                basis_key=rule.basis_key,
                fact_date=rule.fact_date,
                parameters=parameters,
                active=not missing,
                inactive_reasons=reasons,
                triggers=list(rule.triggers),
            )
        )
    return result


def summary_to_pb(rows: Sequence[store.SummaryRow]) -> pb.AwardSummary:
    def add(total: pb.Total, count: int, amount: int) -> None:
        total.count += count
        total.amount_yuan += amount

    years: dict[int, pb.YearSummary] = {}
    rules: dict[int, dict[str, pb.RuleTotal]] = defaultdict(dict)
    earmarks: dict[int, dict[str, pb.EarmarkTotal]] = defaultdict(dict)
    for row in rows:
        year = years.setdefault(row.year, pb.YearSummary(year=row.year, granted=pb.Total(), revoked=pb.Total()))
        rule = rules[row.year].setdefault(row.rule, pb.RuleTotal(rule=row.rule, granted=pb.Total(), revoked=pb.Total()))
        earmark = earmarks[row.year].setdefault(
            row.earmark, pb.EarmarkTotal(earmark=row.earmark, granted=pb.Total(), revoked=pb.Total())
        )
        for holder in (year, rule, earmark):
            add(holder.granted if row.status == store.GRANTED else holder.revoked, row.count, row.amount_yuan)
    summary = pb.AwardSummary()
    for number in sorted(years):
        year = years[number]
        year.rules.extend(rules[number][r] for r in sorted(rules[number], key=lambda r: RULE_ORDER.get(r, 99)))
        year.earmarks.extend(earmarks[number][e] for e in sorted(earmarks[number]))
        summary.years.append(year)
    return summary
