from __future__ import annotations

from datetime import date

import pytest

from services.indicators.domain.dated import Version
from services.indicators.domain.enterprises import Certificate, EnterpriseRecord, hitech_on, valid_until


@pytest.mark.parametrize(
    ("issued_on", "last_day"),
    [
        (date(2022, 12, 1), date(2025, 12, 1)),  # the issue day is not counted: ends on the anniversary
        (date(2024, 2, 29), date(2027, 2, 28)),  # no 29 February in 2027: the month's last day
        (date(2021, 2, 28), date(2024, 2, 28)),
        (date(2023, 12, 31), date(2026, 12, 31)),
    ],
)
def test_certificate_is_valid_through_the_third_anniversary(issued_on: date, last_day: date) -> None:
    assert valid_until(issued_on) == last_day


def test_hitech_on_includes_issue_day_and_last_day_only() -> None:
    certificates = [Certificate("GR202232000001", date(2022, 12, 1))]

    assert hitech_on(certificates, date(2022, 11, 30)) is False
    assert hitech_on(certificates, date(2022, 12, 1)) is True
    assert hitech_on(certificates, date(2025, 12, 1)) is True
    assert hitech_on(certificates, date(2025, 12, 2)) is False


def test_hitech_on_uses_any_certificate_so_a_renewal_keeps_the_past() -> None:
    certificates = [Certificate("A", date(2019, 5, 1)), Certificate("B", date(2022, 5, 1))]

    assert hitech_on(certificates, date(2020, 1, 1)) is True
    assert hitech_on(certificates, date(2025, 5, 1)) is True
    assert hitech_on(certificates, date(2025, 5, 2)) is False


def test_validity_years_are_dated_by_the_issue_date() -> None:
    versions = [
        Version("hitech_certificate.validity_years", 1, date(2000, 1, 1), 3, "three years"),
        Version("hitech_certificate.validity_years", 2, date(2030, 1, 1), 5, "invented: five years"),
    ]

    assert valid_until(date(2029, 12, 31), versions) == date(2032, 12, 31)
    assert valid_until(date(2030, 1, 1), versions) == date(2035, 1, 1)


def test_latest_certificate_is_the_most_recently_issued() -> None:
    record = EnterpriseRecord(
        "9144030071526726XG",
        "某公司",
        "Z",
        True,
        (Certificate("B", date(2022, 5, 1)), Certificate("A", date(2019, 5, 1))),
    )
    assert record.latest_certificate == Certificate("B", date(2022, 5, 1))
