"""Event JSON (webhook `data`) spelled as the REST API spells the same things: every event type of the catalogue."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime
from typing import Any

import pytest
from gaoxin.events.v1 import events_pb2
from gaoxin.types.v1 import types_pb2
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message
from google.protobuf.message_factory import GetMessageClass
from google.protobuf.timestamp_pb2 import Timestamp

from services.common.convert import ZoneLevel, date_to_pb
from services.common.events_catalog import EVENT_TYPES, EventType, enum_word, event_json
from services.gateway.wire import level_name

MOMENT = datetime(2026, 11, 26, 14, 24, 33, 123456, tzinfo=UTC)
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
RFC3339_Z = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z")
PROTO_ENUM_NAME = re.compile(r"[A-Z][A-Z0-9]*(_[A-Z0-9]+)+")


def filled(message: Message, depth: int = 0) -> Message:
    """Every field of the message set to a value that is not its default, nested messages and lists too."""
    for field in message.DESCRIPTOR.fields:
        samples = [_sample(field, depth, n) for n in (1, 2)]
        if field.is_repeated:
            target = getattr(message, field.name)
            for sample in samples:
                if field.message_type is not None:
                    target.add().CopyFrom(sample)
                else:
                    target.append(sample)
        elif field.message_type is not None:
            getattr(message, field.name).CopyFrom(samples[0])
        else:
            setattr(message, field.name, samples[0])
    return message


def _sample(field: Any, depth: int, n: int) -> Any:
    if field.type == FieldDescriptor.TYPE_ENUM:
        return field.enum_type.values[-n].number  # the highest numbers: never 0 (unspecified)
    if field.type == FieldDescriptor.TYPE_BOOL:
        return True
    if field.type == FieldDescriptor.TYPE_STRING:
        return f"{field.name}-{n}"
    if field.message_type is None:
        return 1_000_000 * n + 7  # every integer type; int64 money beyond float-exact ranges is not needed here
    if field.message_type.full_name == types_pb2.Date.DESCRIPTOR.full_name:
        return date_to_pb(date(2022, 5, n))
    if field.message_type.full_name == Timestamp.DESCRIPTOR.full_name:
        stamp = Timestamp()
        stamp.FromDatetime(MOMENT)
        return stamp
    assert depth < 3, f"{field.full_name}: nested too deep for this filler"
    return filled(GetMessageClass(field.message_type)(), depth + 1)


def leaves(document: Any) -> list[Any]:
    if isinstance(document, dict):
        return [leaf for v in document.values() for leaf in leaves(v)]
    if isinstance(document, list):
        return [leaf for v in document for leaf in leaves(v)]
    return [document]


def objects(document: Any) -> list[dict[str, Any]]:
    if isinstance(document, dict):
        return [document, *(o for v in document.values() for o in objects(v))]
    if isinstance(document, list):
        return [o for v in document for o in objects(v)]
    return []


@pytest.mark.parametrize("event_type", EVENT_TYPES, ids=[t.name for t in EVENT_TYPES])
def test_every_event_type_renders_dates_enums_and_timestamps_as_rest_does(event_type: EventType) -> None:
    message = filled(event_type.message())

    data = event_json(event_type.subject, message.SerializeToString())

    json.dumps(data)  # plain JSON types only
    assert set(data) == {f.name for f in message.DESCRIPTOR.fields}
    assert not [o for o in objects(data) if {"year", "month", "day"} <= set(o)], data
    assert not [s for s in leaves(data) if isinstance(s, str) and PROTO_ENUM_NAME.fullmatch(s)], data
    assert data["meta"]["occurred_at"] == "2026-11-26T14:24:33.123456Z"
    for field in message.DESCRIPTOR.fields:
        if field.type == FieldDescriptor.TYPE_ENUM:
            assert data[field.name] in {"provincial", "national"}, field.name
        elif field.message_type is not None and field.message_type.name == "Date":
            assert ISO_DATE.fullmatch(data[field.name]), field.name
    stamps = [s for s in leaves(data) if isinstance(s, str) and "T" in s and s[:4].isdigit()]
    assert stamps and all(RFC3339_Z.fullmatch(s) for s in stamps)


def test_a_designation_reads_as_the_county_endpoint_writes_it() -> None:
    event = events_pb2.CountyDesignated(
        county_code="320706",
        programme="ip_pilot",
        level=types_pb2.ZONE_LEVEL_NATIONAL,
        listed_on=types_pb2.Date(year=2022, month=5, day=1),
    )
    event.meta.occurred_at.FromDatetime(MOMENT)

    data = event_json("gaoxin.indicators.county_designated.v1", event.SerializeToString())

    assert (data["level"], data["listed_on"], data["programme"]) == ("national", "2022-05-01", "ip_pilot")
    assert data["meta"]["occurred_at"] == "2026-11-26T14:24:33.123456Z"


def test_a_recognition_and_its_history_read_as_the_zone_endpoint_writes_them() -> None:
    first = types_pb2.Recognition(level=types_pb2.ZONE_LEVEL_PROVINCIAL, recognized_on=date_to_pb(date(2019, 1, 2)))
    second = types_pb2.Recognition(level=types_pb2.ZONE_LEVEL_NATIONAL, recognized_on=date_to_pb(date(2022, 6, 30)))
    event = events_pb2.ZoneRecognized(zone_code="Z-1", recognition=second, history=[first, second])

    data = event_json("gaoxin.indicators.zone_recognized.v1", event.SerializeToString())

    assert data["recognition"] == {"level": "national", "recognized_on": "2022-06-30"}
    assert data["history"] == [
        {"level": "provincial", "recognized_on": "2019-01-02"},
        {"level": "national", "recognized_on": "2022-06-30"},
    ]


def test_defaults_are_written_not_left_out_and_money_stays_an_integer() -> None:
    ranking = events_pb2.RankingPublished(year=2023, level=types_pb2.ZONE_LEVEL_PROVINCIAL)
    award = events_pb2.AwardGranted(award_id="a", amount_yuan=10**12, year=2023)

    published = event_json("gaoxin.indicators.ranking_published.v1", ranking.SerializeToString())
    granted = event_json("gaoxin.rewards.award_granted.v1", award.SerializeToString())

    assert (published["replaced"], published["ranks"], published["dropped_zone_codes"]) == (False, [], [])
    assert published["meta"] is None
    assert granted["amount_yuan"] == 10**12 and isinstance(granted["amount_yuan"], int)


@pytest.mark.parametrize("value", types_pb2.ZoneLevel.values())
def test_zone_levels_are_the_words_the_rest_api_uses(value: types_pb2.ZoneLevel.ValueType) -> None:
    assert enum_word(types_pb2.ZoneLevel.DESCRIPTOR, value) == level_name(value)
    assert enum_word(types_pb2.ZoneLevel.DESCRIPTOR, value) in {*ZoneLevel, None}
