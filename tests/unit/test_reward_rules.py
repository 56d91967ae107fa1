from __future__ import annotations

from datetime import date

from services.common.convert import ZoneLevel
from services.rewards.domain.parameters import ParameterTable, ParameterVersion
from services.rewards.domain.rules import AwardDecision, NoAward, RecognitionFact, new_provincial_zone

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
