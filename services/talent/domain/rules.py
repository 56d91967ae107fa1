"""Talent-policy rules of clause 五 (the checks themselves arrive with the talent issue)."""

from __future__ import annotations

from dataclasses import dataclass

CLAUSE_TALENT = 5
RULE_SET_VERSION = "2021-04-12.1"


@dataclass(frozen=True)
class TalentRule:
    rule: str
    summary: str
    clause: int = CLAUSE_TALENT


RULES: tuple[TalentRule, ...] = (
    TalentRule(
        "work_permit_age",
        "Overseas high-end talent (category A) working in an enterprise inside a high-tech zone may apply for a "
        "work permit up to age 65 (instead of 60) once approved by an S&T administration at city level or above.",
    ),
    TalentRule(
        "r_visa",
        "Foreign high-level or urgently needed talent with a confirmation letter signed by the provincial S&T "
        "administration may apply directly abroad for an R visa valid up to 10 years, stays up to 180 days.",
    ),
    TalentRule(
        "rd_institution_representative",
        "Foreign talent holding a permanent-residence ID card may be the legal representative of a new R&D "
        "institution, lead government research projects and receive the related funding.",
    ),
)
