from __future__ import annotations

from datetime import date
from decimal import Decimal
from fractions import Fraction

import pytest

from services.common.convert import ZoneLevel
from services.indicators.domain.catalogue import CATALOGUE, DERIVED, RAW, TARGETS, target_for
from services.indicators.domain.targets import decimal_text, evaluate, shown_text

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


@pytest.mark.parametrize(
    ("indicator", "figures", "status", "shown"),
    [
        # 0.069999999999 rounds to 0.07 at 10 places, which would meet “7%以上”: one more place tells.
        ("rd_intensity", {"rd_expenditure": "69999.999999", "gdp": "1000000"}, "not_met", "0.069999999999"),
        # 0.800000000001 rounds to 0.8, equal to the threshold of “超过 80%” it does exceed.
        (
            "hitech_output_share",
            {"hitech_industry_output": "0.800000000001", "above_scale_industrial_output": "1"},
            "met",
            "0.800000000001",
        ),
        # The largest denominator the platform accepts and a numerator one fen off 7%: 21 places.
        (
            "rd_intensity",
            {"rd_expenditure": "69999999999999.999999", "gdp": "999999999999999.999999"},
            "not_met",
            "0.069999999999999999999",
        ),
        # Rounding that keeps the side is left at 10 places.
        ("rd_intensity", {"rd_expenditure": "6.999999", "gdp": "100"}, "not_met", "0.06999999"),
        ("rd_intensity", {"rd_expenditure": "7", "gdp": "100"}, "met", "0.07"),
        (
            "hitech_output_share",
            {"hitech_industry_output": "80", "above_scale_industrial_output": "100"},
            "not_met",
            "0.8",
        ),
        ("rd_intensity", {"rd_expenditure": "1", "gdp": "3"}, "met", "0.3333333333"),
    ],
)
def test_shown_value_compares_with_the_threshold_as_the_exact_ratio_does(
    indicator: str, figures: dict[str, str], status: str, shown: str
) -> None:
    result = evaluate(CATALOGUE[indicator], figures, NATIONAL, END_2024)
    assert result.target is not None
    threshold = Fraction(result.target.value.threshold)
    assert (result.status, result.value) == (status, shown)
    exact_side = (result.ratio > threshold) - (result.ratio < threshold)  # type: ignore[operator]
    shown_side = (Fraction(shown) > threshold) - (Fraction(shown) < threshold)
    assert shown_side == exact_side
    # The explanation quotes the value shown, not a rounding that contradicts the status.
    assert f"= {shown} " in result.explanation


@pytest.mark.parametrize(
    ("ratio", "threshold", "text"),
    [
        (Fraction(7, 100) - Fraction(1, 10**40), Fraction(7, 100), "0.069999999999999999999999999999"),
        (Fraction(7, 100) + Fraction(1, 10**40), Fraction(7, 100), "0.070000000000000000000000000001"),
        (Fraction(7, 100), Fraction(7, 100), "0.07"),
        (Fraction(1, 3), None, "0.3333333333"),
    ],
)
def test_shown_text_beyond_the_cap_rounds_away_from_the_threshold(
    ratio: Fraction, threshold: Fraction | None, text: str
) -> None:
    assert shown_text(ratio, threshold) == text
