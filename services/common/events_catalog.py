"""Every event the platform publishes: subject, public type name, protobuf message, and JSON rendering."""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date
from typing import Any

from gaoxin.events.v1 import events_pb2
from gaoxin.types.v1 import types_pb2
from google.protobuf.descriptor import EnumDescriptor, FieldDescriptor
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp

from services.common.convert import rfc3339
from services.common.policy.clauses import clause


@dataclass(frozen=True)
class EventType:
    subject: str
    name: str  # public name for webhooks, e.g. "rewards.award_granted"
    message: type[Message]
    description: str


def _type(subject: str, message: type[Message], description: str) -> EventType:
    _, domain, event, _version = subject.split(".")
    return EventType(subject, f"{domain}.{event}", message, description)


EVENT_TYPES: tuple[EventType, ...] = (
    _type("gaoxin.indicators.zone_recognized.v1", events_pb2.ZoneRecognized, "a zone was recognised at a level"),
    _type("gaoxin.indicators.county_designated.v1", events_pb2.CountyDesignated, "a county was listed in a pilot"),
    _type(
        "gaoxin.indicators.indicator_values_accepted.v1",
        events_pb2.IndicatorValuesAccepted,
        "a batch of indicator values was accepted",
    ),
    _type("gaoxin.indicators.ranking_published.v1", events_pb2.RankingPublished, "an official ranking was pushed"),
    _type(
        "gaoxin.indicators.consequences_determined.v1",
        events_pb2.ConsequencesDetermined,
        "clause 二十六's support / restrict outcome for each zone of a ranking pushed or replaced",
    ),
    _type("gaoxin.rewards.award_granted.v1", events_pb2.AwardGranted, "an award was granted"),
    _type("gaoxin.rewards.award_revoked.v1", events_pb2.AwardRevoked, "an award was revoked"),
    _type(
        "gaoxin.talent.decision_recorded.v1",
        events_pb2.TalentDecisionRecorded,
        "a talent eligibility decision was recorded (no personal data)",
    ),
)
BY_SUBJECT = {t.subject: t for t in EVENT_TYPES}
BY_NAME = {t.name: t for t in EVENT_TYPES}


def event_json(subject: str, payload: bytes) -> dict[str, Any]:
    """The event as JSON spelled as the REST API spells the same things (API.md, common rules).

    Not proto3 JSON (MessageToDict): that writes enums by their protobuf names (`ZONE_LEVEL_NATIONAL`), our Date
    as `{"year", "month", "day"}` and int64 money as strings, and leaves out every field at its default value
    (`"replaced": false`, `"revised": 0`). Here: dates `YYYY-MM-DD`, enums as the REST words (`national`; the
    unspecified value null), timestamps RFC 3339 with `Z`, integers as integers, strings (codes, exact decimals)
    unchanged, and every field present, as in a REST response. Then an event whose message names or nests a fact
    otherwise than the REST resource it announces is respelled (`AS_REST`), so that a portal reads `data` with
    the code it reads that resource with.
    """
    data = message_json(BY_SUBJECT[subject].message.FromString(payload))
    respell = AS_REST.get(subject)
    return respell(data) if respell else data


def _respelled(data: dict[str, Any], replacements: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """`data` in its order with each key of `replacements` replaced by the entries given for it (none: dropped).

    Keys not named pass through unchanged, so a field added to the protobuf message still reaches portals.
    """
    rendered: dict[str, Any] = {}
    for key, value in data.items():
        rendered.update(replacements.get(key, {key: value}))
    return rendered


def _beneficiary(data: dict[str, Any]) -> dict[str, Any]:
    # `GET /v1/awards` nests who receives an award: `{"beneficiary": {"kind", "code"}}`.
    beneficiary = {"kind": data["beneficiary_kind"], "code": data["beneficiary_code"]}
    return {"beneficiary_kind": {"beneficiary": beneficiary}, "beneficiary_code": {}}


def clause_ref(number: int) -> dict[str, Any] | None:
    """A clause as REST cites it (`{id, label, text, url}`) less its text, which is one GET away at `url`: the
    text is the same for every award of a clause, and would be most of each delivery's bytes."""
    if number == 0:
        return None  # proto3's unset: the event names no clause
    try:
        label: str | None = clause(number).label
    except KeyError:
        label = None  # a producer newer than this gateway's policy text: still cite the number
    return {"id": number, "label": label, "url": f"/v1/policy/clauses/{number}"}


def _zone_recognized(data: dict[str, Any]) -> dict[str, Any]:
    # As `POST /v1/zones/{zone_code}/recognitions` answers: the recognition flat, the zone (what the event knows
    # of it: its county and every recognition, this one included) under `zone`.
    recognition = data["recognition"] or {"level": None, "recognized_on": None}
    zone = {"zone_code": data["zone_code"], "county_code": data["county_code"], "recognitions": data["history"]}
    return _respelled(data, {"county_code": {}, "recognition": recognition, "history": {"zone": zone}})


def _award_granted(data: dict[str, Any]) -> dict[str, Any]:
    # As one item of `GET /v1/awards`.
    return _respelled(data, {**_beneficiary(data), "clause_number": {"clause": clause_ref(data["clause_number"])}})


def _consequences_determined(data: dict[str, Any]) -> dict[str, Any]:
    # As `GET /v1/evaluations/{year}/consequences/{level}` answers: the clause cited, no version as null.
    return _respelled(
        data,
        {
            "clause_number": {"clause": clause_ref(data["clause_number"])},
            "parameter_version": {"parameter_version": data["parameter_version"] or None},
        },
    )


def _award_revoked(data: dict[str, Any]) -> dict[str, Any]:
    # As one item of `GET /v1/awards?status=revoked`, whose reason is `revocation_reason`.
    return _respelled(data, {**_beneficiary(data), "reason": {"revocation_reason": data["reason"]}})


# The event types whose messages name or nest a fact otherwise than the REST resource they announce. The others
# already match it field for field: county_designated (`POST /v1/counties/{code}/designations`),
# indicator_values_accepted (`POST /v1/indicator-values:batch`; its zone_codes, years and source have no REST
# counterpart), ranking_published (`PUT /v1/evaluations/{year}/rankings/{level}`), decision_recorded
# (`GET /v1/talent/decisions/{id}`). Respelled here, not in the protobuf messages: other services consume those
# (rewards reads the indicators events), and a JSON spelling for portals is no reason to change the bus contract.
AS_REST: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "gaoxin.indicators.zone_recognized.v1": _zone_recognized,
    "gaoxin.indicators.consequences_determined.v1": _consequences_determined,
    "gaoxin.rewards.award_granted.v1": _award_granted,
    "gaoxin.rewards.award_revoked.v1": _award_revoked,
}


def enum_word(enum: EnumDescriptor, number: int) -> str | None:
    """`ZONE_LEVEL_NATIONAL` of enum `ZoneLevel` → "national", as the REST API writes it; 0 (unspecified) → None."""
    value = enum.values_by_number.get(number)
    if number == 0 or value is None:
        return None
    prefix = re.sub(r"(?<!^)(?=[A-Z])", "_", enum.name).upper() + "_"
    return value.name.removeprefix(prefix).lower()


def message_json(message: Message) -> dict[str, Any]:
    """Every field of the message under its protobuf name, each value spelled as REST spells it (no respelling)."""
    rendered: dict[str, Any] = {}
    for field in message.DESCRIPTOR.fields:
        value = getattr(message, field.name)
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            value_field = field.message_type.fields_by_name["value"]
            rendered[field.name] = {str(k): _value(value_field, v) for k, v in value.items()}
        elif field.is_repeated:
            rendered[field.name] = [_value(field, v) for v in value]
        elif field.message_type is not None and not message.HasField(field.name):
            rendered[field.name] = None
        else:
            rendered[field.name] = _value(field, value)
    return rendered


def _value(field: Any, value: Any) -> Any:
    """One value of `field` (a FieldDescriptor: the stubs type pure-Python and upb descriptors apart)."""
    if field.type == FieldDescriptor.TYPE_ENUM:
        return enum_word(field.enum_type, value)
    if field.type == FieldDescriptor.TYPE_BYTES:
        return base64.b64encode(value).decode()
    if field.message_type is None:
        return value  # str, bool, int (int64 too: money stays a JSON integer), float
    name = field.message_type.full_name
    if name == types_pb2.Date.DESCRIPTOR.full_name:
        return None if value.year == 0 else date(value.year, value.month, value.day).isoformat()
    if name == Timestamp.DESCRIPTOR.full_name:
        return rfc3339(value.ToDatetime(UTC))
    if name.startswith("google.protobuf."):
        # Another well-known type would render as its internals; say how it reads in REST before using one.
        raise TypeError(f"no JSON spelling for {name} in events yet")
    return message_json(value)
