"""The reconciliation plan: what a changed fact revokes and grants, and what it leaves alone."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import date
from decimal import Decimal
from itertools import permutations

from services.common.convert import ZoneLevel
from services.rewards.domain.parameters import ParameterTable, ParameterVersion
from services.rewards.domain.reconcile import Evaluate, GrantedAward, Plan, basis_change, plan
from services.rewards.domain.rules import (
    RULES_BY_ID,
    AwardDecision,
    FactSet,
    Outcome,
    RankFact,
    RecognitionFact,
    TalentProjectFact,
    rank_advance,
)

N = ZoneLevel.NATIONAL


def evaluator(history: Sequence[RankFact]) -> Evaluate:
    def evaluate(params: ParameterTable, refusals: bool) -> list[Outcome]:
        return rank_advance("Z", history, params, refusals)

    return evaluate


def held(decisions: Sequence[AwardDecision]) -> list[GrantedAward]:
    return [
        GrantedAward(
            f"id-{d.basis_key}",
            d.rule,
            d.beneficiary_kind,
            d.beneficiary_code,
            d.basis_key,
            d.year,
            d.amount_yuan,
            d.basis,
            d.parameters,
        )
        for d in decisions
    ]


def apply(granted: list[GrantedAward], todo: Plan) -> list[GrantedAward]:
    gone = {r.award.award_id for r in todo.revocations}
    return [g for g in granted if g.award_id not in gone] + held(todo.grants)


def history(*entries: tuple[int, int]) -> list[RankFact]:
    return [RankFact(year, N, rank) for year, rank in entries]


def test_first_plan_grants_every_justified_award_and_the_second_plans_nothing() -> None:
    facts = history((2021, 10), (2022, 7), (2023, 3))
    first = plan([], evaluator(facts), ParameterTable(), "ranking published")
    assert [d.basis_key for d in first.grants] == ["2022:national", "2023:national"]
    assert not plan(held(first.grants), evaluator(facts), ParameterTable(), "again")


def test_corrected_ranking_revokes_with_the_reason_and_regrants_later_years_whose_outcome_changed() -> None:
    before = history((2021, 10), (2022, 7), (2023, 5))  # 2022: advance 3 (award); 2023: 2 (none)
    granted = held(plan([], evaluator(before), ParameterTable(), "published").grants)
    assert [g.basis_key for g in granted] == ["2022:national"]

    after = history((2021, 10), (2022, 8), (2023, 5))  # 2022 corrected to 8: advance 2; 2023 now advances 5 on 10
    todo = plan(granted, evaluator(after), ParameterTable(), "ranking 2022 national republished")

    assert [(r.award.basis_key, r.reason) for r in todo.revocations] == [
        (
            "2022:national",
            "ranking 2022 national republished: rank 8 in 2022 against a historical best of 10 (2021): an advance "
            "of 2, fewer than 3 places",
        )
    ]
    assert [(d.basis_key, d.basis["historical_best"], d.basis["advance"]) for d in todo.grants] == [
        ("2023:national", "8", "3")
    ]


def test_a_changed_basis_revokes_and_grants_the_award_again_with_the_true_basis() -> None:
    granted = held(plan([], evaluator(history((2021, 10), (2022, 7))), ParameterTable(), "published").grants)

    todo = plan(
        granted, evaluator(history((2021, 10), (2022, 6))), ParameterTable(), "ranking 2022 national republished"
    )

    assert [r.reason for r in todo.revocations] == [
        "ranking 2022 national republished: the basis changed (advance 3 → 4, rank 7 → 6)"
    ]
    assert [(d.basis_key, d.basis["rank"]) for d in todo.grants] == [("2022:national", "6")]


def test_zone_dropped_from_a_ranking_loses_that_years_award() -> None:
    granted = held(plan([], evaluator(history((2021, 10), (2022, 7))), ParameterTable(), "published").grants)

    todo = plan(granted, evaluator(history((2021, 10))), ParameterTable(), "ranking 2022 national republished")

    assert [r.reason for r in todo.revocations] == [
        "ranking 2022 national republished: the facts no longer include its basis (2022:national)"
    ]
    assert todo.grants == []


def test_a_later_parameter_version_never_takes_away_an_award_its_own_versions_still_justify() -> None:
    facts = history((2021, 10), (2022, 7))
    granted = held(plan([], evaluator(facts), ParameterTable(), "published").grants)
    stricter = ParameterVersion("rank_advance.min_places", 4, 2, date(2021, 4, 12), 25, "retroactive")
    raised = ParameterVersion("rank_advance_national.amount_yuan", 2_000_000, 2, date(2021, 4, 12), 25, "raised")
    params = ParameterTable([*ParameterTable().versions(), stricter, raised])

    assert not plan(granted, evaluator(facts), params, "parameter added")  # kept, with its amount and versions


def test_events_in_any_order_end_in_the_same_ledger() -> None:
    # Each step is the zone's rank history as the indicators service reports it after one more ranking.
    steps = [history((2021, 10)), history((2021, 10), (2022, 7)), history((2021, 10), (2022, 7), (2023, 2))]
    results = set()
    for order in permutations(steps):
        granted: list[GrantedAward] = []
        for facts in order:
            granted = apply(granted, plan(granted, evaluator(facts), ParameterTable(), "step"))
        # The last event processed reads the current history, whatever the order of their arrival.
        granted = apply(granted, plan(granted, evaluator(steps[-1]), ParameterTable(), "latest"))
        results.add(tuple(sorted((g.basis_key, g.amount_yuan, tuple(sorted(g.basis.items()))) for g in granted)))
    assert len(results) == 1
    assert [key for key, _, _ in next(iter(results))] == ["2022:national", "2023:national"]


def test_basis_change_names_each_changed_fact() -> None:
    assert basis_change({"rank": "7", "year": "2022"}, {"rank": "6", "year": "2022"}) == "rank 7 → 6"
    assert basis_change({"a": "1"}, {"b": "2"}) == "a 1 → —, b — → 2"


# ------------------------------------------------------------------------------------------ reinstatement


class Book:
    """A ledger in memory, as `ledger.apply` keeps it: award ids in order of creation, each granted or revoked."""

    def __init__(self) -> None:
        self.rows: dict[str, tuple[GrantedAward, str]] = {}  # in creation order (oldest first)

    def of(self, status: str) -> list[GrantedAward]:
        return [award for award, held in self.rows.values() if held == status]

    def plan(self, evaluate: Evaluate, params: ParameterTable, trigger: str = "step") -> Plan:
        return plan(self.of("granted"), evaluate, params, trigger, revoked=self.of("revoked"))

    def push(self, evaluate: Evaluate, params: ParameterTable, trigger: str = "step") -> Plan:
        todo = self.plan(evaluate, params, trigger)
        for revocation in todo.revocations:
            self.rows[revocation.award.award_id] = (revocation.award, "revoked")
        for reinstatement in todo.reinstatements:
            assert self.rows[reinstatement.award.award_id][1] == "revoked"
            self.rows[reinstatement.award.award_id] = (reinstatement.award, "granted")
        for decision in todo.grants:
            award = GrantedAward(
                f"award-{len(self.rows) + 1}",
                decision.rule,
                decision.beneficiary_kind,
                decision.beneficiary_code,
                decision.basis_key,
                decision.year,
                decision.amount_yuan,
                decision.basis,
                decision.parameters,
            )
            self.rows[award.award_id] = (award, "granted")
        keys = [a.basis_key for a in self.of("granted")]
        assert len(keys) == len(set(keys)), "two granted awards on one key"
        return todo

    def bases(self) -> list[tuple[str, tuple[tuple[str, str], ...]]]:
        """(key, basis) of every award, granted or revoked."""
        return [(a.basis_key, tuple(sorted(a.basis.items()))) for a, _ in self.rows.values()]


def test_a_revoked_award_whose_identical_basis_holds_again_is_reinstated_not_granted_again() -> None:
    book = Book()
    ranked = history((2020, 50), (2021, 47))  # 2021: rank 47 against a best of 50, an advance of 3
    first = book.push(evaluator(ranked), ParameterTable(), "ranking 2021 national published")
    [award] = book.of("granted")
    assert [d.basis_key for d in first.grants] == [award.basis_key]
    assert (award.basis_key, award.amount_yuan, award.basis["rank"]) == ("2021:national", 1_000_000, "47")

    dropped = book.push(evaluator(history((2020, 50))), ParameterTable(), "ranking 2021 national republished")
    assert [r.award.award_id for r in dropped.revocations] == [award.award_id]

    back = book.push(evaluator(ranked), ParameterTable(), "ranking 2021 national republished")

    assert back.grants == [] and back.revocations == []
    assert [(r.award, r.reason) for r in back.reinstatements] == [
        (award, "ranking 2021 national republished: its basis holds again")
    ]
    assert book.of("granted") == [award] and book.of("revoked") == []
    assert len(book.rows) == 1  # one award for one (rule, beneficiary, basis)
    assert not book.plan(evaluator(ranked), ParameterTable())  # the second run plans nothing


def test_another_basis_of_the_key_is_a_new_award_and_the_first_comes_back_with_its_own_basis() -> None:
    book = Book()
    book.push(evaluator(history((2020, 30), (2021, 26))), ParameterTable())
    [at_26] = book.of("granted")

    corrected = book.push(evaluator(history((2020, 30), (2021, 25))), ParameterTable(), "ranking 2021 corrected")

    # Still qualifying, on another basis: revoked and granted anew (README: "revoked and granted again").
    assert [r.award.award_id for r in corrected.revocations] == [at_26.award_id]
    assert corrected.reinstatements == []
    assert [(d.basis["rank"], d.basis["advance"]) for d in corrected.grants] == [("25", "5")]
    [at_25] = book.of("granted")

    back = book.push(evaluator(history((2020, 30), (2021, 26))), ParameterTable(), "ranking 2021 corrected back")

    assert [r.reason for r in back.revocations] == [
        "ranking 2021 corrected back: the basis changed (advance 5 → 4, rank 25 → 26)"
    ]
    assert [r.award.award_id for r in back.reinstatements] == [at_26.award_id]
    assert back.grants == []
    assert book.of("granted") == [at_26] and book.of("revoked") == [at_25]
    # And once more to 25: the 25-award comes back, never a third award.
    again = book.push(evaluator(history((2020, 30), (2021, 25))), ParameterTable())
    assert [r.award.award_id for r in again.reinstatements] == [at_25.award_id] and again.grants == []
    assert len(book.rows) == 2


def rate(version: int, value: str, effective_from: date) -> ParameterVersion:
    return ParameterVersion("talent_project.rate", Decimal(value), version, effective_from, 5, "rate", "admin")


def project_evaluator(investment: int) -> Evaluate:
    zone = [RecognitionFact(date(2021, 6, 1), ZoneLevel.PROVINCIAL)]
    facts = FactSet(
        recognitions={"RW-Z": zone},
        projects={
            "RW-P2": TalentProjectFact("RW-P2", "创业项目", "RW-Z", ZoneLevel.PROVINCIAL, investment, date(2023, 1, 1))
        },
    )

    def evaluate(params: ParameterTable, refusals: bool) -> list[Outcome]:
        return RULES_BY_ID["talent_project"].evaluate("RW-P2", facts, params, refusals)

    return evaluate


def test_a_reinstated_award_keeps_its_parameter_versions_and_amount_whatever_versions_came_since() -> None:
    """The review's talent project: ¥617,284 at rate v1 (0.05); v3 = 0.2 from the same day added; corrected to
    20,000,000 and back. The unchanged fact is paid what it was paid, not 0.2 of it."""
    v1 = rate(1, "0.05", date(2023, 1, 1))
    with_v1 = ParameterTable([*ParameterTable().versions(), v1])
    later = with_v1.with_versions([rate(2, "0.1", date(2024, 1, 1)), rate(3, "0.2", date(2023, 1, 1))])
    book = Book()
    book.push(project_evaluator(12_345_678), with_v1, "talent project RW-P2 recorded")
    [original] = book.of("granted")
    assert original.amount_yuan == 617_284  # 617,283.9 rounded half up
    assert not book.push(project_evaluator(12_345_678), later, "parameter added")  # earlier decisions keep v1

    corrected = book.push(project_evaluator(20_000_000), later, "talent project RW-P2 corrected")
    assert [r.award.award_id for r in corrected.revocations] == [original.award_id]
    assert [(d.amount_yuan, d.parameters[-1].version) for d in corrected.grants] == [(4_000_000, 3)]

    back = book.push(project_evaluator(12_345_678), later, "talent project RW-P2 corrected")

    assert back.grants == []
    [reinstated] = back.reinstatements
    assert reinstated.award == original
    assert reinstated.reason == "talent project RW-P2 corrected: its basis holds again"
    [held] = book.of("granted")
    assert (held.award_id, held.amount_yuan) == (original.award_id, 617_284)
    assert [(p.name, str(p.value), p.version) for p in held.parameters if p.name == "talent_project.rate"] == [
        ("talent_project.rate", "0.05", 1)
    ]
    assert not book.plan(project_evaluator(12_345_678), later)  # nothing more to do


def test_an_award_its_own_versions_justify_again_is_reinstated_though_a_later_version_would_not_grant_it() -> None:
    """Had the ranking never been republished, a stricter min_places added since would not have taken the award
    away; its correction history must not either."""
    ranked = history((2020, 10), (2021, 7))  # an advance of 3
    stricter = ParameterVersion("rank_advance.min_places", 4, 2, date(2021, 4, 12), 25, "stricter", "admin")
    params = ParameterTable([*ParameterTable().versions(), stricter])
    untouched, corrected = Book(), Book()
    for book in (untouched, corrected):
        book.push(evaluator(ranked), ParameterTable())
    corrected.push(evaluator(history((2020, 10))), ParameterTable())  # dropped: revoked

    assert not untouched.push(evaluator(ranked), params)  # kept, under its own versions
    back = corrected.push(evaluator(ranked), params, "ranking 2021 national republished")

    assert [r.award.basis_key for r in back.reinstatements] == ["2021:national"] and back.grants == []
    assert [(a.basis_key, a.amount_yuan) for a in corrected.of("granted")] == [
        (a.basis_key, a.amount_yuan) for a in untouched.of("granted")
    ]


def test_of_several_revoked_awards_with_the_basis_the_oldest_is_reinstated_and_one_without_versions_never() -> None:
    ranked = history((2020, 50), (2021, 47))
    [decision] = plan([], evaluator(ranked), ParameterTable(), "t").grants
    older, newer = (replace(held([decision])[0], award_id=name) for name in ("older", "newer"))
    legacy = replace(held([decision])[0], award_id="legacy", parameters=())

    assert [
        r.award.award_id
        for r in plan([], evaluator(ranked), ParameterTable(), "t", revoked=[older, newer]).reinstatements
    ] == ["older"]
    only_legacy = plan([], evaluator(ranked), ParameterTable(), "t", revoked=[legacy])
    assert only_legacy.reinstatements == [] and [d.basis_key for d in only_legacy.grants] == ["2021:national"]


def test_facts_in_any_order_end_in_the_same_ledger_and_never_two_awards_on_one_basis() -> None:
    # A ranking pushed, corrected, withdrawn and pushed again: each step the zone's history as the indicators
    # service reports it after one more push. In every order the last step processed reads the current history.
    steps = [
        history((2020, 30), (2021, 26)),
        history((2020, 30), (2021, 25)),
        history((2020, 30)),
        history((2020, 30), (2021, 26), (2022, 20)),
    ]
    current = steps[-1]
    results = set()
    for order in permutations(steps):
        book = Book()
        for facts in [*order, current]:
            book.push(evaluator(facts), ParameterTable())
        assert len(book.bases()) == len(set(book.bases())), book.rows  # one award per (key, basis)
        assert not book.plan(evaluator(current), ParameterTable())
        results.add(
            tuple(sorted((a.basis_key, a.amount_yuan, tuple(sorted(a.basis.items()))) for a in book.of("granted")))
        )
    assert len(results) == 1
    assert [(key, dict(basis)["rank"]) for key, _, basis in next(iter(results))] == [
        ("2021:national", "26"),
        ("2022:national", "20"),
    ]
