"""Zones, counties, recognitions and county designations (clauses 三, 十七, 二十三, 二十五): pure rules, no I/O."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from services.common.convert import ZoneLevel
from services.common.errors import FieldViolation
from services.common.text import name_problem

COUNTY_CODE = re.compile(r"^\d{6}$")  # statistical division code (行政区划代码), e.g. 320706
ZONE_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$")
# The first national high-tech zones date from 1988; anything earlier is a typo.
EARLIEST_RECOGNITION = date(1988, 1, 1)
# County pilot programmes (clause 二十五): 创新型试点, 知识产权试点, 知识产权示范.
PROGRAMMES = ("innovation_pilot", "ip_pilot", "ip_demonstration")


@dataclass(frozen=True, order=True)
class Recognition:
    recognized_on: date
    level: ZoneLevel


@dataclass(frozen=True, order=True)
class Designation:
    """A county listed in a pilot programme at a level on a date; the four together identify the listing."""

    listed_on: date
    programme: str
    level: ZoneLevel


def level_on(recognitions: Iterable[Recognition], on: date) -> ZoneLevel | None:
    """A zone's level on a date is the level of its latest recognition on or before that date."""
    latest = max((r for r in recognitions if r.recognized_on <= on), default=None)
    return latest.level if latest else None


def check_county_code(code: str, location: tuple[str | int, ...] = ("county_code",)) -> list[FieldViolation]:
    if COUNTY_CODE.fullmatch(code):
        return []
    return [FieldViolation(location, "must be a 6-digit division code (行政区划代码), e.g. 320706")]


def check_zone_code(code: str, location: tuple[str | int, ...] = ("zone_code",)) -> list[FieldViolation]:
    if ZONE_CODE.fullmatch(code):
        return []
    return [FieldViolation(location, "must be 1-32 letters, digits, '-' or '_', starting with a letter or digit")]


def check_name(name: str, location: tuple[str | int, ...] = ("name",)) -> list[FieldViolation]:
    return [FieldViolation(location, problem)] if (problem := name_problem(name)) else []


def check_programme(programme: str) -> list[FieldViolation]:
    if programme in PROGRAMMES:
        return []
    return [FieldViolation(("programme",), f"must be one of {', '.join(PROGRAMMES)}")]


def check_recognition_date(
    recognized_on: date, today: date, location: tuple[str | int, ...] = ("recognized_on",)
) -> list[FieldViolation]:
    if recognized_on < EARLIEST_RECOGNITION:
        return [FieldViolation(location, f"must be on or after {EARLIEST_RECOGNITION.isoformat()}")]
    if recognized_on > today:
        return [FieldViolation(location, f"must not be in the future (today is {today.isoformat()} in China)")]
    return []
