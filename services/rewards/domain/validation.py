"""Checks of the facts and parameter values the rewards API accepts: pure, each violation located by field.

The gateway checks shapes first (pydantic); these checks are the service's own, for every gRPC caller, and
locate violations the way the REST body names them (e.g. ("rankings", 2, "ranks", 0, "rank")).
"""

from __future__ import annotations

import re
from datetime import date

from services.common.errors import FieldViolation
from services.common.text import name_problem
from services.rewards.domain.parameters import POLICY_EFFECTIVE_FROM, SPECS
from services.rewards.domain.rules import PROGRAMMES

Location = tuple[str | int, ...]

ZONE_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$")
COUNTY_CODE = re.compile(r"^\d{6}$")
PROJECT_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
EARLIEST_FACT = date(1988, 1, 1)  # the first national high-tech zones; anything earlier is a typo
EARLIEST_YEAR, LATEST_YEAR = 1988, 2100
MAX_INVESTMENT_YUAN = 100_000_000_000_000  # ¥100 trillion: above this a figure is a typo, and sums stay in int64


def check_zone_code(code: str, at: Location) -> list[FieldViolation]:
    if ZONE_CODE.fullmatch(code):
        return []
    return [FieldViolation(at, "must be 1-32 letters, digits, '-' or '_', starting with a letter or digit")]


def check_county_code(code: str, at: Location) -> list[FieldViolation]:
    return [] if COUNTY_CODE.fullmatch(code) else [FieldViolation(at, "must be a 6-digit division code")]


def check_project_code(code: str, at: Location) -> list[FieldViolation]:
    if PROJECT_CODE.fullmatch(code):
        return []
    return [FieldViolation(at, "must be 1-64 letters, digits, '.', '-' or '_', starting with a letter or digit")]


def check_name(name: str, at: Location) -> list[FieldViolation]:
    return [FieldViolation(at, problem)] if (problem := name_problem(name)) else []


def check_programme(programme: str, at: Location) -> list[FieldViolation]:
    return [] if programme in PROGRAMMES else [FieldViolation(at, f"must be one of: {', '.join(PROGRAMMES)}")]


def check_fact_date(value: date | None, at: Location, today: date | None = None) -> list[FieldViolation]:
    """A fact's date: set, not before 1988, and (for facts pushed as real, `today` given) not in the future."""
    if value is None:
        return [FieldViolation(at, "is required")]
    if value < EARLIEST_FACT:
        return [FieldViolation(at, f"must be on or after {EARLIEST_FACT.isoformat()}")]
    if today is not None and value > today:
        return [FieldViolation(at, f"must not be in the future (today is {today.isoformat()} in China)")]
    return []


def check_year(year: int, at: Location) -> list[FieldViolation]:
    if EARLIEST_YEAR <= year <= LATEST_YEAR:
        return []
    return [FieldViolation(at, f"must be a year from {EARLIEST_YEAR} to {LATEST_YEAR}")]


def check_investment(amount: int, at: Location) -> list[FieldViolation]:
    if 1 <= amount <= MAX_INVESTMENT_YUAN:
        return []
    return [FieldViolation(at, f"must be a positive integer number of yuan, at most {MAX_INVESTMENT_YUAN}")]


def check_parameter_name(name: str, at: Location) -> list[FieldViolation]:
    if name in SPECS:
        return []
    return [FieldViolation(at, f"unknown parameter; known: {', '.join(sorted(SPECS))}")]


def check_effective_from(value: date | None, at: Location) -> list[FieldViolation]:
    if value is None:
        return [FieldViolation(at, "is required")]
    if value < POLICY_EFFECTIVE_FROM:
        return [FieldViolation(at, f"must be on or after the policy took effect ({POLICY_EFFECTIVE_FROM.isoformat()})")]
    if value.year > LATEST_YEAR:
        return [FieldViolation(at, f"must be before {LATEST_YEAR + 1}")]
    return []


def check_parameter_version(name: str, value: object, effective_from: date, at: Location) -> list[FieldViolation]:
    """Checks that tie a parameter's value to its own version.

    `policy.effective_from` is a parameter so that every decision records the date it applied, but its value is
    the day the policy took effect, not a setting: POLICY.md fixes it at the issue date. A version claiming to be
    in force from `effective_from` under a policy that starts later contradicts itself (facts judged under the
    version would be "before the policy took effect"), and a policy cannot take effect before it was issued.
    """
    if name != "policy.effective_from" or not isinstance(value, date):
        return []
    if value > effective_from:
        return [
            FieldViolation(
                at,
                f"must be on or before the version's own effective_from ({effective_from.isoformat()}): "
                "a policy cannot start after a version in force under it",
            )
        ]
    if value < POLICY_EFFECTIVE_FROM:
        return [
            FieldViolation(
                at, f"must be on or after the day the policy was issued ({POLICY_EFFECTIVE_FROM.isoformat()})"
            )
        ]
    return []
