from __future__ import annotations

import hashlib
from datetime import date
from typing import Any

import pytest
from pydantic import SecretStr

from services.common.config import DEVELOPMENT_PSEUDONYM_KEY, Settings
from services.common.errors import FieldViolation, InvalidArgument
from services.talent.domain.rules import AuthorityLevel
from services.talent.domain.validation import (
    ISO_COUNTRIES,
    check_applicant,
    r_visa_application,
    work_permit_application,
)
from services.talent.main import build
from services.talent.pseudonyms import Pseudonymizer

TODAY = date(2026, 3, 1)
PRODUCTION = {
    "environment": "production",
    "nats_url": "nats://nats:4222",
    **{f"{s}_database_url": f"postgresql://db/{s}" for s in ("indicators", "rewards", "talent", "gateway")},
}


def work_permit(**changes: Any) -> list[FieldViolation]:
    values: dict[str, Any] = {
        "nationality": "DE",
        "birth_date": date(1961, 5, 1),
        "application_date": date(2026, 3, 1),
        "talent_category": "A",
        "employer_credit_code": "91320706MA1X7Y8D7E",
        "approval_authority_level": "city",
        "today": TODAY,
        "violations": [],
    } | changes
    try:
        work_permit_application(**values)
    except InvalidArgument as exc:
        return exc.violations
    return []


def test_valid_work_permit_input_is_accepted_and_nationality_normalised() -> None:
    accepted = work_permit_application(
        nationality="de",
        birth_date=date(1961, 5, 1),
        application_date=date(2026, 3, 1),
        talent_category="A",
        employer_credit_code="91320706MA1X7Y8D7E",
        approval_authority_level="provincial",
        today=TODAY,
        violations=[],
    )
    assert (accepted.nationality, accepted.approval_authority_level) == ("DE", AuthorityLevel.PROVINCIAL)


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"birth_date": date(2026, 3, 2)}, "birth_date", "must not be after application_date"),
        ({"birth_date": date(2008, 3, 2)}, "birth_date", "the applicant is under 18 on application_date"),
        ({"birth_date": date(1900, 1, 1)}, "birth_date", "implausible: over 120 on application_date"),
        ({"birth_date": None}, "birth_date", "is required (YYYY-MM-DD)"),
        ({"application_date": date(2027, 3, 3)}, "application_date", "must be at most 366 days ahead"),
        ({"talent_category": "D"}, "talent_category", "must be one of A, B, C"),
        ({"nationality": "XX"}, "nationality", "must be an ISO 3166-1 alpha-2 country code, e.g. DE"),
        ({"approval_authority_level": "town"}, "approval_authority_level", None),
        ({"employer_credit_code": "91320706MA1X7Y8D7"}, "employer_credit_code", None),
        ({"employer_credit_code": "91320706MA1X7Y8DIO"}, "employer_credit_code", None),
    ],
)
def test_bad_work_permit_input_names_the_field(changes: dict[str, Any], field: str, message: str | None) -> None:
    violations = work_permit(**changes)

    assert [v.location for v in violations] == [(field,)]
    if message:
        assert violations[0].message == message


def test_age_18_is_reached_on_the_18th_birthday() -> None:
    assert work_permit(birth_date=date(2008, 3, 1)) == []  # 18th birthday today (the application date)
    assert work_permit(birth_date=date(2008, 2, 29)) == []  # a leapling's fell on 28 Feb in 2026
    assert [v.location for v in work_permit(birth_date=date(2008, 3, 2))] == [("birth_date",)]  # tomorrow: still 17


def test_every_bad_field_is_reported_at_once() -> None:
    violations = work_permit(nationality="", talent_category="", employer_credit_code="", application_date=None)
    fields = {v.location[0] for v in violations}
    assert fields == {"nationality", "talent_category", "employer_credit_code", "application_date"}


def test_refusals_never_repeat_the_personal_value() -> None:
    violations = work_permit(birth_date=date(2026, 3, 2)) + check_applicant("", "P@SS-WORD-1!")
    assert violations[1].location == ("passport_number",)
    assert all("2026-03-02" not in v.message and "P@SS" not in v.message for v in violations)


def test_r_visa_letter_in_the_future_is_refused_inside_the_letter() -> None:
    with pytest.raises(InvalidArgument) as refused:
        r_visa_application(
            nationality="GB",
            talent_type="high_level",
            letter=("provincial", date(2026, 3, 2), ""),
            today=TODAY,
            violations=[],
        )
    assert [v.location for v in refused.value.violations] == [("confirmation_letter", "issued_on")]


def test_r_visa_letter_issuer_none_is_not_a_level() -> None:
    with pytest.raises(InvalidArgument) as refused:
        r_visa_application(
            nationality="GB", talent_type="high_level", letter=("none", TODAY, ""), today=TODAY, violations=[]
        )
    assert [v.location for v in refused.value.violations] == [("confirmation_letter", "issuer_level")]


def test_iso_country_list_is_complete() -> None:
    assert len(ISO_COUNTRIES) == 249 and {"CN", "DE", "US", "HK", "TW"} <= ISO_COUNTRIES


# --- pseudonyms ---------------------------------------------------------------------------------------------------


def test_subject_pseudonym_links_one_passport_however_written() -> None:
    keyed = Pseudonymizer(b"k" * 32)

    first = keyed.subject("DE", "Anna Schmidt", "C01X00T47")
    again = keyed.subject("DE", "", "c01x 00t47")

    assert first is not None and again is not None
    assert first == again and first.basis == "passport_number"
    assert first.pseudonym.startswith("sub_") and len(first.pseudonym) == 36


def test_subject_pseudonym_by_name_when_no_passport_and_none_without_either() -> None:
    keyed = Pseudonymizer(b"k" * 32)

    by_name = keyed.subject("DE", "  Anna   SCHMIDT ", "")

    assert by_name is not None and by_name.basis == "name"
    assert by_name == keyed.subject("DE", "anna schmidt", "")
    assert by_name != keyed.subject("AT", "anna schmidt", "")
    assert keyed.subject("DE", " ", "") is None


def test_pseudonym_is_keyed_not_a_plain_hash() -> None:
    one, other = Pseudonymizer(b"a" * 32), Pseudonymizer(b"b" * 32)
    subject = one.subject("DE", "", "C01X00T47")

    assert subject is not None
    assert subject != other.subject("DE", "", "C01X00T47")
    plain = hashlib.sha256(b"C01X00T47").hexdigest()
    assert subject.pseudonym[4:] not in plain
    assert one.reference("confirmation_letter", "C01X00T47")[4:] != subject.pseudonym[4:]


def test_production_talent_service_refuses_to_start_without_its_own_pseudonym_key() -> None:
    others = Settings(**PRODUCTION)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="GAOXIN_TALENT_PSEUDONYM_KEY"):
        build(others)  # the talent service, with no key of its own
    with pytest.raises(ValueError, match="GAOXIN_TALENT_PSEUDONYM_KEY"):
        Settings(**PRODUCTION, talent_pseudonym_key=SecretStr("short"))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="GAOXIN_TALENT_PSEUDONYM_KEY"):
        Settings(**PRODUCTION, talent_pseudonym_key=SecretStr(DEVELOPMENT_PSEUDONYM_KEY))  # type: ignore[arg-type]

    settings = Settings(**PRODUCTION, talent_pseudonym_key=SecretStr("x" * 48))  # type: ignore[arg-type]

    assert settings.pseudonym_key() == b"x" * 48
    assert "x" * 48 not in repr(settings)
    assert Settings().pseudonym_key() == DEVELOPMENT_PSEUDONYM_KEY.encode()  # development needs no setting


@pytest.mark.parametrize("pasted", ["C01X\n00T47", "C01X\t00T47", "C01X00T47\r", "C01X\x0000T47"])
def test_a_passport_number_with_a_control_character_is_refused_as_a_name_is(pasted: str) -> None:
    [violation] = check_applicant("", pasted)

    assert violation.location == ("passport_number",)
    assert violation.message.startswith("must not contain control characters (U+00")
    assert check_applicant("", "C01X 00-T47") == []  # spaces and dashes are what people type between groups
