"""Talent-policy rules of clause 五: the rule table, and its parameters as versioned, effective-dated rule sets.

Every value the checks use lives in a `RuleSet`; a check applies the rule set in force on the date it judges,
and the decision records that rule set's version. A change of the policy's values is a new rule set with its own
`effective_from`; a corrected reading of the same text is a new rule set with the same `effective_from`, listed
after the one it corrects, which then applies to every date. Either way earlier decisions keep the version they
used, and it stays listed.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from enum import StrEnum

CLAUSE_TALENT = 5
POLICY_EFFECTIVE_FROM = date(2021, 4, 12)  # 连政发〔2021〕25号 issued and in force


class AuthorityLevel(StrEnum):
    """Administrative levels, lowest first (`none`: no authority has acted)."""

    NONE = "none"
    COUNTY = "county"
    CITY = "city"
    PROVINCIAL = "provincial"
    NATIONAL = "national"

    @property
    def rank(self) -> int:
        return list(AuthorityLevel).index(self)


class AgeCounting(StrEnum):
    """When a person reaches N 周岁.

    ON_BIRTHDAY: on the Nth birthday (the corresponding day, Civil Code art. 202: 28 February for someone born on
    29 February, in a common year). That is how our reading of clause 五 counts completed years (POLICY.md: "65
    years and 364 days is still 65"; a day later, 66), and how a window clerk or an applicant's app counts them.
    DAY_AFTER_BIRTHDAY: from the day after, as 法释〔2006〕1号 art. 2 counts 周岁 for criminal responsibility
    ("从周岁生日的第二天起算"); rule set 2021-04-12.1 used it, and decisions made under it keep it.
    """

    DAY_AFTER_BIRTHDAY = "day_after_birthday"
    ON_BIRTHDAY = "on_birthday"


@dataclass(frozen=True)
class RuleSet:
    version: str
    effective_from: date
    # Work permit (在高新区内企业工作的境外高端人才 … 年龄可放宽至 65 岁)
    usual_max_age: int
    relaxed_max_age: int
    high_end_categories: tuple[str, ...]  # 境外高端人才 read as category A (外国人来华工作分类标准)
    min_approval_level: AuthorityLevel  # 市级以上: city, or a higher level (以上 includes the level itself)
    age_counting: AgeCounting
    min_age: int  # below this a work-permit question is a typo, not a decision
    # R visa (凭省级科技行政部门签发的确认函 … 有效期最高 10 年、每次停留时间最高 180 日)
    r_visa_talent_types: tuple[str, ...]
    r_visa_letter_issuer_levels: tuple[AuthorityLevel, ...]
    r_visa_max_validity_years: int
    r_visa_max_stay_days: int
    # Who is a foreign national: everyone but Chinese nationals, HK/MO/TW residents' nationality included.
    chinese_nationalities: tuple[str, ...]

    def parameters(self) -> dict[str, str]:
        """Every value, as text, for listings and for the record of a decision."""
        return {
            "usual_max_age": str(self.usual_max_age),
            "relaxed_max_age": str(self.relaxed_max_age),
            "high_end_categories": ",".join(self.high_end_categories),
            "min_approval_level": self.min_approval_level.value,
            "age_counting": self.age_counting.value,
            "min_age": str(self.min_age),
            "r_visa_talent_types": ",".join(self.r_visa_talent_types),
            "r_visa_letter_issuer_levels": ",".join(level.value for level in self.r_visa_letter_issuer_levels),
            "r_visa_max_validity_years": str(self.r_visa_max_validity_years),
            "r_visa_max_stay_days": str(self.r_visa_max_stay_days),
            "chinese_nationalities": ",".join(self.chinese_nationalities),
        }


RULE_SETS: tuple[RuleSet, ...] = (
    RuleSet(
        version="2021-04-12.1",
        effective_from=POLICY_EFFECTIVE_FROM,
        usual_max_age=60,
        relaxed_max_age=65,
        high_end_categories=("A",),
        min_approval_level=AuthorityLevel.CITY,
        age_counting=AgeCounting.DAY_AFTER_BIRTHDAY,
        min_age=18,
        r_visa_talent_types=("high_level", "urgently_needed"),
        # The clause names the provincial S&T administration alone: a letter signed at any other level,
        # national included, is not the letter it describes.
        r_visa_letter_issuer_levels=(AuthorityLevel.PROVINCIAL,),
        r_visa_max_validity_years=10,
        r_visa_max_stay_days=180,
        chinese_nationalities=("CN", "HK", "MO", "TW"),
    ),
)
# 2021-04-12.2 corrects the reading of 周岁 for every date: the 66th birthday is the first day at 66.
RULE_SETS = (*RULE_SETS, replace(RULE_SETS[0], version="2021-04-12.2", age_counting=AgeCounting.ON_BIRTHDAY))
RULE_SET_VERSION = RULE_SETS[-1].version


def rule_set_on(on: date, rule_sets: tuple[RuleSet, ...] = RULE_SETS) -> RuleSet:
    """The rule set in force on `on`: the last listed whose `effective_from` is not after it (so a correction,
    listed later with the same date, wins); before the first one, the first (its checks then say the policy was
    not yet in force, rather than guess at rules that never existed)."""
    current = rule_sets[0]
    for rule_set in rule_sets:
        if rule_set.effective_from <= on or rule_set.effective_from == current.effective_from:
            current = rule_set
    return current


@dataclass(frozen=True)
class TalentRule:
    rule: str
    summary: str
    quote: str  # the clause's own words this rule implements (a verbatim part of clause 五)
    clause: int = CLAUSE_TALENT


WORK_PERMIT_AGE = "work_permit_age"
R_VISA = "r_visa"
RD_INSTITUTION_REPRESENTATIVE = "rd_institution_representative"

RULES: tuple[TalentRule, ...] = (
    TalentRule(
        WORK_PERMIT_AGE,
        "Overseas high-end talent (category A) working in an enterprise inside a high-tech zone may apply for a "
        "work permit up to age 65 (instead of 60) once approved by an S&T administration at city level or above.",
        "在高新区内企业工作的境外高端人才，经市级以上科技行政部门批准，申请工作许可的年龄可放宽至 65 岁",
    ),
    TalentRule(
        R_VISA,
        "Foreign high-level or urgently needed talent with a confirmation letter signed by the provincial S&T "
        "administration may apply directly abroad for an R visa valid up to 10 years, stays up to 180 days.",
        "外籍高层次人才、急需紧缺人才可凭省级科技行政部门签发的确认函，直接向我国驻外签证机关申请办理有效期最高"
        " 10 年、每次停留时间最高 180 日的 R 字签证",
    ),
    TalentRule(
        RD_INSTITUTION_REPRESENTATIVE,
        "Foreign talent holding a permanent-residence ID card may be the legal representative of a new R&D "
        "institution, lead government research projects and receive the related funding.",
        "允许持有永久居留身份证的外籍人才担任新型研发机构法定代表人，牵头承担政府科研项目，并享受相关资金扶持",
    ),
)
RULE_BY_NAME = {r.rule: r for r in RULES}
