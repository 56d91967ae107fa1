"""Protobuf values as the JSON of the public contract (dates ISO-8601, levels as words, clauses cited)."""

from __future__ import annotations

from datetime import date
from typing import Any

from gaoxin.types.v1 import types_pb2
from google.protobuf.timestamp_pb2 import Timestamp

from services.common.convert import level_from_pb


def level_name(value: int) -> str | None:
    level = level_from_pb(value)  # type: ignore[arg-type]
    return level.value if level else None


def iso_date(value: types_pb2.Date) -> str | None:
    if value.year == 0:
        return None
    return date(value.year, value.month, value.day).isoformat()


def pb_date(value: types_pb2.Date) -> date:
    return date(value.year, value.month, value.day)


def iso_time(value: Timestamp) -> str:
    """RFC 3339 in UTC with a Z, as pydantic writes datetimes elsewhere in the API."""
    return value.ToJsonString()


def clause_json(ref: types_pb2.ClauseRef) -> dict[str, Any]:
    return {"id": ref.number, "label": ref.label, "text": ref.text, "url": f"/v1/policy/clauses/{ref.number}"}


def or_none(text: str) -> str | None:
    """Proto3 strings are "" when unset; the contract says null."""
    return text or None


def parameter_value(text: str) -> int | str:
    """Parameter values travel as exact text; whole numbers (yuan, places) go out as JSON integers."""
    return int(text) if text.lstrip("-").isdigit() else text
