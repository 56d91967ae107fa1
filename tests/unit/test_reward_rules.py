from __future__ import annotations

import random
from datetime import date
from decimal import Decimal

import pytest
from gaoxin.events.v1 import events_pb2
from gaoxin.types.v1 import types_pb2

from services.common.convert import ZoneLevel
from services.rewards.domain.parameters import ParameterTable, ParameterVersion
from services.rewards.domain.rules import (
    AwardDecision,
    DesignationFact,
    FactSet,
    NoAward,
    Outcome,
    RankFact,
    RecognitionFact,
    TalentProjectFact,
    evaluate_all,
    new_provincial_zone,
    pilot_county,
    rank_advance,
    talent_project,
)
from services.rewards.events import stale_zones

P, N = ZoneLevel.PROVINCIAL, ZoneLevel.NATIONAL


def decide(*facts: tuple[str, ZoneLevel], params: ParameterTable | None = None) -> AwardDecision | NoAward:
    history = [RecognitionFact(date.fromisoformat(on), level) for on, level in facts]
    return new_provincial_zone("Z", history, params or ParameterTable())


def test_recognised_the_day_the_policy_took_effect_earns_one_million() -> None:
    decision = decide(("2021-04-12", P))
    assert isinstance(decision, AwardDecision)
    assert (decision.amount_yuan, decision.year, decision.clause) == (1_000_000, 2021, 25)
    assert decision.basis == {"zone_code": "Z", "level": "provincial", "recognized_on": "2021-04-12"}
    assert decision.earmark == "service_capacity_building"
    assert decision.explanation.endswith("新认定的省级高新区, ¥1,000,000, 用于园区服务能力建设支出.")
    assert {p.name for p in decision.parameters} == {
        "policy.effective_from",
        "new_provincial_zone.amount_yuan",
        "zone_reward.earmark",
    }


def test_recognised_the_day_before_earns_nothing_and_says_why() -> None:
    decision = decide(("2021-04-11", P))
    assert isinstance(decision, NoAward)
    assert "before the policy took effect" in decision.reason


def test_first_recognition_national_then_provincial_is_no_new_provincial_zone() -> None:
    decision = decide(("2022-01-01", N), ("2023-01-01", P))
    assert isinstance(decision, NoAward)
    assert "first recognised national" in decision.reason


def test_only_the_first_recognition_counts_and_the_key_is_stable() -> None:
    once = decide(("2022-01-01", P))
    again = decide(("2022-01-01", P), ("2024-01-01", N), ("2025-01-01", P))
    assert isinstance(once, AwardDecision) and isinstance(again, AwardDecision)
    assert (once.basis_key, once.basis) == (again.basis_key, again.basis)


def test_zone_provincial_before_policy_and_national_after_earns_nothing() -> None:
    assert isinstance(decide(("1997-06-01", P), ("2022-01-01", N)), NoAward)


def test_no_recognition_no_award() -> None:
    assert isinstance(decide(), NoAward)


def test_amount_comes_from_the_version_in_force_on_the_recognition_date() -> None:
    base = ParameterTable().history("new_provincial_zone.amount_yuan") + ParameterTable().history(
        "policy.effective_from"
    )
    raised = ParameterVersion("new_provincial_zone.amount_yuan", 1_200_000, 2, date(2024, 1, 1), 25, "raised")
    params = ParameterTable([*base, raised])

    before, after = decide(("2023-12-31", P), params=params), decide(("2024-01-01", P), params=params)

    assert isinstance(before, AwardDecision) and isinstance(after, AwardDecision)
    assert (before.amount_yuan, after.amount_yuan) == (1_000_000, 1_200_000)
    assert [p.version for p in after.parameters if p.name.endswith("amount_yuan")] == [2]


def test_rule_without_an_amount_in_force_grants_nothing() -> None:
    params = ParameterTable(ParameterTable().history("policy.effective_from"))
    decision = decide(("2022-01-01", P), params=params)
    assert isinstance(decision, NoAward) and "no amount in force" in decision.reason


def test_every_amount_is_an_exact_integer_of_yuan() -> None:
    params = ParameterTable()
    amounts = {n: params.in_force(n, date(2022, 1, 1)) for n in params.names() if n.endswith("amount_yuan")}
    assert {n: v.value for n, v in amounts.items() if v} == {
        "new_provincial_zone.amount_yuan": 1_000_000,
        "rank_advance_national.amount_yuan": 1_000_000,
        "rank_advance_provincial.amount_yuan": 500_000,
        "pilot_county_national.amount_yuan": 500_000,
        "pilot_county_provincial.amount_yuan": 200_000,
    }


# ------------------------------------------------------------------------------------------- rank advance


def ranks(*entries: tuple[int, ZoneLevel, int]) -> list[RankFact]:
    return [RankFact(year, level, rank) for year, level, rank in entries]


def by_year(outcomes: list[Outcome]) -> dict[str, Outcome]:
    return {o.basis_key: o for o in outcomes}


def test_rank_advance_of_exactly_three_places_earns_and_of_two_does_not() -> None:
    three = by_year(rank_advance("Z", ranks((2021, N, 8), (2022, N, 5)), ParameterTable()))["2022:national"]
    two = by_year(rank_advance("Z", ranks((2021, N, 8), (2022, N, 6)), ParameterTable()))["2022:national"]

    assert isinstance(three, AwardDecision)
    assert (three.amount_yuan, three.year, three.earmark) == (1_000_000, 2022, "service_capacity_building")
    assert three.basis == {
        "zone_code": "Z",
        "year": "2022",
        "level": "national",
        "rank": "5",
        "historical_best": "8",
        "advance": "3",
    }
    assert {p.name for p in three.parameters} == {
        "policy.effective_from",
        "rank_advance.min_places",
        "rank_advance_national.amount_yuan",
        "zone_reward.earmark",
    }
    assert isinstance(two, NoAward)
    assert "an advance of 2, fewer than 3 places" in two.reason


def test_first_ranking_year_with_no_history_earns_nothing_and_says_why() -> None:
    first = rank_advance("Z", ranks((2022, N, 1)), ParameterTable())

    assert len(first) == 1 and isinstance(first[0], NoAward)
    assert "no official national rank before 2022" in first[0].reason
    assert [p.name for p in first[0].parameters] == ["policy.effective_from", "rank_advance.without_history"]


def test_historical_best_is_the_best_of_all_earlier_years_not_last_year() -> None:
    outcomes = by_year(
        rank_advance("Z", ranks((2018, N, 4), (2019, N, 12), (2021, N, 9), (2022, N, 1)), ParameterTable())
    )

    refused = outcomes["2021:national"]
    assert isinstance(refused, NoAward) and "historical best of 4 (2018)" in refused.reason
    award = outcomes["2022:national"]
    assert isinstance(award, AwardDecision) and award.basis["historical_best"] == "4"


def test_2020_ranking_is_history_only_and_2021_is_the_first_that_pays() -> None:
    outcomes = by_year(rank_advance("Z", ranks((2019, N, 20), (2020, N, 10), (2021, N, 7)), ParameterTable()))

    assert isinstance(outcomes["2020:national"], NoAward)
    assert "2020-12-31, before the policy took effect: history only" in outcomes["2020:national"].reason
    assert isinstance(outcomes["2021:national"], AwardDecision)


def test_provincial_advance_earns_half_a_million() -> None:
    outcome = by_year(rank_advance("Z", ranks((2021, P, 30), (2023, P, 10)), ParameterTable()))["2023:provincial"]
    assert isinstance(outcome, AwardDecision) and outcome.amount_yuan == 500_000


def test_history_counts_only_at_the_same_level_so_a_new_national_zone_has_none() -> None:
    upgraded = by_year(rank_advance("Z", ranks((2021, P, 20), (2022, P, 15), (2023, N, 1)), ParameterTable()))
    downgraded = by_year(rank_advance("Y", ranks((2021, N, 30), (2022, P, 1)), ParameterTable()))

    assert isinstance(upgraded["2022:provincial"], AwardDecision)
    assert isinstance(upgraded["2023:national"], NoAward)
    assert "no official national rank before 2023" in upgraded["2023:national"].reason
    assert isinstance(downgraded["2022:provincial"], NoAward)
    assert "no official provincial rank before 2022" in downgraded["2022:provincial"].reason


def test_rank_advance_amount_and_threshold_follow_the_version_in_force_on_31_december() -> None:
    raised = ParameterVersion("rank_advance.min_places", 4, 2, date(2023, 12, 31), 25, "stricter")
    params = ParameterTable([*ParameterTable().versions(), raised])

    outcomes = by_year(rank_advance("Z", ranks((2021, N, 10), (2022, N, 7), (2023, N, 4)), params))

    assert isinstance(outcomes["2022:national"], AwardDecision)  # 31 Dec 2022: version 1, 3 places
    refused = outcomes["2023:national"]  # 31 Dec 2023: version 2, 4 places
    assert isinstance(refused, NoAward) and "fewer than 4 places" in refused.reason


def test_rank_advance_without_an_amount_in_force_grants_nothing() -> None:
    params = ParameterTable([v for v in ParameterTable().versions() if v.name != "rank_advance_national.amount_yuan"])
    outcome = by_year(rank_advance("Z", ranks((2021, N, 9), (2022, N, 1)), params))["2022:national"]
    assert isinstance(outcome, NoAward) and "no national rank-advance amount in force" in outcome.reason


# ------------------------------------------------------------------------------------------- pilot county


def listing(programme: str, level: ZoneLevel, on: str) -> DesignationFact:
    return DesignationFact(programme, level, date.fromisoformat(on))


def test_two_listings_of_one_county_in_one_year_earn_two_awards_by_default() -> None:
    outcomes = pilot_county(
        "320706", [listing("ip_pilot", N, "2022-05-01"), listing("innovation_pilot", N, "2022-03-01")], ParameterTable()
    )

    assert [(o.basis_key, o.amount_yuan) for o in outcomes if isinstance(o, AwardDecision)] == [
        ("innovation_pilot:national", 500_000),
        ("ip_pilot:national", 500_000),
    ]


def test_one_award_per_county_per_year_per_level_when_the_parameter_says_so() -> None:
    per_year = ParameterVersion("pilot_county.one_award_per_listing", False, 2, date(2021, 4, 12), 25, "one per year")
    params = ParameterTable([*ParameterTable().versions(), per_year])

    outcomes = pilot_county(
        "320706",
        [
            listing("innovation_pilot", N, "2022-03-01"),
            listing("ip_pilot", N, "2022-05-01"),
            listing("ip_demonstration", P, "2022-06-01"),
            listing("ip_demonstration", N, "2023-01-10"),
        ],
        params,
    )

    granted = [(o.basis_key, o.year) for o in outcomes if isinstance(o, AwardDecision)]
    assert granted == [
        ("innovation_pilot:national", 2022),
        ("ip_demonstration:provincial", 2022),
        ("ip_demonstration:national", 2023),
    ]
    refused = [o for o in outcomes if isinstance(o, NoAward)]
    assert len(refused) == 1 and "one award per county per year per level" in refused[0].reason
    assert refused[0].basis_key == "ip_pilot:national"


def test_pilot_amount_follows_the_listing_level_and_national_and_provincial_listings_both_earn() -> None:
    outcomes = pilot_county(
        "320707", [listing("ip_pilot", P, "2021-06-01"), listing("ip_pilot", N, "2022-06-01")], ParameterTable()
    )
    assert [(o.basis_key, o.amount_yuan) for o in outcomes if isinstance(o, AwardDecision)] == [
        ("ip_pilot:provincial", 200_000),
        ("ip_pilot:national", 500_000),
    ]


def test_listing_the_day_before_the_policy_earns_nothing_and_the_day_of_it_earns() -> None:
    before = pilot_county("1", [listing("ip_pilot", N, "2021-04-11")], ParameterTable())
    on_the_day = pilot_county("1", [listing("ip_pilot", N, "2021-04-12")], ParameterTable())

    assert isinstance(before[0], NoAward) and "before the policy took effect" in before[0].reason
    assert isinstance(on_the_day[0], AwardDecision)


def test_listing_again_in_the_same_programme_and_level_is_not_new() -> None:
    outcomes = pilot_county(
        "1", [listing("ip_pilot", N, "2020-06-01"), listing("ip_pilot", N, "2022-06-01")], ParameterTable()
    )
    assert all(isinstance(o, NoAward) for o in outcomes)
    assert "already listed on 2020-06-01" in outcomes[1].reason


# --------------------------------------------------------------------------------------- talent project


def project(investment: int = 12_345, on: str = "2022-06-01", zone: str = "Z") -> TalentProjectFact:
    return TalentProjectFact("TP-1", "纳米材料", zone, N, investment, date.fromisoformat(on))


RECOGNISED = [RecognitionFact(date(2015, 2, 16), N)]


def with_rate(rate: str, effective_from: str = "2021-04-12") -> ParameterTable:
    version = ParameterVersion("talent_project.rate", Decimal(rate), 2, date.fromisoformat(effective_from), 5, "r")
    return ParameterTable([*ParameterTable().versions(), version])


def test_talent_project_without_a_rate_in_force_grants_nothing_and_says_so() -> None:
    outcome = talent_project(project(), RECOGNISED, ParameterTable())
    assert isinstance(outcome, NoAward)
    assert "talent_project.rate has no value in force on 2022-06-01" in outcome.reason
    assert outcome.basis_key == "TP-1"


@pytest.mark.parametrize(
    ("investment", "rate", "expected"),
    [(12_345, "0.05", 617), (12_350, "0.05", 618), (12_370, "0.05", 619), (3, "0.5", 2), (1_000_000, "0.1", 100_000)],
)
def test_talent_project_amount_is_investment_times_rate_rounded_half_up(
    investment: int, rate: str, expected: int
) -> None:
    outcome = talent_project(project(investment), RECOGNISED, with_rate(rate))
    assert isinstance(outcome, AwardDecision)
    assert outcome.amount_yuan == expected and isinstance(outcome.amount_yuan, int)
    assert outcome.clause == 5
    assert outcome.basis["investment_yuan"] == str(investment)
    assert [p.name for p in outcome.parameters][-1] == "talent_project.rate"


def test_talent_project_rate_is_the_version_in_force_on_the_recruitment_date() -> None:
    params = with_rate("0.05", "2023-01-01")
    assert isinstance(talent_project(project(on="2022-12-31"), RECOGNISED, params), NoAward)
    assert isinstance(talent_project(project(on="2023-01-01"), RECOGNISED, params), AwardDecision)


def test_talent_project_in_a_zone_not_yet_recognised_or_before_the_policy_earns_nothing() -> None:
    params = with_rate("0.05")
    unrecognised = talent_project(project(), [RecognitionFact(date(2023, 1, 1), P)], params)
    early = talent_project(project(on="2021-04-11"), RECOGNISED, params)

    assert isinstance(unrecognised, NoAward) and "not a recognised high-tech zone on 2022-06-01" in unrecognised.reason
    assert isinstance(early, NoAward) and "before the policy took effect" in early.reason


def test_talent_project_amount_rounding_to_zero_is_no_award() -> None:
    outcome = talent_project(project(investment=1), RECOGNISED, with_rate("0.1"))
    assert isinstance(outcome, NoAward) and "rounds to ¥0" in outcome.reason


# -------------------------------------------------------------------------------------------- all rules


def test_evaluate_all_returns_every_rule_outcome_for_every_beneficiary() -> None:
    facts = FactSet(
        recognitions={"Z": [RecognitionFact(date(2022, 6, 30), P)]},
        ranks={"Z": ranks((2021, P, 9), (2022, P, 6))},
        designations={"320706": [listing("ip_pilot", N, "2022-05-01")]},
        projects={"TP-1": project(zone="Z", on="2022-07-01")},
    )

    outcomes = evaluate_all(facts, with_rate("0.05"))

    assert sorted((o.rule, o.amount_yuan) for o in outcomes if isinstance(o, AwardDecision)) == [
        ("new_provincial_zone", 1_000_000),
        ("pilot_county", 500_000),
        ("rank_advance", 500_000),
        ("talent_project", 617),
    ]


def test_awards_only_evaluation_grants_exactly_what_the_explained_one_grants() -> None:
    rng = random.Random(7)
    stricter = ParameterVersion("rank_advance.min_places", 5, 2, date(2024, 12, 31), 25, "")
    no_amount = ParameterTable(
        [v for v in ParameterTable().versions() if v.name != "rank_advance_provincial.amount_yuan"]
    )
    for params in (ParameterTable(), ParameterTable().with_versions([stricter]), no_amount):
        for _ in range(300):
            years = rng.sample(range(2015, 2031), rng.randint(0, 12))
            history = [RankFact(y, rng.choice((N, P)), rng.randint(1, 40)) for y in years]
            explained = rank_advance("Z", history, params)
            assert len(explained) == len(history)
            assert rank_advance("Z", history, params, refusals=False) == [
                o for o in explained if isinstance(o, AwardDecision)
            ]


def test_stale_zones_are_those_a_ranking_event_changes_or_that_have_no_history() -> None:
    event = events_pb2.RankingPublished(
        year=2022,
        level=types_pb2.ZONE_LEVEL_NATIONAL,
        ranks=[
            events_pb2.RankingPublished.Entry(zone_code=z, rank=r) for z, r in (("SAME", 4), ("MOVED", 5), ("NEW", 6))
        ],
        dropped_zone_codes=["GONE"],
    )
    held = {
        "SAME": [RankFact(2021, N, 9), RankFact(2022, N, 4)],
        "MOVED": [RankFact(2022, N, 7)],
        "NEW": [RankFact(2021, N, 2), RankFact(2022, P, 6)],  # 2022 provincial is another ranking
        "GONE": [RankFact(2022, N, 1)],
    }
    assert stale_zones(event, held) == ["GONE", "MOVED", "NEW"]
    assert stale_zones(event, {}) == ["GONE", "MOVED", "NEW", "SAME"]
