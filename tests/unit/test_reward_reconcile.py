"""The reconciliation plan: what a changed fact revokes and grants, and what it leaves alone."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from itertools import permutations

from services.common.convert import ZoneLevel
from services.rewards.domain.parameters import ParameterTable, ParameterVersion
from services.rewards.domain.reconcile import Evaluate, GrantedAward, Plan, basis_change, plan
from services.rewards.domain.rules import AwardDecision, Outcome, RankFact, rank_advance

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
