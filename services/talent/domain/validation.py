"""Input checks of the three talent checks: each bad field becomes a violation naming it, and nothing is decided.

Messages never repeat the value they refuse: a refused birth date or passport number is still personal data.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

from services.common.errors import FieldViolation, InvalidArgument
from services.common.text import control_character_problem, name_problem
from services.talent.domain.age import completed_years
from services.talent.domain.checks import (
    ConfirmationLetter,
    RdInstitutionApplication,
    RVisaApplication,
    WorkPermitApplication,
)
from services.talent.domain.rules import AuthorityLevel, rule_set_on

# ISO 3166-1 alpha-2, every officially assigned code.
_ISO_3166_ALPHA_2 = """
    AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ
    CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO
    FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE
    JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO
    MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW
    PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM
    TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW
"""
ISO_COUNTRIES = frozenset(_ISO_3166_ALPHA_2.split())
TALENT_CATEGORIES = ("A", "B", "C")
R_VISA_TALENT_TYPES = ("high_level", "urgently_needed", "other")
# GB 32100-2015: 18 characters of digits and capitals without I, O, Z, S, V. The check digit is the
# indicators service's business: a code it does not know is answered as "not registered", not refused.
CREDIT_CODE = re.compile(r"^[0-9A-HJ-NP-RTUWXY]{18}$")
PASSPORT_NUMBER = re.compile(r"^[A-Z0-9]{5,20}$")
MAX_LETTER_NUMBER_LENGTH = 64
MAX_AGE_ACCEPTED = 120  # older is a mistyped birth date, not an applicant
# A pre-check may be for an application planned for the coming months; further ahead is a typo.
MAX_DAYS_AHEAD = 366

Location = tuple[str | int, ...]


def _raise(violations: list[FieldViolation]) -> None:
    if violations:
        raise InvalidArgument(
            "; ".join(f"{'.'.join(map(str, v.location))}: {v.message}" for v in violations), violations
        )


def _nationality(value: str, violations: list[FieldViolation]) -> str:
    code = value.strip().upper()
    if code not in ISO_COUNTRIES:
        violations.append(FieldViolation(("nationality",), "must be an ISO 3166-1 alpha-2 country code, e.g. DE"))
    return code


def _level(
    value: str, location: Location, allowed: tuple[AuthorityLevel, ...], violations: list[FieldViolation]
) -> AuthorityLevel:
    if value in {level.value for level in allowed}:
        return AuthorityLevel(value)
    violations.append(FieldViolation(location, f"must be one of {', '.join(level.value for level in allowed)}"))
    return AuthorityLevel.NONE


def _required(value: date | None, location: Location, violations: list[FieldViolation]) -> date | None:
    if value is None:
        violations.append(FieldViolation(location, "is required (YYYY-MM-DD)"))
    return value


def normalized_passport_number(value: str) -> str:
    return re.sub(r"[\s-]", "", value).upper()


def check_applicant(name: str, passport_number: str) -> list[FieldViolation]:
    """The optional identifiers: shape only (they are never stored, only turned into a pseudonym)."""
    violations = []
    if name and (problem := name_problem(name)):
        violations.append(FieldViolation(("name",), problem))
    if passport_number and (problem := control_character_problem(passport_number)):
        # As for `name`: a tab or a line break is not a separator someone typed, but a paste gone wrong.
        violations.append(FieldViolation(("passport_number",), problem))
    elif passport_number and not PASSPORT_NUMBER.fullmatch(normalized_passport_number(passport_number)):
        why = "must be 5 to 20 letters and digits once spaces and dashes are removed"
        violations.append(FieldViolation(("passport_number",), why))
    return violations


def work_permit_application(
    *,
    nationality: str,
    birth_date: date | None,
    application_date: date | None,
    talent_category: str,
    employer_credit_code: str,
    approval_authority_level: str,
    today: date,
    violations: list[FieldViolation],
) -> WorkPermitApplication:
    """The application, or InvalidArgument with every violation (`violations` may already hold some)."""
    code = _nationality(nationality, violations)
    applied = _required(application_date, ("application_date",), violations)
    born = _required(birth_date, ("birth_date",), violations)
    if applied is not None and applied > today + timedelta(days=MAX_DAYS_AHEAD):
        violations.append(FieldViolation(("application_date",), f"must be at most {MAX_DAYS_AHEAD} days ahead"))
    if applied is not None and born is not None:
        if born > applied:
            violations.append(FieldViolation(("birth_date",), "must not be after application_date"))
        else:
            rules = rule_set_on(applied)
            age = completed_years(born, applied, rules.age_counting)
            if age < rules.min_age:
                violations.append(
                    FieldViolation(("birth_date",), f"the applicant is under {rules.min_age} on application_date")
                )
            elif age > MAX_AGE_ACCEPTED:
                violations.append(
                    FieldViolation(("birth_date",), f"implausible: over {MAX_AGE_ACCEPTED} on application_date")
                )
    if talent_category not in TALENT_CATEGORIES:
        violations.append(FieldViolation(("talent_category",), f"must be one of {', '.join(TALENT_CATEGORIES)}"))
    if not CREDIT_CODE.fullmatch(employer_credit_code):
        # The register's own wording for a code typed in lower case (POST /v1/enterprises:batch says the same).
        hint = (
            f"letters must be upper case: did you mean '{employer_credit_code.upper()}'?"
            if CREDIT_CODE.fullmatch(employer_credit_code.upper())
            else "must be an 18-character unified social credit code (digits and capitals, no I, O, S, V, Z)"
        )
        violations.append(FieldViolation(("employer_credit_code",), hint))
    approval = _level(approval_authority_level, ("approval_authority_level",), tuple(AuthorityLevel), violations)
    _raise(violations)
    assert applied is not None and born is not None
    return WorkPermitApplication(code, born, applied, talent_category, employer_credit_code, approval)


def r_visa_application(
    *,
    nationality: str,
    talent_type: str,
    letter: tuple[str, date | None, str] | None,
    today: date,
    violations: list[FieldViolation],
) -> RVisaApplication:
    """`letter` is (issuer_level, issued_on, number), or None when no letter was presented."""
    code = _nationality(nationality, violations)
    if talent_type not in R_VISA_TALENT_TYPES:
        violations.append(FieldViolation(("talent_type",), f"must be one of {', '.join(R_VISA_TALENT_TYPES)}"))
    confirmation = None
    if letter is not None:
        issuer_level, issued_on, number = letter
        issuers = tuple(level for level in AuthorityLevel if level is not AuthorityLevel.NONE)
        level = _level(issuer_level, ("confirmation_letter", "issuer_level"), issuers, violations)
        issued = _required(issued_on, ("confirmation_letter", "issued_on"), violations)
        if issued is not None and issued > today:
            violations.append(
                FieldViolation(("confirmation_letter", "issued_on"), f"must not be in the future (today is {today})")
            )
        if len(number) > MAX_LETTER_NUMBER_LENGTH:
            violations.append(
                FieldViolation(
                    ("confirmation_letter", "number"), f"must be at most {MAX_LETTER_NUMBER_LENGTH} characters"
                )
            )
        if issued is not None:
            confirmation = ConfirmationLetter(level, issued)
    _raise(violations)
    return RVisaApplication(code, talent_type, confirmation)


def rd_institution_application(
    *, nationality: str, permanent_residence_card: bool, violations: list[FieldViolation]
) -> RdInstitutionApplication:
    code = _nationality(nationality, violations)
    _raise(violations)
    return RdInstitutionApplication(code, permanent_residence_card)
