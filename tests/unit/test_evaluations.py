"""Rankings (validation, historical best), the composite score and clause 二十六's consequences."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from fractions import Fraction

import pytest

from services.common.convert import ZoneLevel
from services.indicators.domain import composite
from services.indicators.domain.consequences import RULES, ConsequenceRule, counts, outcomes
from services.indicators.domain.ranking import (
    PastRank,
    RankEntry,
    check_shape,
    check_year_ended,
    check_zones,
    contradicted_rankings,
    contradiction_detail,
    effective_field_size,
    historical_best,
)
from services.indicators.domain.registry import Recognition

NATIONAL, PROVINCIAL = ZoneLevel.NATIONAL, ZoneLevel.PROVINCIAL
DEFAULT_RULE = RULES[0].value


def entries(*pairs: tuple[str, int]) -> list[RankEntry]:
    return [RankEntry(rank, zone) for zone, rank in pairs]


def locations(violations: list[object]) -> list[tuple[str | int, ...]]:
    return [v.location for v in violations]  # type: ignore[attr-defined]


def test_check_shape_accepts_absolute_non_contiguous_ranks() -> None:
    assert check_shape(2024, entries(("A", 45), ("B", 3), ("C", 120)), 178) == []


def test_check_shape_names_each_bad_row() -> None:
    violations = check_shape(2024, entries(("A", 0), ("B", 3), ("C", 3), ("A", 5), ("D", -2)), 0)
    assert [(v.location, v.message) for v in violations] == [
        (("ranks", 0, "rank"), "must be a positive integer"),
        (("ranks", 2, "rank"), "rank 3 is already given to ranks[1]"),
        (("ranks", 3, "zone_code"), "zone already ranked at ranks[0]"),
        (("ranks", 4, "rank"), "must be a positive integer"),
    ]


@pytest.mark.parametrize(
    ("year", "ranks", "field_size", "where"),
    [
        (1999, entries(("A", 1)), 0, ("year",)),
        (2101, entries(("A", 1)), 0, ("year",)),
        (2024, [], 0, ("ranks",)),
        (2024, entries(("A", 10)), 9, ("field_size",)),
        (2024, entries(("A", 1)), -1, ("field_size",)),
    ],
)
def test_check_shape_refuses_year_empty_and_field_size(
    year: int, ranks: list[RankEntry], field_size: int, where: tuple[str, ...]
) -> None:
    assert locations(check_shape(year, ranks, field_size)) == [where]  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("year", "today", "refused"),
    [
        (2025, date(2026, 11, 27), False),  # ended
        (2026, date(2026, 11, 27), True),  # not yet: its ranking is dated 2026-12-31
        (2030, date(2026, 11, 27), True),
        (2026, date(2026, 12, 30), True),  # the day before its last day
        (2026, date(2026, 12, 31), False),  # its last day: dated today, not in the future
        (2100, date(2026, 11, 27), True),
        (2101, date(2026, 11, 27), False),  # out of range: check_shape says so, once
    ],
)
def test_ranking_of_a_year_not_ended_in_china_is_refused(year: int, today: date, refused: bool) -> None:
    violations = check_year_ended(year, today)
    assert locations(violations) == ([("year",)] if refused else [])  # type: ignore[arg-type]
    if refused:
        assert f"dated {year}-12-31" in violations[0].message
        assert f"must not be in the future (today is {today.isoformat()} in China)" in violations[0].message


def test_check_zones_requires_registered_zones_of_the_level_at_year_end() -> None:
    levels = {"N": NATIONAL, "P": PROVINCIAL, "NEW": None}
    violations = check_zones(2024, NATIONAL, entries(("N", 1), ("P", 2), ("NEW", 3), ("GHOST", 4)), levels)
    assert [(v.location, v.message) for v in violations] == [
        (("ranks", 1, "zone_code"), "zone P is provincial on 2024-12-31, not national"),
        (("ranks", 2, "zone_code"), "zone NEW is not recognised on 2024-12-31, not national"),
        (("ranks", 3, "zone_code"), "unknown zone 'GHOST'"),
    ]


def test_recognition_contradicting_a_stored_ranking_is_named_with_the_level_it_would_give() -> None:
    placements = [PastRank(2019, PROVINCIAL, 8), PastRank(2021, PROVINCIAL, 3), PastRank(2022, PROVINCIAL, 2)]
    before = [Recognition(date(2018, 1, 1), PROVINCIAL)]
    upgrade = Recognition(date(2021, 6, 1), NATIONAL)

    assert contradicted_rankings(placements, before) == []
    found = contradicted_rankings(placements, [*before, upgrade])

    assert [(c.year, c.level, c.rank, c.actual) for c in found] == [
        (2021, PROVINCIAL, 3, NATIONAL),
        (2022, PROVINCIAL, 2, NATIONAL),
    ]
    # The words of the ranking push's own check (check_zones), prefixed by the ranking they concern.
    assert (
        found[0].describe("Q1")
        == "the 2021 provincial ranking (rank 3): zone Q1 is national on 2021-12-31, not provincial"
    )
    detail = contradiction_detail("Q1", upgrade, found)
    assert detail.startswith("a national recognition of zone Q1 on 2021-06-01 would contradict 2 stored official")
    assert "the 2022 provincial ranking (rank 2): zone Q1 is national on 2022-12-31, not provincial" in detail


def test_recognition_on_31_december_counts_for_that_years_ranking_and_a_later_one_does_not() -> None:
    placements = [PastRank(2021, PROVINCIAL, 3)]
    history = [Recognition(date(2018, 1, 1), PROVINCIAL)]

    on_the_day = contradicted_rankings(placements, [*history, Recognition(date(2021, 12, 31), NATIONAL)])
    next_day = contradicted_rankings(placements, [*history, Recognition(date(2022, 1, 1), NATIONAL)])

    assert [(c.year, c.actual) for c in on_the_day] == [(2021, NATIONAL)]
    assert next_day == []


def test_recognition_dated_earlier_that_changes_nothing_at_year_end_contradicts_nothing() -> None:
    placements = [PastRank(2021, NATIONAL, 40)]
    history = [Recognition(date(2015, 1, 1), PROVINCIAL), Recognition(date(2020, 1, 1), NATIONAL)]

    assert contradicted_rankings(placements, [*history, Recognition(date(2016, 1, 1), NATIONAL)]) == []
    # A downgrade dated after an upgrade but in the same year still decides that year's level.
    downgraded = contradicted_rankings(placements, [*history, Recognition(date(2021, 3, 1), PROVINCIAL)])
    assert [(c.year, c.level, c.actual) for c in downgraded] == [(2021, NATIONAL, PROVINCIAL)]


def test_historical_best_is_the_smallest_earlier_rank_at_the_same_level() -> None:
    history = [
        PastRank(2019, PROVINCIAL, 2),  # provincial ranks are another ranking: never compared with national ones
        PastRank(2021, NATIONAL, 60),
        PastRank(2022, NATIONAL, 48),
        PastRank(2023, NATIONAL, 52),
        PastRank(2024, NATIONAL, 30),  # the year evaluated and later do not count
        PastRank(2025, NATIONAL, 10),
    ]
    assert historical_best(history, 2024, NATIONAL) == 48
    assert historical_best(history, 2021, NATIONAL) is None
    assert historical_best(history, 2020, PROVINCIAL) == 2


def test_field_size_defaults_to_the_largest_rank() -> None:
    assert effective_field_size(entries(("A", 3), ("B", 17)), 0) == 17
    assert effective_field_size(entries(("A", 3)), 178) == 178


@pytest.mark.parametrize(
    ("n", "top", "bottom"), [(1, 0, 0), (2, 1, 1), (9, 1, 1), (10, 1, 1), (11, 2, 2), (20, 2, 2), (178, 18, 18)]
)
def test_consequence_counts_are_ten_percent_rounded_up_at_least_one(n: int, top: int, bottom: int) -> None:
    assert counts(n, DEFAULT_RULE) == (top, bottom)


def test_consequences_support_the_top_and_restrict_the_bottom_of_the_field() -> None:
    result = outcomes(entries(("A", 1), ("B", 2), ("C", 3), ("D", 18), ("E", 19), ("F", 20)), 20, DEFAULT_RULE)
    assert [(o.zone_code, o.outcome) for o in result] == [
        ("A", "support"),
        ("B", "support"),
        ("C", "none"),
        ("D", "none"),
        ("E", "restrict"),
        ("F", "restrict"),
    ]
    assert result[-1].measures == ("land_quota_restricted", "notice_and_interview", "rectification")
    assert result[0].measures == ()


def test_consequences_use_absolute_ranks_in_a_large_field() -> None:
    result = outcomes(entries(("LYG", 45), ("X", 18), ("Y", 161)), 178, DEFAULT_RULE)
    assert [(o.zone_code, o.outcome) for o in result] == [("X", "support"), ("LYG", "none"), ("Y", "restrict")]


def test_ranking_of_one_zone_has_no_consequence() -> None:
    assert [o.outcome for o in outcomes(entries(("A", 1)), 1, DEFAULT_RULE)] == ["none"]


def test_consequence_shares_are_a_parameter() -> None:
    rule = ConsequenceRule(Decimal("0.25"), Decimal("0.05"), ("rectification",))
    assert counts(20, rule) == (5, 1)


def test_composite_weights_favour_st_innovation_and_sum_to_one() -> None:
    weights = composite.WEIGHT_SETS[0].value
    assert sum(weights.values()) == 1
    assert weights["rd_intensity"] > weights["hitech_output_share"]
    assert weights["hitech_enterprise_share"] > weights["hitech_output_share"]


RATIOS = ("rd_intensity", "hitech_enterprise_share", "hitech_output_share")


def zone(rd: str, ent: str, out: str) -> dict[str, Fraction | None]:
    return {code: Fraction(v) if v else None for code, v in zip(RATIOS, (rd, ent, out), strict=True)}


def test_composite_score_is_min_max_normalised_and_weighted() -> None:
    scores = composite.scores(
        {
            "BEST": zone("0.08", "0.50", "0.90"),
            "MID": zone("0.06", "0.45", "0.70"),
            "LOW": zone("0.04", "0.40", "0.50"),
        },
        composite.WEIGHT_SETS[0].value,
    )
    assert scores == {"BEST": Decimal("100.00"), "MID": Decimal("50.00"), "LOW": Decimal("0.00")}


def test_composite_score_weights_the_indicators_differently() -> None:
    scores = composite.scores(
        {"RD": zone("0.08", "0.40", "0.50"), "OUT": zone("0.04", "0.40", "0.90")}, composite.WEIGHT_SETS[0].value
    )
    # Equal enterprise shares normalise to 1 for both (+35 each); R&D intensity weighs 40, output share 25.
    assert scores == {"RD": Decimal("75.00"), "OUT": Decimal("60.00")}


def test_composite_score_is_null_without_all_ratios_and_ignores_that_zone() -> None:
    scores = composite.scores(
        {"A": zone("0.08", "0.5", "0.9"), "B": zone("0.04", "0.4", "0.5"), "C": zone("", "0.9", "0.99")},
        composite.WEIGHT_SETS[0].value,
    )
    assert scores == {"A": Decimal("100.00"), "B": Decimal("0.00"), "C": None}


def test_composite_score_of_equal_zones_is_100() -> None:
    scores = composite.scores(
        {"A": zone("0.05", "0.5", "0.8"), "B": zone("0.05", "0.5", "0.8")}, composite.WEIGHT_SETS[0].value
    )
    assert scores == {"A": Decimal("100.00"), "B": Decimal("100.00")}
