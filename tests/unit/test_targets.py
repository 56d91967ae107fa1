from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from services.common.convert import ZoneLevel
from services.indicators.domain.catalogue import CATALOGUE, DERIVED, RAW, TARGETS, target_for
from services.indicators.domain.targets import decimal_text, evaluate

END_2024 = date(2024, 12, 31)
NATIONAL, PROVINCIAL = ZoneLevel.NATIONAL, ZoneLevel.PROVINCIAL


def test_catalogue_has_six_raw_and_three_derived_indicators_with_units() -> None:
    assert [i.code for i in RAW] == [
        "rd_expenditure",
        "gdp",
        "hitech_industry_output",
        "above_scale_industrial_output",
        "hitech_enterprises",
        "above_scale_enterprises",
    ]
    assert {i.code: i.unit for i in RAW}["gdp"] == "万元"
    assert {i.code: i.unit for i in RAW}["hitech_enterprises"] == "count"
    assert [(i.code, i.formula) for i in DERIVED] == [
        ("rd_intensity", "rd_expenditure / gdp"),
        ("hitech_output_share", "hitech_industry_output / above_scale_industrial_output"),
        ("hitech_enterprise_share", "hitech_enterprises / above_scale_enterprises"),
    ]


@pytest.mark.parametrize(
    ("indicator", "level", "op", "threshold"),
    [
        ("rd_intensity", NATIONAL, ">=", "0.07"),
        ("rd_intensity", PROVINCIAL, ">=", "0.05"),
        ("hitech_output_share", NATIONAL, ">", "0.80"),
        ("hitech_output_share", PROVINCIAL, ">", "0.70"),
        ("hitech_enterprise_share", NATIONAL, ">", "0.45"),
        ("hitech_enterprise_share", PROVINCIAL, ">", "0.45"),
    ],
)
def test_targets_of_clause_3_per_level(indicator: str, level: ZoneLevel, op: str, threshold: str) -> None:
    target = target_for(indicator, level, END_2024)
    assert target is not None
    assert (target.value.op, target.value.threshold, target.value.year, target.value.clause) == (
        op,
        Decimal(threshold),
        2025,
        3,
    )
    assert len(TARGETS) == 6


def values(**figures: str) -> dict[str, str]:
    return figures


@pytest.mark.parametrize(
    ("rd", "gdp", "level", "status"),
    [
        ("7", "100", NATIONAL, "met"),  # exactly 7%: “7%以上” includes 7%
        ("6.999999", "100", NATIONAL, "not_met"),
        ("5", "100", PROVINCIAL, "met"),
        ("4.999999", "100", PROVINCIAL, "not_met"),
        ("350000", "5000000", NATIONAL, "met"),
    ],
)
def test_rd_intensity_boundary_is_inclusive(rd: str, gdp: str, level: ZoneLevel, status: str) -> None:
    result = evaluate(CATALOGUE["rd_intensity"], values(rd_expenditure=rd, gdp=gdp), level, END_2024)
    assert result.status == status


@pytest.mark.parametrize(
    ("hitech", "total", "level", "status"),
    [
        ("80", "100", NATIONAL, "not_met"),  # exactly 80%: “超过 80%” excludes 80%
        ("80.000001", "100", NATIONAL, "met"),
        ("70", "100", PROVINCIAL, "not_met"),
        ("70.000001", "100", PROVINCIAL, "met"),
    ],
)
def test_hitech_output_share_boundary_is_exclusive(hitech: str, total: str, level: ZoneLevel, status: str) -> None:
    figures = values(hitech_industry_output=hitech, above_scale_industrial_output=total)
    assert evaluate(CATALOGUE["hitech_output_share"], figures, level, END_2024).status == status


@pytest.mark.parametrize(("hitech", "status"), [("45", "not_met"), ("46", "met")])
@pytest.mark.parametrize("level", [NATIONAL, PROVINCIAL])
def test_hitech_enterprise_share_must_exceed_45_percent(hitech: str, status: str, level: ZoneLevel) -> None:
    figures = values(hitech_enterprises=hitech, above_scale_enterprises="100")
    assert evaluate(CATALOGUE["hitech_enterprise_share"], figures, level, END_2024).status == status


def test_ratio_boundary_is_exact_where_floats_would_not_be() -> None:
    # 0.07 * 3 is 0.21000000000000002 in binary floating point; in exact arithmetic 0.21 / 3 is 0.07.
    result = evaluate(CATALOGUE["rd_intensity"], values(rd_expenditure="0.21", gdp="3"), NATIONAL, END_2024)
    assert (result.value, result.status) == ("0.07", "met")


@pytest.mark.parametrize(
    ("figures", "why"),
    [
        ({"gdp": "100"}, "no value for rd_expenditure"),
        ({"rd_expenditure": "7"}, "no value for gdp"),
        ({}, "no value for rd_expenditure and gdp"),
        ({"rd_expenditure": "7", "gdp": "0"}, "gdp is 0"),
    ],
)
def test_ratio_without_numerator_or_denominator_is_not_computable(figures: dict[str, str], why: str) -> None:
    result = evaluate(CATALOGUE["rd_intensity"], figures, NATIONAL, END_2024)
    assert (result.ratio, result.value, result.status) == (None, "", "not_computable")
    assert why in result.explanation
    assert result.target is not None


def test_zone_without_level_has_a_value_but_no_target() -> None:
    result = evaluate(CATALOGUE["rd_intensity"], values(rd_expenditure="7", gdp="100"), None, END_2024)
    assert (result.value, result.target, result.status) == ("0.07", None, "not_computable")


def test_years_before_the_policy_are_measured_against_its_first_targets() -> None:
    target = target_for("rd_intensity", NATIONAL, date(2019, 12, 31))
    assert target is not None and target.version == 1


@pytest.mark.parametrize(
    ("numerator", "denominator", "text"),
    [(7, 100, "0.07"), (1, 3, "0.3333333333"), (2, 3, "0.6666666667"), (4, 2, "2"), (0, 5, "0")],
)
def test_ratio_is_shown_rounded_to_ten_places(numerator: int, denominator: int, text: str) -> None:
    from fractions import Fraction

    assert decimal_text(Fraction(numerator, denominator)) == text
