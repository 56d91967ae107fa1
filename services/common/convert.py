"""Conversions between protobuf value types and Python ones, and the civil date the policy is read in."""

from __future__ import annotations

from datetime import UTC, date, datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

from gaoxin.types.v1 import types_pb2

from services.common.policy.clauses import clause

CHINA = ZoneInfo("Asia/Shanghai")


def today_in_china() -> date:
    """Policy dates are civil dates in China: "today" is Beijing's today, whatever the server's zone."""
    return datetime.now(CHINA).date()


class ZoneLevel(StrEnum):
    PROVINCIAL = "provincial"
    NATIONAL = "national"


_LEVEL_TO_PB = {
    ZoneLevel.PROVINCIAL: types_pb2.ZONE_LEVEL_PROVINCIAL,
    ZoneLevel.NATIONAL: types_pb2.ZONE_LEVEL_NATIONAL,
}
_PB_TO_LEVEL = {v: k for k, v in _LEVEL_TO_PB.items()}


def level_to_pb(level: ZoneLevel | None) -> types_pb2.ZoneLevel.ValueType:
    return _LEVEL_TO_PB[level] if level is not None else types_pb2.ZONE_LEVEL_UNSPECIFIED


def level_from_pb(value: types_pb2.ZoneLevel.ValueType) -> ZoneLevel | None:
    return _PB_TO_LEVEL.get(value)


def date_to_pb(value: date) -> types_pb2.Date:
    return types_pb2.Date(year=value.year, month=value.month, day=value.day)


def date_from_pb(value: types_pb2.Date) -> date | None:
    """None for an unset date; ValueError for an impossible one (e.g. 2023-02-30)."""
    if value.year == 0 and value.month == 0 and value.day == 0:
        return None
    return date(value.year, value.month, value.day)


def rfc3339(value: datetime) -> str:
    """A moment as every JSON of the platform writes it: RFC 3339 in UTC with a `Z`, microseconds when not zero.

    The same text pydantic writes for a UTC datetime (the REST responses with a response model), so a value reads
    the same from a POST's answer, a GET and an event.
    """
    if value.tzinfo is None:
        raise ValueError("naive datetime: timestamps are written timezone-aware (UTC)")
    return value.astimezone(UTC).isoformat().removesuffix("+00:00") + "Z"


def clause_to_pb(number: int) -> types_pb2.ClauseRef:
    """A clause of the policy as a decision cites it: number, label and its own words."""
    cited = clause(number)
    return types_pb2.ClauseRef(number=cited.number, label=cited.label, text=cited.text)
