"""The three clause 五 checks as pure functions: an application in, an assessment out, every condition explained.

Details name the inputs a condition judged (age, levels, codes) and never a name, passport number or birth date,
because they are stored with the decision and shown to whoever reads it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from services.common.convert import ZoneLevel
from services.talent.domain.age import completed_years
from services.talent.domain.rules import (
    CLAUSE_TALENT,
    R_VISA,
    RD_INSTITUTION_REPRESENTATIVE,
    WORK_PERMIT_AGE,
    AuthorityLevel,
    RuleSet,
)

APPLY_AT_VISA_OFFICE_ABROAD = "visa_office_abroad"  # 我国驻外签证机关


class Outcome(StrEnum):
    ELIGIBLE = "eligible"
    # Work permit only: everything but the S&T administration's approval holds, and the age needs the relaxation.
    ELIGIBLE_IF_APPROVED = "eligible_if_approved"
    NOT_ELIGIBLE = "not_eligible"


@dataclass(frozen=True)
class Condition:
    name: str
    met: bool
    detail: str
    quote: str  # the words of clause 五 this condition rests on
    clause: int = CLAUSE_TALENT


@dataclass(frozen=True)
class EnterpriseLocation:
    """Where the indicators service places an enterprise on a date."""

    name: str
    zone_code: str  # "" when the enterprise is registered outside any zone
    zone_level: ZoneLevel | None  # on the date asked; None when the zone was not (yet) recognised


@dataclass(frozen=True)
class WorkPermitApplication:
    nationality: str
    birth_date: date
    application_date: date
    talent_category: str
    employer_credit_code: str
    approval_authority_level: AuthorityLevel


@dataclass(frozen=True)
class ConfirmationLetter:
    issuer_level: AuthorityLevel
    issued_on: date


@dataclass(frozen=True)
class RVisaApplication:
    nationality: str
    talent_type: str
    letter: ConfirmationLetter | None


@dataclass(frozen=True)
class RdInstitutionApplication:
    nationality: str
    permanent_residence_card: bool


@dataclass(frozen=True)
class WorkPermitAgeResult:
    age: int
    max_age: int


@dataclass(frozen=True)
class RVisaResult:
    """The entitlement, when eligible; None fields otherwise."""

    max_validity_years: int | None
    max_stay_days: int | None
    apply_at: str | None


@dataclass(frozen=True)
class RdInstitutionRights:
    may_be_legal_representative: bool
    may_lead_government_research_projects: bool
    may_receive_related_funding: bool


Result = WorkPermitAgeResult | RVisaResult | RdInstitutionRights


@dataclass(frozen=True)
class Assessment:
    check: str
    outcome: Outcome
    conditions: tuple[Condition, ...]
    result: Result
    explanation: str
    rule_set: RuleSet
    decided_on: date
    # What the decision keeps of the inputs: reduced to what the rule needed (an age, never a birth date).
    inputs: dict[str, str]

    @property
    def eligible(self) -> bool:
        return self.outcome is Outcome.ELIGIBLE


def _foreign_national(nationality: str, rules: RuleSet, quote: str) -> Condition:
    if nationality in rules.chinese_nationalities:
        detail = (
            f"nationality {nationality} is Chinese nationality (Hong Kong, Macao and Taiwan residents included); "
            "clause 五 concerns foreign talent"
        )
        return Condition("foreign_national", False, detail, quote)
    return Condition("foreign_national", True, f"nationality {nationality}: a foreign national", quote)


def _explain(outcome: Outcome, conditions: tuple[Condition, ...], granted: str) -> str:
    if outcome is Outcome.ELIGIBLE:
        return f"Eligible: {granted}."
    unmet = "; ".join(c.detail for c in conditions if not c.met)
    if outcome is Outcome.ELIGIBLE_IF_APPROVED:
        return f"Eligible once approved: {unmet}."
    return f"Not eligible: {unmet}."


def _employer_condition(code: str, employer: EnterpriseLocation | None, on: date, quote: str) -> Condition:
    name = "employer_in_hitech_zone"
    if employer is None:
        return Condition(name, False, f"no enterprise with the credit code {code} is registered", quote)
    who = f"employer {employer.name or code}"
    if not employer.zone_code:
        return Condition(name, False, f"{who} is not located in a high-tech zone", quote)
    if employer.zone_level is None:
        detail = f"{who} is in zone {employer.zone_code}, not a recognised high-tech zone on {on.isoformat()}"
        return Condition(name, False, detail, quote)
    detail = f"{who} is in zone {employer.zone_code}, a {employer.zone_level.value} high-tech zone on {on.isoformat()}"
    return Condition(name, True, detail, quote)


def check_work_permit_age(
    application: WorkPermitApplication, employer: EnterpriseLocation | None, rules: RuleSet
) -> Assessment:
    """在高新区内企业工作的境外高端人才，经市级以上科技行政部门批准，申请工作许可的年龄可放宽至 65 岁.

    `eligible` means a foreign national whose age is within `max_age`: 65 when every relaxation condition
    holds, else the usual 60. Up to 60 the relaxation is not needed, so its conditions are reported but
    do not decide.
    """
    on = application.application_date
    age = completed_years(application.birth_date, on, rules.age_counting)
    category = application.talent_category
    approval = application.approval_authority_level
    in_force = on >= rules.effective_from
    foreign = _foreign_national(application.nationality, rules, "境外高端人才")
    relaxation = (
        Condition(
            "policy_in_force",
            in_force,
            f"application date {on.isoformat()} is "
            + ("on or after" if in_force else "before")
            + f" {rules.effective_from.isoformat()}, when clause 五 took effect",
            "申请工作许可的年龄可放宽至 65 岁",
        ),
        Condition(
            "overseas_high_end_talent",
            category in rules.high_end_categories,
            f"talent category {category}"
            + (
                ": overseas high-end talent (外国高端人才)"
                if category in rules.high_end_categories
                else f"; 境外高端人才 is category {'/'.join(rules.high_end_categories)}"
            ),
            "境外高端人才",
        ),
        _employer_condition(application.employer_credit_code, employer, on, "在高新区内企业工作"),
        Condition(
            "approved_by_st_administration",
            approval.rank >= rules.min_approval_level.rank,
            _approval_detail(approval, rules.min_approval_level),
            "经市级以上科技行政部门批准",
        ),
    )
    relaxed = foreign.met and all(c.met for c in relaxation)
    max_age = rules.relaxed_max_age if relaxed else rules.usual_max_age
    within = age <= max_age
    age_condition = Condition(
        "age_within_limit",
        within,
        _age_detail(age, on, max_age, relaxed, rules),
        "申请工作许可的年龄可放宽至 65 岁",
    )
    conditions = (foreign, *relaxation, age_condition)
    approval_missing = [c for c in conditions if not c.met] == [relaxation[-1], age_condition]
    if foreign.met and within:
        outcome = Outcome.ELIGIBLE
    elif approval_missing and age <= rules.relaxed_max_age:
        outcome = Outcome.ELIGIBLE_IF_APPROVED
    else:
        outcome = Outcome.NOT_ELIGIBLE
    return Assessment(
        check=WORK_PERMIT_AGE,
        outcome=outcome,
        conditions=conditions,
        result=WorkPermitAgeResult(age=age, max_age=max_age),
        explanation=_explain(outcome, conditions, f"age {age} is within the limit of {max_age}"),
        rule_set=rules,
        decided_on=on,
        inputs={
            "nationality": application.nationality,
            "age": str(age),
            "application_date": on.isoformat(),
            "talent_category": category,
            "employer_credit_code": application.employer_credit_code,
            "approval_authority_level": approval.value,
        },
    )


def _approval_detail(approval: AuthorityLevel, minimum: AuthorityLevel) -> str:
    if approval is AuthorityLevel.NONE:
        return f"no approval by an S&T administration yet; clause 五 requires one at {minimum.value} level or above"
    if approval.rank >= minimum.rank:
        return f"approved by an S&T administration at {approval.value} level ({minimum.value} level or above)"
    return f"approved at {approval.value} level only; clause 五 requires {minimum.value} level or above"


def _age_detail(age: int, on: date, max_age: int, relaxed: bool, rules: RuleSet) -> str:
    limit = "the clause 五 limit" if relaxed else "the usual limit"
    verdict = "within" if age <= max_age else "above"
    detail = f"age {age} (周岁) on {on.isoformat()} is {verdict} {limit} of {max_age}"
    if not relaxed and rules.usual_max_age < age <= rules.relaxed_max_age:
        detail += f"; {rules.relaxed_max_age} applies only when every condition above is met"
    return detail


def check_r_visa(application: RVisaApplication, rules: RuleSet, on: date) -> Assessment:
    """外籍高层次人才、急需紧缺人才可凭省级科技行政部门签发的确认函，直接向我国驻外签证机关申请 … R 字签证."""
    talent_type = application.talent_type
    letter = application.letter
    letter_quote = "凭省级科技行政部门签发的确认函"
    accepted = rules.r_visa_letter_issuer_levels
    if letter is None:
        issuer = Condition("letter_issuer_level", False, "no confirmation letter, so no issuer", letter_quote)
    else:
        issuer = Condition(
            "letter_issuer_level",
            letter.issuer_level in accepted,
            f"letter issued on {letter.issued_on.isoformat()} at {letter.issuer_level.value} level"
            + ("" if letter.issuer_level in accepted else f"; clause 五 requires {'/'.join(accepted)} level"),
            letter_quote,
        )
    conditions = (
        _foreign_national(application.nationality, rules, "外籍高层次人才、急需紧缺人才"),
        Condition(
            "high_level_or_urgently_needed",
            talent_type in rules.r_visa_talent_types,
            f"talent type {talent_type}"
            + ("" if talent_type in rules.r_visa_talent_types else "; clause 五 names high-level or urgently needed"),
            "外籍高层次人才、急需紧缺人才",
        ),
        Condition(
            "confirmation_letter",
            letter is not None,
            "a confirmation letter (确认函) was presented"
            if letter
            else "no confirmation letter (确认函) from the provincial S&T administration",
            letter_quote,
        ),
        issuer,
    )
    eligible = all(c.met for c in conditions)
    outcome = Outcome.ELIGIBLE if eligible else Outcome.NOT_ELIGIBLE
    granted = (
        f"may apply directly at a Chinese visa office abroad for an R visa valid up to "
        f"{rules.r_visa_max_validity_years} years, each stay up to {rules.r_visa_max_stay_days} days"
    )
    inputs = {"nationality": application.nationality, "talent_type": talent_type}
    if letter is not None:
        inputs |= {"letter_issuer_level": letter.issuer_level.value, "letter_issued_on": letter.issued_on.isoformat()}
    return Assessment(
        check=R_VISA,
        outcome=outcome,
        conditions=conditions,
        result=RVisaResult(
            max_validity_years=rules.r_visa_max_validity_years if eligible else None,
            max_stay_days=rules.r_visa_max_stay_days if eligible else None,
            apply_at=APPLY_AT_VISA_OFFICE_ABROAD if eligible else None,
        ),
        explanation=_explain(outcome, conditions, granted),
        rule_set=rules,
        decided_on=on,
        inputs=inputs,
    )


def check_rd_institution_representative(application: RdInstitutionApplication, rules: RuleSet, on: date) -> Assessment:
    """允许持有永久居留身份证的外籍人才担任新型研发机构法定代表人，牵头承担政府科研项目，并享受相关资金扶持."""
    card = application.permanent_residence_card
    conditions = (
        _foreign_national(application.nationality, rules, "外籍人才"),
        Condition(
            "permanent_residence_card",
            card,
            "holds a permanent-residence ID card (永久居留身份证)"
            if card
            else "no permanent-residence ID card (永久居留身份证)",
            "持有永久居留身份证的外籍人才",
        ),
    )
    eligible = all(c.met for c in conditions)
    outcome = Outcome.ELIGIBLE if eligible else Outcome.NOT_ELIGIBLE
    return Assessment(
        check=RD_INSTITUTION_REPRESENTATIVE,
        outcome=outcome,
        conditions=conditions,
        result=RdInstitutionRights(eligible, eligible, eligible),
        explanation=_explain(
            outcome,
            conditions,
            "may be the legal representative of a new R&D institution, lead government research projects "
            "and receive the related funding",
        ),
        rule_set=rules,
        decided_on=on,
        inputs={"nationality": application.nationality, "permanent_residence_card": str(card).lower()},
    )
