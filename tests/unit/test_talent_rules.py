from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from services.common.convert import ZoneLevel
from services.common.policy.clauses import clause
from services.talent.domain.age import completed_years
from services.talent.domain.checks import (
    ConfirmationLetter,
    EnterpriseLocation,
    Outcome,
    RdInstitutionApplication,
    RdInstitutionRights,
    RVisaApplication,
    RVisaResult,
    WorkPermitAgeResult,
    WorkPermitApplication,
    check_r_visa,
    check_rd_institution_representative,
    check_work_permit_age,
)
from services.talent.domain.rules import (
    POLICY_EFFECTIVE_FROM,
    RULE_SET_VERSION,
    RULE_SETS,
    RULES,
    AgeCounting,
    AuthorityLevel,
    rule_set_on,
)

RULES_NOW = rule_set_on(date(2026, 3, 1))
IN_ZONE = EnterpriseLocation("连云港某生物医药有限公司（演示）", "LYG-HTZ", ZoneLevel.NATIONAL)
BORN = date(1960, 3, 10)  # 66th birthday: 2026-03-10
DAY_AFTER = AgeCounting.DAY_AFTER_BIRTHDAY
ON_BIRTHDAY = AgeCounting.ON_BIRTHDAY


def application(**changes: object) -> WorkPermitApplication:
    base = WorkPermitApplication(
        nationality="DE",
        birth_date=BORN,
        application_date=date(2026, 3, 1),
        talent_category="A",
        employer_credit_code="91320706MA1X7Y8D7E",
        approval_authority_level=AuthorityLevel.CITY,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def work_permit(
    employer: EnterpriseLocation | None = IN_ZONE, **changes: object
) -> tuple[Outcome, WorkPermitAgeResult, dict[str, bool]]:
    assessment = check_work_permit_age(application(**changes), employer, RULES_NOW)
    assert isinstance(assessment.result, WorkPermitAgeResult)
    return assessment.outcome, assessment.result, {c.name: c.met for c in assessment.conditions}


# --- age in completed years (周岁) ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("on", "age"),
    [
        (date(2026, 3, 9), 65),  # the day before the 66th birthday: 65 years and 364 days, still 65
        (date(2026, 3, 10), 66),  # the birthday itself: 66 years completed
        (date(2026, 3, 11), 66),
    ],
)
def test_completed_years_around_66th_birthday_are_reached_on_the_birthday(on: date, age: int) -> None:
    assert completed_years(BORN, on, ON_BIRTHDAY) == age


def test_the_rule_set_in_force_counts_the_birthday_itself_for_every_date() -> None:
    assert RULE_SETS[-1].age_counting is ON_BIRTHDAY
    assert {rule_set_on(on).version for on in (date(2020, 1, 1), date(2021, 4, 12), date(2026, 3, 10))} == {
        "2021-04-12.2"
    }


def test_the_day_after_reading_of_rule_set_1_is_kept_for_its_decisions() -> None:
    # 法释〔2006〕1号 art. 2: "从周岁生日的第二天起算"
    assert RULE_SETS[0].version == "2021-04-12.1" and RULE_SETS[0].age_counting is DAY_AFTER
    assert [completed_years(BORN, on, DAY_AFTER) for on in (date(2026, 3, 10), date(2026, 3, 11))] == [65, 66]


@pytest.mark.parametrize(
    ("on", "age"),
    [
        (date(2026, 2, 27), 65),
        (date(2026, 2, 28), 66),  # common year: the anniversary falls on 28 Feb (Civil Code art. 202)
        (date(2028, 2, 28), 67),
        (date(2028, 2, 29), 68),  # leap year: the anniversary is 29 Feb itself
    ],
)
def test_completed_years_of_29_february_birthday_are_reached_on_the_last_day_of_february(on: date, age: int) -> None:
    assert completed_years(date(1960, 2, 29), on, ON_BIRTHDAY) == age


def test_completed_years_across_new_year_when_born_on_31_december() -> None:
    born = date(1960, 12, 31)
    assert [completed_years(born, d, ON_BIRTHDAY) for d in (date(2026, 12, 30), date(2026, 12, 31))] == [65, 66]


# --- work permit at 65 --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("applied", "eligible", "age"),
    [(date(2026, 3, 9), True, 65), (date(2026, 3, 10), False, 66), (date(2026, 3, 11), False, 66)],
)
def test_work_permit_around_66th_birthday(applied: date, eligible: bool, age: int) -> None:
    outcome, result, met = work_permit(application_date=applied)

    assert (outcome is Outcome.ELIGIBLE, result.age, result.max_age) == (eligible, age, 65)
    assert met["age_within_limit"] is eligible


def test_work_permit_every_condition_met_gives_65_citing_clause_5() -> None:
    assessment = check_work_permit_age(application(), IN_ZONE, RULES_NOW)

    assert assessment.eligible and assessment.outcome is Outcome.ELIGIBLE
    assert assessment.result == WorkPermitAgeResult(age=65, max_age=65)
    assert [c.name for c in assessment.conditions] == [
        "foreign_national",
        "policy_in_force",
        "overseas_high_end_talent",
        "employer_in_hitech_zone",
        "approved_by_st_administration",
        "age_within_limit",
    ]
    assert all(c.met and c.clause == 5 for c in assessment.conditions)
    assert assessment.rule_set.version == RULE_SET_VERSION
    assert "LYG-HTZ" in assessment.conditions[3].detail and "national" in assessment.conditions[3].detail


def test_work_permit_without_approval_is_eligible_once_approved() -> None:
    outcome, result, met = work_permit(approval_authority_level=AuthorityLevel.NONE)

    assert outcome is Outcome.ELIGIBLE_IF_APPROVED
    assert result == WorkPermitAgeResult(age=65, max_age=60)
    assert [name for name, ok in met.items() if not ok] == ["approved_by_st_administration", "age_within_limit"]


@pytest.mark.parametrize(
    ("level", "met"),
    [
        (AuthorityLevel.COUNTY, False),
        (AuthorityLevel.CITY, True),  # 市级以上 includes the city level itself
        (AuthorityLevel.PROVINCIAL, True),
        (AuthorityLevel.NATIONAL, True),
    ],
)
def test_work_permit_approval_at_city_level_or_above(level: AuthorityLevel, met: bool) -> None:
    outcome, _, conditions = work_permit(approval_authority_level=level)

    assert conditions["approved_by_st_administration"] is met
    assert outcome is (Outcome.ELIGIBLE if met else Outcome.ELIGIBLE_IF_APPROVED)


def test_work_permit_category_b_at_62_is_not_eligible_and_says_why() -> None:
    assessment = check_work_permit_age(
        application(talent_category="B", birth_date=date(1963, 6, 1)), IN_ZONE, RULES_NOW
    )

    assert assessment.outcome is Outcome.NOT_ELIGIBLE
    assert assessment.result == WorkPermitAgeResult(age=62, max_age=60)
    unmet = [c for c in assessment.conditions if not c.met]
    assert [c.name for c in unmet] == ["overseas_high_end_talent", "age_within_limit"]
    assert "category A" in unmet[0].detail
    assert "65 applies only when every condition above is met" in unmet[1].detail


def test_work_permit_up_to_60_needs_no_relaxation() -> None:
    outcome, result, met = work_permit(None, talent_category="C", birth_date=date(1966, 2, 1))

    assert (outcome, result) == (Outcome.ELIGIBLE, WorkPermitAgeResult(age=60, max_age=60))
    assert met["employer_in_hitech_zone"] is False  # reported, though it does not decide


def test_work_permit_unknown_employer_is_a_clear_no() -> None:
    assessment = check_work_permit_age(application(), None, RULES_NOW)

    employer = next(c for c in assessment.conditions if c.name == "employer_in_hitech_zone")
    assert assessment.outcome is Outcome.NOT_ELIGIBLE
    assert employer.met is False
    assert employer.detail == "no enterprise with the credit code 91320706MA1X7Y8D7E is registered"


@pytest.mark.parametrize(
    ("location", "phrase"),
    [
        (EnterpriseLocation("某公司", "DH-HTZ", None), "not a recognised high-tech zone on 2026-03-01"),
        (EnterpriseLocation("某公司", "", None), "not located in a high-tech zone"),
    ],
)
def test_work_permit_employer_outside_a_recognised_zone(location: EnterpriseLocation, phrase: str) -> None:
    assessment = check_work_permit_age(application(), location, RULES_NOW)

    employer = next(c for c in assessment.conditions if c.name == "employer_in_hitech_zone")
    assert (assessment.outcome, employer.met) == (Outcome.NOT_ELIGIBLE, False)
    assert phrase in employer.detail


@pytest.mark.parametrize("nationality", ["CN", "HK", "MO", "TW"])
def test_work_permit_chinese_national_is_not_eligible_at_any_age(nationality: str) -> None:
    outcome, result, met = work_permit(nationality=nationality, birth_date=date(1980, 1, 1))

    assert outcome is Outcome.NOT_ELIGIBLE and result.max_age == 60
    assert met["foreign_national"] is False and met["age_within_limit"] is True


def test_work_permit_before_policy_took_effect_keeps_the_usual_60() -> None:
    applied = POLICY_EFFECTIVE_FROM.replace(day=11)
    assessment = check_work_permit_age(
        application(application_date=applied, birth_date=date(1958, 1, 1)), IN_ZONE, rule_set_on(applied)
    )

    policy = next(c for c in assessment.conditions if c.name == "policy_in_force")
    assert assessment.outcome is Outcome.NOT_ELIGIBLE
    assert assessment.result == WorkPermitAgeResult(age=63, max_age=60)
    assert policy.met is False and "before 2021-04-12" in policy.detail


def test_work_permit_record_keeps_the_age_never_the_birth_date() -> None:
    assessment = check_work_permit_age(application(), IN_ZONE, RULES_NOW)

    assert assessment.inputs == {
        "nationality": "DE",
        "age": "65",
        "application_date": "2026-03-01",
        "talent_category": "A",
        "employer_credit_code": "91320706MA1X7Y8D7E",
        "approval_authority_level": "city",
    }
    texts = " ".join([assessment.explanation, *(c.detail for c in assessment.conditions)])
    assert "1960" not in texts and "03-10" not in texts


# --- R visa ---------------------------------------------------------------------------------------------------------


def r_visa(
    nationality: str = "GB", talent_type: str = "high_level", issuer: AuthorityLevel | None = AuthorityLevel.PROVINCIAL
) -> tuple[Outcome, RVisaResult, dict[str, str]]:
    letter = ConfirmationLetter(issuer, date(2026, 1, 5)) if issuer else None
    assessment = check_r_visa(RVisaApplication(nationality, talent_type, letter), RULES_NOW, date(2026, 3, 1))
    assert isinstance(assessment.result, RVisaResult)
    return assessment.outcome, assessment.result, {c.name: c.detail for c in assessment.conditions if not c.met}


def test_r_visa_with_provincial_letter_gives_10_years_180_days_abroad() -> None:
    outcome, result, unmet = r_visa()

    assert (outcome, unmet) == (Outcome.ELIGIBLE, {})
    assert result == RVisaResult(max_validity_years=10, max_stay_days=180, apply_at="visa_office_abroad")


@pytest.mark.parametrize("talent_type", ["high_level", "urgently_needed"])
def test_r_visa_both_talent_types_qualify(talent_type: str) -> None:
    assert r_visa(talent_type=talent_type)[0] is Outcome.ELIGIBLE


@pytest.mark.parametrize(
    ("case", "expected_unmet"),
    [
        ({"issuer": AuthorityLevel.CITY}, {"letter_issuer_level"}),
        ({"issuer": AuthorityLevel.NATIONAL}, {"letter_issuer_level"}),
        ({"issuer": None}, {"confirmation_letter", "letter_issuer_level"}),
        ({"nationality": "CN"}, {"foreign_national"}),
        ({"talent_type": "other"}, {"high_level_or_urgently_needed"}),
    ],
)
def test_r_visa_each_no_is_distinct_and_explained(case: dict[str, object], expected_unmet: set[str]) -> None:
    outcome, result, unmet = r_visa(**case)  # type: ignore[arg-type]

    assert outcome is Outcome.NOT_ELIGIBLE
    assert set(unmet) == expected_unmet
    assert result == RVisaResult(None, None, None)


def test_r_visa_city_letter_says_provincial_is_required() -> None:
    _, _, unmet = r_visa(issuer=AuthorityLevel.CITY)
    assert (
        unmet["letter_issuer_level"] == "letter issued on 2026-01-05 at city level; clause 五 requires provincial level"
    )


# --- permanent residents --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("nationality", "card", "granted"), [("US", True, True), ("US", False, False), ("CN", True, False)]
)
def test_permanent_resident_rights_are_three_answers_of_one_clause(nationality: str, card: bool, granted: bool) -> None:
    assessment = check_rd_institution_representative(
        RdInstitutionApplication(nationality, card), RULES_NOW, date(2026, 3, 1)
    )

    assert assessment.eligible is granted
    assert assessment.result == RdInstitutionRights(granted, granted, granted)
    assert {c.clause for c in assessment.conditions} == {5}


# --- the rule table ---------------------------------------------------------------------------------------------------


def test_every_quote_is_the_clause_own_words() -> None:
    text = clause(5).text
    quotes = [r.quote for r in RULES]
    assessments = [
        check_work_permit_age(application(), IN_ZONE, RULES_NOW),
        check_r_visa(RVisaApplication("DE", "high_level", None), RULES_NOW, date(2026, 3, 1)),
        check_rd_institution_representative(RdInstitutionApplication("DE", True), RULES_NOW, date(2026, 3, 1)),
    ]
    quotes += [c.quote for a in assessments for c in a.conditions]
    assert [q for q in quotes if q not in text] == []


def test_rule_set_in_force_is_picked_by_date() -> None:
    later = replace(RULE_SETS[0], version="2027-01-01.1", effective_from=date(2027, 1, 1), relaxed_max_age=66)
    versions = (RULE_SETS[0], later)

    assert rule_set_on(date(2026, 12, 31), versions).version == "2021-04-12.1"
    assert rule_set_on(date(2027, 1, 1), versions).relaxed_max_age == 66
    assert rule_set_on(date(2020, 1, 1), versions) is RULE_SETS[0]


def test_rule_set_parameters_name_every_value() -> None:
    assert RULE_SETS[0].parameters() == {
        "usual_max_age": "60",
        "relaxed_max_age": "65",
        "high_end_categories": "A",
        "min_approval_level": "city",
        "age_counting": "day_after_birthday",
        "min_age": "18",
        "r_visa_talent_types": "high_level,urgently_needed",
        "r_visa_letter_issuer_levels": "provincial",
        "r_visa_max_validity_years": "10",
        "r_visa_max_stay_days": "180",
        "chinese_nationalities": "CN,HK,MO,TW",
    }
