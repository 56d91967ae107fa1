"""Protobuf values as the JSON of the public contract (dates ISO-8601, levels as words, clauses cited)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

from gaoxin.types.v1 import types_pb2
from google.protobuf.timestamp_pb2 import Timestamp

from services.common.convert import level_from_pb, rfc3339


def is_json(content_type: str) -> bool:
    """Whether a Content-Type header names JSON: application/json (any parameters) or an application/*+json."""
    media_type = content_type.partition(";")[0].strip().lower()
    return media_type == "application/json" or (media_type.startswith("application/") and media_type.endswith("+json"))


def sent_media_type(content_type: str) -> str:
    """What a 415 says the request had: `Content-Type text/plain`, or `no Content-Type`."""
    return f"Content-Type {content_type}" if content_type else "no Content-Type"


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
    return rfc3339(value.ToDatetime(UTC))


def iso_datetime(value: datetime) -> str:
    """A stored moment (always timezone-aware) as the API writes it: `…Z`, never `…+00:00`."""
    return rfc3339(value)


def clause_json(ref: types_pb2.ClauseRef) -> dict[str, Any]:
    return {"id": ref.number, "label": ref.label, "text": ref.text, "url": f"/v1/policy/clauses/{ref.number}"}


def or_none(text: str) -> str | None:
    """Proto3 strings are "" when unset; the contract says null."""
    return text or None


_INTEGER_KINDS = frozenset({"amount_yuan", "places"})


def parameter_value(text: str, kind: str = "") -> bool | int | str:
    """Parameter values travel as exact text with their kind: amounts (integer yuan) and places go out as JSON
    integers, flags as booleans, everything else (the rate's exact decimal, dates, choices, labels) as text.
    Without a kind (a rewards service older than the field), whole numbers go out as integers."""
    if kind == "flag" and text in ("true", "false"):
        return text == "true"
    if kind in _INTEGER_KINDS or not kind:
        return _integer_or_text(text)
    return text


def _integer_or_text(text: str) -> int | str:
    return int(text) if text.isascii() and text.lstrip("-").isdigit() else text


# An award's basis travels as map<string, string> (and the ledger keeps and compares it as text). These keys hold
# numbers in the contract (money integer yuan; years, ranks and places integers); every other key is text: codes
# (a county code is six digits and still a code), levels, ISO dates.
BASIS_INTEGERS = frozenset({"year", "rank", "historical_best", "advance", "investment_yuan"})
BASIS_TEXT = frozenset(
    {
        "zone_code",
        "county_code",
        "project_code",
        "level",
        "talent_level",
        "programme",
        "recognized_on",
        "listed_on",
        "recruited_on",
    }
)


def basis_json(basis: Mapping[str, str]) -> dict[str, int | str]:
    """The facts an award rests on, typed: integers where the key holds one, text otherwise."""
    return {key: _integer_or_text(text) if key in BASIS_INTEGERS else text for key, text in basis.items()}
