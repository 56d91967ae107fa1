"""Reward rules of clause 二十五 (and clause 五's talent projects) as small pure functions.

Facts in, outcomes out: an `AwardDecision` (who, how much, on which basis, under which parameter versions) or a
`NoAward` saying why not. No I/O, no clock: the real ledger (`services.rewards.ledger`), the simulation and the
benchmarks call the same functions, so the same facts give the same awards.

Dates: a recognition or listing counts by its own date, an annual ranking by the last day of its year, a talent
project by its recruitment date. That date must be on or after the policy took effect, and it picks the
parameter versions the decision uses.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import NamedTuple

from services.common.convert import ZoneLevel
from services.rewards.domain.parameters import ParameterTable, ParameterVersion, render_value

CLAUSE_REWARDS = 25
CLAUSE_TALENT = 5

PROGRAMMES = ("innovation_pilot", "ip_pilot", "ip_demonstration")
PROGRAMME_NAMES = {
    "innovation_pilot": "创新型试点",
    "ip_pilot": "知识产权试点",
    "ip_demonstration": "知识产权示范",
}
LEVEL_NAMES = {ZoneLevel.NATIONAL: "国家级", ZoneLevel.PROVINCIAL: "省级"}
ZONE_NAMES = {ZoneLevel.NATIONAL: "国家高新区", ZoneLevel.PROVINCIAL: "省级高新区"}


# ------------------------------------------------------------------------------------------------- facts

# Facts and outcomes are NamedTuples: immutable like frozen dataclasses, and three times cheaper to build, which
# matters when a full reconciliation decides every year of every zone (bench/rewards_recompute.py).


class RecognitionFact(NamedTuple):
    recognized_on: date
    level: ZoneLevel


class RankFact(NamedTuple):
    """One official rank of a zone: its place in the `level` ranking of `year`."""

    year: int
    level: ZoneLevel
    rank: int


class DesignationFact(NamedTuple):
    programme: str  # one of PROGRAMMES
    level: ZoneLevel
    listed_on: date


class TalentProjectFact(NamedTuple):
    project_code: str
    name: str
    zone_code: str
    talent_level: ZoneLevel
    investment_yuan: int
    recruited_on: date


@dataclass
class FactSet:
    """Everything the rules read, by beneficiary (zone, county or project code)."""

    recognitions: dict[str, list[RecognitionFact]] = field(default_factory=dict)
    ranks: dict[str, list[RankFact]] = field(default_factory=dict)
    designations: dict[str, list[DesignationFact]] = field(default_factory=dict)
    projects: dict[str, TalentProjectFact] = field(default_factory=dict)


# ---------------------------------------------------------------------------------------------- outcomes


class AwardDecision(NamedTuple):
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


class NoAward(NamedTuple):
    """A rule that looked at the facts and granted nothing, and why.

    `basis_key` names the award this fact would have made, so that a revocation can quote why it no longer
    holds; "" when the fact is no candidate at all (e.g. a zone with no recognition).
    """

    rule: str
    reason: str
    parameters: tuple[ParameterVersion, ...] = ()
    beneficiary_kind: str = ""
    beneficiary_code: str = ""
    basis_key: str = ""


Outcome = AwardDecision | NoAward


# The words of clause 二十五 for each earmark the `zone_reward.earmark` parameter may name: both zone rewards
# ("…分别给予 100 万元、50 万元奖励，用于园区服务能力建设支出") are earmarked, and their explanations say so.
EARMARK_WORDS = {"service_capacity_building": "用于园区服务能力建设支出"}


def _earmarked(earmark: ParameterVersion | None) -> str:
    """The words after an amount: the policy's for its earmark (用于园区服务能力建设支出), the token for another."""
    if earmark is None:
        return ""
    return f", {EARMARK_WORDS.get(str(earmark.value), f'earmarked {earmark.value}')}"


def _yuan(amount: int) -> str:
    return f"¥{amount:,}"


def _policy_start(params: ParameterTable, on: date) -> ParameterVersion | None:
    return params.in_force("policy.effective_from", on)


def _before_policy(effective: ParameterVersion | None, on: date) -> bool:
    return effective is None or not isinstance(effective.value, date) or on < effective.value


# ----------------------------------------------------------------------------------- new provincial zone


def new_provincial_zone(zone_code: str, history: Sequence[RecognitionFact], params: ParameterTable) -> Outcome:
    """对新认定的省级高新区给予 100 万元奖励 — a zone whose first recognition ever is provincial.

    A zone first recognised national and later listed provincial (a downgrade) is not newly recognised, and
    a later provincial re-recognition is not new either: only the earliest recognition counts.
    """
    rule = "new_provincial_zone"
    key = "first_recognition"
    if not history:
        return NoAward(rule, "the zone has no recognition", (), "zone", zone_code, key)
    first = min(history, key=lambda r: r.recognized_on)
    on = first.recognized_on
    if first.level is not ZoneLevel.PROVINCIAL:
        reason = f"the zone was first recognised {first.level.value}, not provincial"
        return NoAward(rule, reason, (), "zone", zone_code, key)
    effective = _policy_start(params, on)
    if effective is None or _before_policy(effective, on):
        reason = f"recognised on {on.isoformat()}, before the policy took effect"
        return NoAward(rule, reason, (effective,) if effective else (), "zone", zone_code, key)
    amount = params.in_force(f"{rule}.amount_yuan", on)
    if amount is None:
        return NoAward(rule, f"no amount in force on {on.isoformat()}", (effective,), "zone", zone_code, key)
    earmark = params.in_force("zone_reward.earmark", on)
    used = (effective, amount) + ((earmark,) if earmark else ())
    return AwardDecision(
        rule=rule,
        beneficiary_kind="zone",
        beneficiary_code=zone_code,
        basis_key=key,
        year=on.year,
        amount_yuan=amount.integer(),
        basis={"zone_code": zone_code, "level": first.level.value, "recognized_on": on.isoformat()},
        clause=CLAUSE_REWARDS,
        parameters=used,
        earmark=str(earmark.value) if earmark else "",
        explanation=(
            f"Zone {zone_code} was first recognised as a provincial-level zone on {on.isoformat()}, on or after "
            f"the policy took effect ({effective.value}): 新认定的省级高新区, {_yuan(amount.integer())}"
            f"{_earmarked(earmark)}."
        ),
    )


# ------------------------------------------------------------------------------------------- rank advance


class _RankTerms(NamedTuple):
    """The parameter versions a ranking of one year and level is judged by (its 31 December picks them)."""

    on: date
    effective: ParameterVersion | None
    before_policy: bool
    without: ParameterVersion | None
    minimum: ParameterVersion | None
    min_places: int
    amount: ParameterVersion | None
    earmark: ParameterVersion | None


def _terms_by_ranking(params: ParameterTable) -> dict[tuple[int, ZoneLevel], _RankTerms]:
    # Every zone of a ranking is judged by the same versions: look them up once per table and ranking.
    return params.memo("rank_advance.terms", dict)


def _rank_terms(params: ParameterTable, year: int, level: ZoneLevel) -> _RankTerms:
    known = _terms_by_ranking(params)
    terms = known.get((year, level))
    if terms is None:
        on = date(year, 12, 31)
        effective = _policy_start(params, on)
        minimum = params.in_force("rank_advance.min_places", on)
        terms = known[(year, level)] = _RankTerms(
            on=on,
            effective=effective,
            before_policy=_before_policy(effective, on),
            without=params.in_force("rank_advance.without_history", on),
            minimum=minimum,
            min_places=minimum.integer() if minimum else 0,
            amount=params.in_force(f"rank_advance_{level.value}.amount_yuan", on),
            earmark=params.in_force("zone_reward.earmark", on),
        )
    return terms


# The possible verdicts of the rank-advance rule on one rank, decided before any outcome is built.
GRANT, BEFORE_POLICY, NO_HISTORY, NO_MINIMUM, TOO_FEW_PLACES, NO_AMOUNT = range(6)


def rank_advance_verdict(fact: RankFact, best: tuple[int, int] | None, terms: _RankTerms) -> int:
    """The rule's conditions, in order; GRANT or the first that fails. No allocation: a full reconciliation
    decides every year of every zone, and most ranks earn nothing."""
    if terms.effective is None or terms.before_policy:
        return BEFORE_POLICY
    if best is None:
        return NO_HISTORY
    if terms.minimum is None:
        return NO_MINIMUM
    if best[0] - fact.rank < terms.min_places:
        return TOO_FEW_PLACES
    if terms.amount is None:
        return NO_AMOUNT
    return GRANT


def rank_advance_in_year(
    zone_code: str, fact: RankFact, best: tuple[int, int] | None, params: ParameterTable
) -> Outcome:
    """对年度考评排名较历史最好位次实现前进 3 位以上的国家高新区、省级高新区分别给予 100 万元、50 万元奖励.

    `best` is the zone's historical best at the same level before `fact.year`: (rank, the first year it was
    reached), or None when the zone has no earlier official rank at that level. The advance is
    best − rank; "3 位以上" includes 3. The ranking counts by 31 December of its year.
    """
    terms = _rank_terms(params, fact.year, fact.level)
    return _rank_outcome(rank_advance_verdict(fact, best, terms), zone_code, fact, best, terms)


def _rank_outcome(
    verdict: int, zone_code: str, fact: RankFact, best: tuple[int, int] | None, terms: _RankTerms
) -> Outcome:
    """The award, or the refusal with its reason and the versions that decided it."""
    rule = "rank_advance"
    year, level, rank = fact
    key = f"{year}:{level}"  # a StrEnum formats as its value
    effective, minimum = terms.effective, terms.minimum
    if verdict == BEFORE_POLICY or effective is None:
        reason = f"the {year} ranking counts on {terms.on.isoformat()}, before the policy took effect: history only"
        return NoAward(rule, reason, (effective,) if effective else (), "zone", zone_code, key)
    if verdict == NO_HISTORY or best is None:
        used = (effective, terms.without) if terms.without else (effective,)
        reason = f"no official {level.value} rank before {year}: no historical best to advance from"
        return NoAward(rule, reason, used, "zone", zone_code, key)
    if verdict == NO_MINIMUM or minimum is None:
        reason = f"no rank_advance.min_places in force on {terms.on.isoformat()}"
        return NoAward(rule, reason, (effective,), "zone", zone_code, key)
    best_rank, best_year = best
    advance = best_rank - rank
    if verdict == TOO_FEW_PLACES:
        reason = (
            f"rank {rank} in {year} against a historical best of {best_rank} ({best_year}): an advance of "
            f"{advance}, fewer than {terms.min_places} places"
        )
        return NoAward(rule, reason, (effective, minimum), "zone", zone_code, key)
    amount, earmark = terms.amount, terms.earmark
    if verdict == NO_AMOUNT or amount is None:
        reason = f"no {level.value} rank-advance amount in force on {terms.on.isoformat()}"
        return NoAward(rule, reason, (effective, minimum), "zone", zone_code, key)
    return AwardDecision(
        rule=rule,
        beneficiary_kind="zone",
        beneficiary_code=zone_code,
        basis_key=key,
        year=year,
        amount_yuan=amount.integer(),
        basis={
            "zone_code": zone_code,
            "year": str(year),
            "level": level.value,
            "rank": str(rank),
            "historical_best": str(best_rank),
            "advance": str(advance),
        },
        clause=CLAUSE_REWARDS,
        parameters=(effective, minimum, amount, earmark) if earmark else (effective, minimum, amount),
        earmark=str(earmark.value) if earmark else "",
        explanation=(
            f"Zone {zone_code} ranked {rank} in the {year} {level.value} ranking, {advance} places better than "
            f"its historical best of {best_rank} ({best_year}); 前进 {terms.min_places} 位以上 includes "
            f"{terms.min_places}: {ZONE_NAMES[level]} {_yuan(amount.integer())}{_earmarked(earmark)}."
        ),
    )


def rank_advance(
    zone_code: str, history: Iterable[RankFact], params: ParameterTable, refusals: bool = True
) -> list[Outcome]:
    """One outcome per official rank of the zone, each judged against the best rank before its year.

    Historical best is the best (smallest) official rank in the years before, at the same level: a zone newly
    national has no national history, whatever its provincial ranks were. A zone has one rank per year and
    level, so in year order each rank can join its level's best as soon as it has been judged.

    `refusals=False` returns the awards only: the same verdicts, without writing out why each other rank
    earns nothing (what a full reconciliation needs; the reasons are written when asked for).
    """
    outcomes: list[Outcome] = []
    best: dict[ZoneLevel, tuple[int, int]] = {}
    known = _terms_by_ranking(params)
    for fact in sorted(history):  # facts are (year, level, rank) tuples: year order, cheaply
        year, level, rank = fact
        prior = best.get(level)
        judged_by = known.get((year, level)) or _rank_terms(params, year, level)
        verdict = rank_advance_verdict(fact, prior, judged_by)
        if verdict == GRANT or refusals:
            outcomes.append(_rank_outcome(verdict, zone_code, fact, prior, judged_by))
        if prior is None or rank < prior[0]:
            best[level] = (rank, year)
    return outcomes


# -------------------------------------------------------------------------------------------- pilot county


def pilot_county(county_code: str, designations: Iterable[DesignationFact], params: ParameterTable) -> list[Outcome]:
    """对列入国家级和省级创新型试点、知识产权试点（示范）的县区，分别给予 50 万元、20 万元奖励.

    One award per listing: a county's first listing in a programme at a level (a later listing in the same
    programme and level is not new). With `pilot_county.one_award_per_listing` false, only the first eligible
    listing of a year and level earns; the award keeps that listing's key, so switching the parameter never
    pays one listing twice.
    """
    rule = "pilot_county"
    outcomes: list[Outcome] = []
    first_listed: dict[tuple[str, ZoneLevel], date] = {}
    year_taken: dict[tuple[int, ZoneLevel], str] = {}
    for d in sorted(designations, key=lambda d: (d.listed_on, d.programme, d.level)):
        listing = (d.programme, d.level)
        key = f"{d.programme}:{d.level.value}"
        on = d.listed_on
        if listing in first_listed:
            reason = f"{d.programme} ({d.level.value}) was already listed on {first_listed[listing].isoformat()}"
            outcomes.append(NoAward(rule, reason, (), "county", county_code))
            continue
        first_listed[listing] = on
        effective = _policy_start(params, on)
        if effective is None or _before_policy(effective, on):
            reason = f"listed on {on.isoformat()}, before the policy took effect"
            outcomes.append(NoAward(rule, reason, (effective,) if effective else (), "county", county_code, key))
            continue
        per_listing = params.in_force("pilot_county.one_award_per_listing", on)
        used: tuple[ParameterVersion, ...] = (effective, per_listing) if per_listing else (effective,)
        taken = year_taken.get((on.year, d.level))
        if per_listing is not None and per_listing.value is False and taken is not None:
            reason = (
                f"already rewarded for the {d.level.value} listing {taken} in {on.year}: one award per county per "
                f"year per level (pilot_county.one_award_per_listing = false)"
            )
            outcomes.append(NoAward(rule, reason, used, "county", county_code, key))
            continue
        amount = params.in_force(f"pilot_county_{d.level.value}.amount_yuan", on)
        if amount is None:
            reason = f"no {d.level.value} pilot-county amount in force on {on.isoformat()}"
            outcomes.append(NoAward(rule, reason, used, "county", county_code, key))
            continue
        year_taken.setdefault((on.year, d.level), key)
        outcomes.append(
            AwardDecision(
                rule=rule,
                beneficiary_kind="county",
                beneficiary_code=county_code,
                basis_key=key,
                year=on.year,
                amount_yuan=amount.integer(),
                basis={
                    "county_code": county_code,
                    "programme": d.programme,
                    "level": d.level.value,
                    "listed_on": on.isoformat(),
                },
                clause=CLAUSE_REWARDS,
                parameters=(*used, amount),
                explanation=(
                    f"County {county_code} was listed in the {d.level.value} {d.programme} programme "
                    f"(列入{LEVEL_NAMES[d.level]}{PROGRAMME_NAMES.get(d.programme, d.programme)}) on "
                    f"{on.isoformat()}: {_yuan(amount.integer())}."
                ),
            )
        )
    return outcomes


# ---------------------------------------------------------------------------------- talent start-up project


def level_on(recognitions: Iterable[RecognitionFact], on: date) -> ZoneLevel | None:
    """A zone's level on a date: that of its latest recognition on or before it (None: not yet recognised)."""
    latest = max((r for r in recognitions if r.recognized_on <= on), key=lambda r: r.recognized_on, default=None)
    return latest.level if latest else None


def talent_project(
    project: TalentProjectFact, zone_recognitions: Sequence[RecognitionFact], params: ParameterTable
) -> Outcome:
    """对引进获评的国家级、省级人才创业项目，按照招商项目投资额度的一定比例进行考核和奖励 (clause 五).

    amount = investment_yuan × talent_project.rate, rounded to whole yuan half up (0.5 yuan up): the award is
    paid in yuan and the rounding must not depend on the platform (ROUND_HALF_EVEN would). The policy names no
    rate, so until an admin sets one the rule grants nothing and says so.
    """
    rule = "talent_project"
    code, on = project.project_code, project.recruited_on
    key = code
    effective = _policy_start(params, on)
    if effective is None or _before_policy(effective, on):
        reason = f"recruited on {on.isoformat()}, before the policy took effect"
        return NoAward(rule, reason, (effective,) if effective else (), "project", code, key)
    used: tuple[ParameterVersion, ...] = (effective,)
    must_be_zone = params.in_force("talent_project.zone_must_be_recognised", on)
    zone_level = level_on(zone_recognitions, on)
    if must_be_zone is not None:
        used += (must_be_zone,)
        if must_be_zone.value is True and zone_level is None:
            reason = f"zone {project.zone_code} was not a recognised high-tech zone on {on.isoformat()}"
            return NoAward(rule, reason, used, "project", code, key)
    rate = params.in_force("talent_project.rate", on)
    if rate is None:
        reason = (
            f"talent_project.rate has no value in force on {on.isoformat()}: the policy names no proportion "
            "(按照招商项目投资额度的一定比例); an admin sets one with POST /v1/reward-parameters"
        )
        return NoAward(rule, reason, used, "project", code, key)
    used += (rate,)
    exact = Decimal(project.investment_yuan) * rate.decimal()
    amount = int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))
    if amount <= 0:
        reason = f"{_yuan(project.investment_yuan)} × {render_value(rate.value)} rounds to ¥0"
        return NoAward(rule, reason, used, "project", code, key)
    basis = {
        "project_code": code,
        "zone_code": project.zone_code,
        "talent_level": project.talent_level.value,
        "investment_yuan": str(project.investment_yuan),
        "recruited_on": on.isoformat(),
    }
    in_zone = f"zone {project.zone_code} ({zone_level.value})" if zone_level else f"zone {project.zone_code}"
    return AwardDecision(
        rule=rule,
        beneficiary_kind="project",
        beneficiary_code=code,
        basis_key=key,
        year=on.year,
        amount_yuan=amount,
        basis=basis,
        clause=CLAUSE_TALENT,
        parameters=used,
        explanation=(
            f"{LEVEL_NAMES[project.talent_level]}人才创业项目 {code} ({project.name}) recruited into {in_zone} "
            f"on {on.isoformat()}: investment {_yuan(project.investment_yuan)} × rate "
            f"{render_value(rate.value)} = {exact.normalize():f} yuan, paid {_yuan(amount)} (rounded half up)."
        ),
    )


# ------------------------------------------------------------------------------------------------ registry


@dataclass(frozen=True)
class Rule:
    id: str
    title: str
    beneficiary_kind: str
    clause: int
    condition: str
    basis_key: str
    fact_date: str
    parameters: tuple[str, ...]  # every parameter the rule reads
    required: tuple[str, ...]  # those without which it grants nothing at all
    triggers: tuple[str, ...]
    # (beneficiary, facts, parameters, refusals): refusals=False may leave out the outcomes that grant nothing.
    evaluate: Callable[[str, FactSet, ParameterTable, bool], list[Outcome]]
    named_in: Callable[[FactSet], Iterable[str]]  # the beneficiaries the facts name for this rule


def _eval_new_provincial_zone(
    code: str, facts: FactSet, params: ParameterTable, refusals: bool = True
) -> list[Outcome]:
    return [new_provincial_zone(code, facts.recognitions.get(code, ()), params)]


def _eval_rank_advance(code: str, facts: FactSet, params: ParameterTable, refusals: bool = True) -> list[Outcome]:
    return rank_advance(code, facts.ranks.get(code, ()), params, refusals)


def _eval_pilot_county(code: str, facts: FactSet, params: ParameterTable, refusals: bool = True) -> list[Outcome]:
    return pilot_county(code, facts.designations.get(code, ()), params)


def _eval_talent_project(code: str, facts: FactSet, params: ParameterTable, refusals: bool = True) -> list[Outcome]:
    project = facts.projects.get(code)
    if project is None:
        return []
    return [talent_project(project, facts.recognitions.get(project.zone_code, ()), params)]


RULES: tuple[Rule, ...] = (
    Rule(
        id="new_provincial_zone",
        title="新认定的省级高新区 — new provincial-level zone",
        beneficiary_kind="zone",
        clause=CLAUSE_REWARDS,
        condition="the zone's first recognition ever is provincial (a national zone downgraded is not new)",
        basis_key="first_recognition: one award per zone",
        fact_date="the date of the zone's first recognition",
        parameters=("policy.effective_from", "new_provincial_zone.amount_yuan", "zone_reward.earmark"),
        required=("new_provincial_zone.amount_yuan",),
        triggers=("gaoxin.indicators.zone_recognized.v1", "a new parameter version"),
        evaluate=_eval_new_provincial_zone,
        named_in=lambda facts: facts.recognitions,
    ),
    Rule(
        id="rank_advance",
        title="年度考评排名前进 3 位以上 — rank advance over the historical best",
        beneficiary_kind="zone",
        clause=CLAUSE_REWARDS,
        condition=(
            "this year's official rank is at least rank_advance.min_places better than the best official rank "
            "of every earlier year at the same level; the amount follows the ranking's level"
        ),
        basis_key="{year}:{level}: one award per zone per ranking",
        fact_date="31 December of the ranking's year (the 2020 ranking is history only)",
        parameters=(
            "policy.effective_from",
            "rank_advance.min_places",
            "rank_advance.without_history",
            "rank_advance_national.amount_yuan",
            "rank_advance_provincial.amount_yuan",
            "zone_reward.earmark",
        ),
        required=(
            "rank_advance.min_places",
            "rank_advance_national.amount_yuan",
            "rank_advance_provincial.amount_yuan",
        ),
        triggers=(
            "gaoxin.indicators.ranking_published.v1 (the zones' rank histories are read from the indicators "
            "service, and every year of theirs is decided again)",
            "a new parameter version",
        ),
        evaluate=_eval_rank_advance,
        named_in=lambda facts: facts.ranks,
    ),
    Rule(
        id="pilot_county",
        title="列入创新型试点、知识产权试点（示范）的县区 — pilot county",
        beneficiary_kind="county",
        clause=CLAUSE_REWARDS,
        condition=(
            "the county is listed in a national or provincial innovation pilot, IP pilot or IP demonstration "
            "programme; the amount follows the listing's level"
        ),
        basis_key="{programme}:{level}: one award per listing (see pilot_county.one_award_per_listing)",
        fact_date="the listing date",
        parameters=(
            "policy.effective_from",
            "pilot_county.one_award_per_listing",
            "pilot_county_national.amount_yuan",
            "pilot_county_provincial.amount_yuan",
        ),
        required=("pilot_county_national.amount_yuan", "pilot_county_provincial.amount_yuan"),
        triggers=("gaoxin.indicators.county_designated.v1", "a new parameter version"),
        evaluate=_eval_pilot_county,
        named_in=lambda facts: facts.designations,
    ),
    Rule(
        id="talent_project",
        title="国家级、省级人才创业项目 — talent start-up project (clause 五)",
        beneficiary_kind="project",
        clause=CLAUSE_TALENT,
        condition=(
            "a national- or provincial-level talent start-up project recruited into a zone: investment × "
            "talent_project.rate, rounded to whole yuan half up"
        ),
        basis_key="{project_code}: one award per project",
        fact_date="the recruitment date",
        parameters=("policy.effective_from", "talent_project.zone_must_be_recognised", "talent_project.rate"),
        required=("talent_project.rate",),
        triggers=(
            "POST /v1/talent-projects",
            "gaoxin.indicators.zone_recognized.v1 (the project's zone)",
            "a new parameter version",
        ),
        evaluate=_eval_talent_project,
        named_in=lambda facts: facts.projects,
    ),
)

RULES_BY_ID: Mapping[str, Rule] = {r.id: r for r in RULES}


def rules_using(parameter: str) -> list[Rule]:
    return [r for r in RULES if parameter in r.parameters]


def beneficiaries(rule: Rule, facts: FactSet) -> list[str]:
    """Every beneficiary the facts name for a rule."""
    return sorted(rule.named_in(facts))


def evaluate_all(facts: FactSet, params: ParameterTable) -> list[Outcome]:
    """Every outcome of every rule over a set of facts: what the simulation returns and the ledger holds."""
    return [
        o for rule in RULES for code in beneficiaries(rule, facts) for o in rule.evaluate(code, facts, params, True)
    ]
