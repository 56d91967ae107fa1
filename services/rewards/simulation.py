"""Simulation on the recorded facts: what pushing hypothetical facts would really grant and revoke.

The hypothetical facts are applied to the facts the service has recorded as the real push would apply them —
a ranking of (year, level) replaces the recorded ranking of that year and level (a zone ranked there before and
absent now is dropped from it), recognitions and listings are added, a talent project replaces the recorded one
of its code — for the beneficiaries those facts concern and what a change to them affects:

- a recognition of a zone: the zone (new_provincial_zone) and the talent projects recruited into it;
- a listing of a county: the county (pilot_county);
- a ranking: every zone in it, and every zone the recorded ranking of that year and level holds (dropped ones
  included), each with every year of its history (a change of one year moves the historical best of later ones);
- a talent project: the project.

Only those beneficiaries' facts and awards (granted and revoked) are read (as `ledger.reconcile` does), then the
ledger's own plan (`ledger.plan_rule`) decides, so the grants, reinstatements and revocations, and the revocation
reasons, are those the real ledger would make. Nothing is written: the caller runs this on a read-only connection.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, TypeVar

from sqlalchemy.engine import Connection

from services.common.convert import ZoneLevel
from services.rewards import ledger, store
from services.rewards.domain.parameters import ParameterTable
from services.rewards.domain.rules import (
    RULES,
    AwardDecision,
    FactSet,
    NoAward,
    RankFact,
    RecognitionFact,
)

Ranking = tuple[int, ZoneLevel]
T = TypeVar("T")


@dataclass
class Outcome:
    """What the push would do to the ledger, for the beneficiaries concerned."""

    grants: list[AwardDecision] = field(default_factory=list)  # awards the ledger would grant
    held: list[Any] = field(default_factory=list)  # ledger rows (granted) the push leaves granted
    reinstatements: list[Any] = field(default_factory=list)  # ledger rows (revoked) it would grant again as they are
    revocations: list[tuple[Any, str]] = field(default_factory=list)  # ledger rows it would revoke, and why
    refusals: list[NoAward] = field(default_factory=list)


@dataclass(frozen=True)
class Conflict:
    """A hypothetical recognition on a date the zone has another level recorded on (a real push gets a 409)."""

    zone_code: str
    recognized_on: date
    recorded: ZoneLevel


@dataclass
class _Scope:
    """The beneficiaries concerned, by rule, and the triggers (as the consumers phrase them) of each."""

    codes: dict[str, set[str]] = field(default_factory=lambda: {r.id: set() for r in RULES})
    triggers: dict[tuple[str, str], list[str]] = field(default_factory=dict)

    def add(self, rule: str, code: str, trigger: str) -> None:
        self.codes[rule].add(code)
        said = self.triggers.setdefault((rule, code), [])
        if trigger not in said:
            said.append(trigger)


def conflicts(conn: Connection, hypothetical: FactSet) -> list[Conflict]:
    """Hypothetical recognitions that contradict a recorded one (another level on the same date)."""
    recorded = store.recognitions(conn, sorted(hypothetical.recognitions)) if hypothetical.recognitions else {}
    found = []
    for zone, facts in hypothetical.recognitions.items():
        levels = {r.recognized_on: r.level for r in recorded.get(zone, ())}
        for fact in facts:
            held = levels.get(fact.recognized_on)
            if held is not None and held is not fact.level:
                found.append(Conflict(zone, fact.recognized_on, held))
    return found


def simulate(conn: Connection, hypothetical: FactSet, rankings: Collection[Ranking], params: ParameterTable) -> Outcome:
    """The grants, kept awards, reinstatements, revocations and refusals of pushing `hypothetical` (whose rankings
    are `rankings`, each given whole) on top of the recorded facts, under `params`."""
    scope = _Scope()
    recorded_rankings = store.zones_ranked(conn, rankings)

    for zone, given in hypothetical.recognitions.items():
        for recognition in given:
            scope.add("new_provincial_zone", zone, _recognition_trigger(zone, recognition))
    for county, listings in hypothetical.designations.items():
        for listing in listings:
            trigger = (
                f"listing of county {county} in {listing.programme} ({listing.level.value}, "
                f"{listing.listed_on.isoformat()})"
            )
            scope.add("pilot_county", county, trigger)
    ranked: dict[Ranking, set[str]] = {r: set(recorded_rankings.get(r, ())) for r in rankings}
    for zone, ranks in hypothetical.ranks.items():
        for rank in ranks:
            ranked[(rank.year, rank.level)].add(zone)
    for (year, level), zones in ranked.items():
        verb = "republished" if (year, level) in recorded_rankings else "published"
        for zone in zones:
            scope.add("rank_advance", zone, f"ranking {year} {level.value} {verb}")

    # Talent projects: those given, and those recorded in a zone whose recognitions change.
    recorded_projects = (
        store.talent_projects_by_code(conn, sorted(hypothetical.projects)) if hypothetical.projects else {}
    )
    for code in hypothetical.projects:
        verb = "corrected" if code in recorded_projects else "recorded"
        scope.add("talent_project", code, f"talent project {code} {verb}")
    in_zones = store.talent_projects_in_zones(conn, sorted(hypothetical.recognitions))
    others = [code for code in in_zones if code not in hypothetical.projects]
    projects = {**recorded_projects, **(store.talent_projects_by_code(conn, others) if others else {})}
    projects.update(hypothetical.projects)
    for code in others:
        zone = projects[code].zone_code
        for recognition in hypothetical.recognitions.get(zone, ()):
            scope.add("talent_project", code, _recognition_trigger(zone, recognition))

    facts = _combined(conn, hypothetical, rankings, scope, projects)
    outcome = Outcome()
    for rule in RULES:
        codes = sorted(scope.codes[rule.id])
        if not codes:
            continue
        rows, revoked_rows = store.award_rows(conn, rule.id, rule.beneficiary_kind, codes)
        by_id = {row.award_id: row for held in (*rows.values(), *revoked_rows.values()) for row in held}
        granted = {code: [store.as_granted_award(row) for row in held] for code, held in rows.items()}
        revoked = {code: [store.as_granted_award(row) for row in held] for code, held in revoked_rows.items()}
        for code in codes:
            trigger = "; ".join(scope.triggers[(rule.id, code)])
            todo = ledger.plan_rule(
                rule=rule, facts=facts, granted=granted, params=params, trigger=trigger, codes=[code], revoked=revoked
            )
            gone = {r.award.award_id for r in todo.revocations}
            outcome.revocations += [(by_id[r.award.award_id], r.reason) for r in todo.revocations]
            kept = [row for row in rows.get(code, ()) if row.award_id not in gone]
            back = [by_id[r.award.award_id] for r in todo.reinstatements]
            outcome.held += kept
            outcome.reinstatements += back
            outcome.grants += todo.grants
            awarded = {row.basis_key for row in (*kept, *back)} | {d.basis_key for d in todo.grants}
            outcome.refusals += [
                o
                for o in rule.evaluate(code, facts, params, True)
                if isinstance(o, NoAward) and not (o.basis_key and o.basis_key in awarded)
            ]
    return outcome


def _recognition_trigger(zone: str, fact: RecognitionFact) -> str:
    return f"recognition of zone {zone} ({fact.level.value} on {fact.recognized_on.isoformat()}) recorded"


def _combined(
    conn: Connection,
    hypothetical: FactSet,
    rankings: Collection[Ranking],
    scope: _Scope,
    projects: Mapping[str, Any],
) -> FactSet:
    """The recorded facts of the beneficiaries in scope with the hypothetical ones applied."""
    facts = FactSet()
    facts.projects = {code: projects[code] for code in scope.codes["talent_project"] if code in projects}

    zones = sorted(scope.codes["new_provincial_zone"] | {p.zone_code for p in facts.projects.values()})
    facts.recognitions = (
        {zone: list(history) for zone, history in store.recognitions(conn, zones).items()} if zones else {}
    )
    for zone, added in hypothetical.recognitions.items():
        history = facts.recognitions.setdefault(zone, [])
        known = {r.recognized_on for r in history}  # a conflicting level was refused before (see `conflicts`)
        history += [r for r in _unique(added) if r.recognized_on not in known]

    counties = sorted(scope.codes["pilot_county"])
    facts.designations = (
        {county: list(listings) for county, listings in store.designations(conn, counties).items()} if counties else {}
    )
    for county, listed in hypothetical.designations.items():
        listings = facts.designations.setdefault(county, [])
        listings += [d for d in _unique(listed) if d not in listings]

    ranked_zones = sorted(scope.codes["rank_advance"])
    recorded = store.rank_histories(conn, ranked_zones) if ranked_zones else {}
    replaced = set(rankings)
    for zone in ranked_zones:
        kept: list[RankFact] = [f for f in recorded.get(zone, ()) if (f.year, f.level) not in replaced]
        facts.ranks[zone] = kept + list(hypothetical.ranks.get(zone, ()))
    return facts


def _unique(facts: Sequence[T]) -> list[T]:
    return list(dict.fromkeys(facts))
