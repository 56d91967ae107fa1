"""Reward parameters: typed values, versions by date, pinning."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from services.rewards.domain.parameters import (
    DEFAULT_PARAMETERS,
    SPECS,
    ParameterTable,
    ParameterVersion,
    parse_value,
    render_value,
)
from services.rewards.domain.validation import check_parameter_version


@pytest.mark.parametrize(
    ("name", "text", "value"),
    [
        ("new_provincial_zone.amount_yuan", "1200000", 1_200_000),
        ("new_provincial_zone.amount_yuan", "0", 0),
        ("rank_advance.min_places", "4", 4),
        ("talent_project.rate", "0.050", Decimal("0.05")),
        ("talent_project.rate", "1", Decimal(1)),
        ("talent_project.rate", "0", Decimal(0)),
        ("pilot_county.one_award_per_listing", "false", False),
        ("rank_advance.without_history", "no_award", "no_award"),
        ("policy.effective_from", "2021-04-12", date(2021, 4, 12)),
        ("zone_reward.earmark", "service_capacity_building", "service_capacity_building"),
    ],
)
def test_parse_value_accepts_each_kind(name: str, text: str, value: object) -> None:
    assert parse_value(name, text) == value


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("new_provincial_zone.amount_yuan", "1000000.5", "integer number of yuan"),
        ("new_provincial_zone.amount_yuan", "-1", "integer number of yuan"),
        ("new_provincial_zone.amount_yuan", "1e6", "integer number of yuan"),
        ("rank_advance.min_places", "0", "an integer from 1"),
        ("talent_project.rate", "1.5", "from 0 to 1"),
        ("talent_project.rate", "-0.1", "from 0 to 1"),
        ("talent_project.rate", "NaN", "from 0 to 1"),
        ("talent_project.rate", "0.0000001", "at most 6 decimals"),
        ("talent_project.rate", "five percent", "from 0 to 1"),
        ("pilot_county.one_award_per_listing", "yes", "true or false"),
        ("rank_advance.without_history", "from_bottom", "one of: no_award"),
        ("policy.effective_from", "2021-02-30", "date"),
        ("no.such.parameter", "1", "unknown parameter"),
    ],
)
def test_parse_value_refuses_a_value_of_the_wrong_kind(name: str, text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_value(name, text)


def test_values_render_canonically() -> None:
    assert [render_value(v) for v in (True, False, 1_000_000, Decimal("0.05"), "x")] == [
        "true",
        "false",
        "1000000",
        "0.05",
        "x",
    ]


def test_every_default_is_version_1_from_the_policy_date_and_the_rate_has_none() -> None:
    assert {v.version for v in DEFAULT_PARAMETERS} == {1}
    assert {v.effective_from for v in DEFAULT_PARAMETERS} == {date(2021, 4, 12)}
    assert {v.name for v in DEFAULT_PARAMETERS} == set(SPECS) - {"talent_project.rate"}
    assert ParameterTable().in_force("talent_project.rate", date(2030, 1, 1)) is None


def test_open_points_are_named_parameters_with_defaults() -> None:
    open_points = {name for name, spec in SPECS.items() if spec.open_point}
    assert open_points == {
        "rank_advance.without_history",
        "pilot_county.one_award_per_listing",
        "zone_reward.earmark",
        "talent_project.rate",
        "talent_project.zone_must_be_recognised",
    }


def test_in_force_picks_the_latest_effective_version_and_the_higher_number_on_the_same_day() -> None:
    extra = [
        ParameterVersion("talent_project.rate", Decimal("0.05"), 2, date(2023, 1, 1), 5, ""),
        ParameterVersion("talent_project.rate", Decimal("0.06"), 3, date(2023, 1, 1), 5, ""),
        ParameterVersion("talent_project.rate", Decimal("0.02"), 4, date(2022, 1, 1), 5, ""),
    ]
    table = ParameterTable().with_versions(extra)

    assert table.in_force("talent_project.rate", date(2021, 12, 31)) is None
    assert table.in_force("talent_project.rate", date(2022, 6, 1)).value == Decimal("0.02")  # type: ignore[union-attr]
    assert table.in_force("talent_project.rate", date(2023, 1, 1)).version == 3  # type: ignore[union-attr]
    assert table.next_version("talent_project.rate") == 5


def test_pinned_table_answers_with_the_pinned_version_whatever_was_added_since() -> None:
    original = ParameterTable().in_force("rank_advance.min_places", date(2022, 12, 31))
    assert original is not None
    later = ParameterVersion("rank_advance.min_places", 5, 2, date(2021, 4, 12), 25, "")
    table = ParameterTable().with_versions([later])

    assert table.in_force("rank_advance.min_places", date(2022, 12, 31)).value == 5  # type: ignore[union-attr]
    assert table.pinned([original]).in_force("rank_advance.min_places", date(2022, 12, 31)) == original


@pytest.mark.parametrize(
    ("value", "effective_from", "message"),
    [
        (date(2026, 6, 1), date(2025, 6, 1), "on or before the version's own effective_from (2025-06-01)"),
        (date(2021, 4, 13), date(2021, 4, 12), "on or before the version's own effective_from (2021-04-12)"),
        (date(2021, 4, 11), date(2025, 6, 1), "on or after the day the policy was issued (2021-04-12)"),
        (date(2021, 4, 12), date(2025, 6, 1), None),
        (date(2025, 6, 1), date(2025, 6, 1), None),
    ],
)
def test_the_policy_date_is_no_later_than_its_version_and_no_earlier_than_the_policy(
    value: date, effective_from: date, message: str | None
) -> None:
    violations = check_parameter_version("policy.effective_from", value, effective_from, ("value",))
    assert [v.message for v in violations if message and message in v.message] == [v.message for v in violations]
    assert len(violations) == (1 if message else 0)
    assert all(v.location == ("value",) for v in violations)


def test_other_parameters_are_not_tied_to_their_effective_date() -> None:
    assert check_parameter_version("new_provincial_zone.amount_yuan", 1_200_000, date(2025, 1, 1), ("value",)) == []
