"""Every event the platform publishes: subject, public type name, protobuf message, and JSON rendering."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gaoxin.events.v1 import events_pb2
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.json_format import MessageToDict
from google.protobuf.message import Message


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
    """The event as JSON with integers kept integers (proto3 JSON would write int64 money as strings)."""
    message = BY_SUBJECT[subject].message.FromString(payload)
    return _with_int64_as_int(message, MessageToDict(message, preserving_proto_field_name=True))


def _with_int64_as_int(message: Message, rendered: dict[str, Any]) -> dict[str, Any]:
    for field in message.DESCRIPTOR.fields:
        if field.name not in rendered:
            continue
        if field.type in (FieldDescriptor.TYPE_INT64, FieldDescriptor.TYPE_UINT64, FieldDescriptor.TYPE_SINT64):
            value = rendered[field.name]
            rendered[field.name] = [int(v) for v in value] if isinstance(value, list) else int(value)
        elif field.message_type is not None and not field.message_type.GetOptions().map_entry:
            inner, value = getattr(message, field.name), rendered[field.name]
            if field.is_repeated and isinstance(value, list):
                rendered[field.name] = [
                    _with_int64_as_int(m, r) if isinstance(r, dict) else r for m, r in zip(inner, value, strict=True)
                ]
            elif isinstance(value, dict):  # well-known types (Timestamp) render as strings: left as they are
                rendered[field.name] = _with_int64_as_int(inner, value)
    return rendered
