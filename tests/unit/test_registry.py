from __future__ import annotations

from datetime import date

import pytest

from services.common.convert import ZoneLevel
from services.indicators.domain.registry import (
    Recognition,
    check_county_code,
    check_programme,
    check_recognition_date,
    check_zone_code,
    level_on,
)

HISTORY = [Recognition(date(1997, 6, 1), ZoneLevel.PROVINCIAL), Recognition(date(2015, 2, 16), ZoneLevel.NATIONAL)]


@pytest.mark.parametrize(
    ("on", "expected"),
    [
        (date(1997, 5, 31), None),
        (date(1997, 6, 1), ZoneLevel.PROVINCIAL),
        (date(2015, 2, 15), ZoneLevel.PROVINCIAL),
        (date(2015, 2, 16), ZoneLevel.NATIONAL),
        (date(2030, 1, 1), ZoneLevel.NATIONAL),
    ],
)
def test_level_on_is_latest_recognition_on_or_before(on: date, expected: ZoneLevel | None) -> None:
    assert level_on(HISTORY, on) is expected


def test_level_on_follows_a_downgrade() -> None:
    history = [*HISTORY, Recognition(date(2024, 1, 1), ZoneLevel.PROVINCIAL)]
    assert level_on(history, date(2024, 1, 1)) is ZoneLevel.PROVINCIAL


@pytest.mark.parametrize(("code", "ok"), [("320706", True), ("32070", False), ("3207061", False), ("32070a", False)])
def test_county_code_is_six_digits(code: str, ok: bool) -> None:
    assert (check_county_code(code) == []) is ok


@pytest.mark.parametrize(
    ("code", "ok"),
    [("LYG-HTZ", True), ("a" * 32, True), ("a" * 33, False), ("-x", False), ("有中文", False), ("a b", False)],
)
def test_zone_code_shape(code: str, ok: bool) -> None:
    assert (check_zone_code(code) == []) is ok


def test_recognition_date_bounds() -> None:
    today = date(2026, 11, 26)
    assert check_recognition_date(today, today) == []
    assert check_recognition_date(date(1988, 1, 1), today) == []
    assert check_recognition_date(date(1987, 12, 31), today)[0].location == ("recognized_on",)
    assert "future" in check_recognition_date(date(2026, 11, 27), today)[0].message


@pytest.mark.parametrize(
    ("programme", "ok"), [("innovation_pilot", True), ("ip_pilot", True), ("ip_demonstration", True), ("ip", False)]
)
def test_programme_is_one_of_the_three_pilots(programme: str, ok: bool) -> None:
    assert (check_programme(programme) == []) is ok


def test_designation_date_is_located_at_listed_on() -> None:
    today = date(2026, 11, 26)
    assert check_recognition_date(date(2026, 11, 27), today, ("listed_on",))[0].location == ("listed_on",)
