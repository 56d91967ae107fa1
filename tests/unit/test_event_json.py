"""Event JSON (webhook `data`) spelled as the REST API spells the same things: every event type of the catalogue."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime
from typing import Any

import pytest
from gaoxin.events.v1 import events_pb2
from gaoxin.indicators.v1 import indicators_pb2
from gaoxin.rewards.v1 import rewards_pb2
from gaoxin.types.v1 import types_pb2
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message
from google.protobuf.message_factory import GetMessageClass
from google.protobuf.timestamp_pb2 import Timestamp

from services.common.convert import ZoneLevel, clause_to_pb, date_to_pb
from services.common.events_catalog import BY_NAME, EVENT_TYPES, EventType, enum_word, event_json, message_json
from services.gateway import schemas
from services.gateway.routes.awards import award_json
from services.gateway.routes.zones import zone_json
from services.gateway.wire import level_name
from tests.rest_shape import unlike_model, unlike_rest

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
    walked = message_json(message)

    data = event_json(event_type.subject, message.SerializeToString())

    json.dumps(data)  # plain JSON types only
    assert set(walked) == {f.name for f in message.DESCRIPTOR.fields}
    assert not [o for o in objects(data) if {"year", "month", "day"} <= set(o)], data
    assert not [s for s in leaves(data) if isinstance(s, str) and PROTO_ENUM_NAME.fullmatch(s)], data
    assert data["meta"]["occurred_at"] == "2026-11-26T14:24:33.123456Z"
    for field in message.DESCRIPTOR.fields:
        if field.type == FieldDescriptor.TYPE_ENUM:
            assert walked[field.name] in {"provincial", "national"}, field.name
        elif field.message_type is not None and field.message_type.name == "Date":
            assert ISO_DATE.fullmatch(walked[field.name]), field.name
    stamps = [s for s in leaves(data) if isinstance(s, str) and "T" in s and s[:4].isdigit()]
    assert stamps and all(RFC3339_Z.fullmatch(s) for s in stamps)


@pytest.mark.parametrize("event_type", EVENT_TYPES, ids=[t.name for t in EVENT_TYPES])
def test_respelling_as_rest_keeps_every_value_the_event_carries(event_type: EventType) -> None:
    message = filled(event_type.message())

    data = event_json(event_type.subject, message.SerializeToString())

    kept = leaves(data)
    assert [v for v in leaves(message_json(message)) if v not in kept] == []


# The REST representation each event type announces (the response model of the endpoint named in README), and the
# fields an event carries that REST does not have: the indicator batch's answer does not list what it touched.
REST_MODEL: dict[str, Any] = {
    "indicators.zone_recognized": schemas.RecognitionRecorded,  # POST /v1/zones/{zone_code}/recognitions
    "indicators.county_designated": schemas.DesignationRecorded,  # POST /v1/counties/{county_code}/designations
    "indicators.indicator_values_accepted": schemas.ValueBatchResult,  # POST /v1/indicator-values:batch
    "indicators.ranking_published": schemas.RankingPublished,  # PUT /v1/evaluations/{year}/rankings/{level}
    "indicators.consequences_determined": schemas.Consequences,  # GET /v1/evaluations/{year}/consequences/{level}
    "rewards.award_granted": schemas.Award,  # GET /v1/awards
    "rewards.award_revoked": schemas.Award,
    "talent.decision_recorded": schemas.TalentDecision,  # GET /v1/talent/decisions/{decision_id}
}
EVENT_ONLY = {"meta"}
EVENT_ONLY_BY_TYPE = {
    "indicators.indicator_values_accepted": {"zone_codes", "years", "source"},
    # Whether this grant brings back a revoked award: the award's `history` in REST says it over time.
    "rewards.award_granted": {"reinstated"},
}


def test_every_event_type_names_the_rest_representation_it_mirrors() -> None:
    assert set(REST_MODEL) == set(BY_NAME)


@pytest.mark.parametrize("event_type", EVENT_TYPES, ids=[t.name for t in EVENT_TYPES])
def test_event_data_has_the_keys_and_nesting_of_its_rest_representation(event_type: EventType) -> None:
    message = filled(event_type.message())

    data = event_json(event_type.subject, message.SerializeToString())

    ignore = EVENT_ONLY | EVENT_ONLY_BY_TYPE.get(event_type.name, set())
    assert unlike_model(data, REST_MODEL[event_type.name], ignore) == []


def test_a_granted_award_reads_as_get_awards_writes_it() -> None:
    event = events_pb2.AwardGranted(
        award_id="aw-1",
        rule="rank_advance",
        beneficiary_kind="zone",
        beneficiary_code="LYG-HTZ",
        year=2023,
        amount_yuan=500_000,
        clause_number=25,
    )
    event.meta.occurred_at.FromDatetime(MOMENT)
    award = rewards_pb2.Award(
        award_id="aw-1",
        rule="rank_advance",
        beneficiary=rewards_pb2.Beneficiary(kind="zone", code="LYG-HTZ"),
        year=2023,
        amount_yuan=500_000,
        clause=clause_to_pb(25),
        status=rewards_pb2.AWARD_STATUS_GRANTED,
    )
    award.granted_at.FromDatetime(MOMENT)

    data = event_json("gaoxin.rewards.award_granted.v1", event.SerializeToString())

    assert data["beneficiary"] == {"kind": "zone", "code": "LYG-HTZ"}
    assert data["clause"] == {"id": 25, "label": "（二十五）", "url": "/v1/policy/clauses/25"}
    assert data["reinstated"] is False  # a first grant: every field is written, defaults too
    assert unlike_rest({k: v for k, v in data.items() if k not in ("meta", "reinstated")}, award_json(award)) == []


def test_a_reinstated_award_is_announced_as_granted_with_reinstated_true() -> None:
    event = events_pb2.AwardGranted(award_id="aw-1", rule="rank_advance", clause_number=25, reinstated=True)

    data = event_json("gaoxin.rewards.award_granted.v1", event.SerializeToString())

    assert (data["award_id"], data["reinstated"]) == ("aw-1", True)
    assert list(data)[-1] == "reinstated"  # after the fields a first grant has, in the message's order


def test_a_revoked_award_reads_as_get_awards_writes_it() -> None:
    event = events_pb2.AwardRevoked(
        award_id="aw-2",
        rule="new_provincial_zone",
        beneficiary_kind="zone",
        beneficiary_code="Z-9",
        year=2023,
        amount_yuan=1_000_000,
        reason="the zone was first recognised national, not provincial",
    )
    award = rewards_pb2.Award(
        award_id="aw-2",
        rule="new_provincial_zone",
        beneficiary=rewards_pb2.Beneficiary(kind="zone", code="Z-9"),
        year=2023,
        amount_yuan=1_000_000,
        clause=clause_to_pb(24),
        status=rewards_pb2.AWARD_STATUS_REVOKED,
        revocation_reason="the zone was first recognised national, not provincial",
    )
    award.revoked_at.FromDatetime(MOMENT)

    data = event_json("gaoxin.rewards.award_revoked.v1", event.SerializeToString())

    assert data["revocation_reason"] == award.revocation_reason and "reason" not in data
    assert unlike_rest({k: v for k, v in data.items() if k != "meta"}, award_json(award)) == []


def test_an_award_citing_a_clause_this_gateway_does_not_know_still_cites_its_number() -> None:
    event = events_pb2.AwardGranted(award_id="a", clause_number=27)

    data = event_json("gaoxin.rewards.award_granted.v1", event.SerializeToString())

    assert data["clause"] == {"id": 27, "label": None, "url": "/v1/policy/clauses/27"}


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


def test_a_recognition_and_its_history_read_as_the_recognition_endpoint_writes_them() -> None:
    first = types_pb2.Recognition(level=types_pb2.ZONE_LEVEL_PROVINCIAL, recognized_on=date_to_pb(date(2019, 1, 2)))
    second = types_pb2.Recognition(level=types_pb2.ZONE_LEVEL_NATIONAL, recognized_on=date_to_pb(date(2022, 6, 30)))
    event = events_pb2.ZoneRecognized(
        zone_code="Z-1", county_code="320706", recognition=second, history=[first, second]
    )
    zone = zone_json(indicators_pb2.Zone(zone_code="Z-1", county_code="320706", recognitions=[first, second]))

    data = event_json("gaoxin.indicators.zone_recognized.v1", event.SerializeToString())

    assert (data["zone_code"], data["level"], data["recognized_on"]) == ("Z-1", "national", "2022-06-30")
    assert data["zone"] == {
        "zone_code": "Z-1",
        "county_code": "320706",
        "recognitions": [
            {"level": "provincial", "recognized_on": "2019-01-02"},
            {"level": "national", "recognized_on": "2022-06-30"},
        ],
    }
    assert unlike_rest(data["zone"], zone) == []


def test_defaults_are_written_not_left_out_and_money_stays_an_integer() -> None:
    ranking = events_pb2.RankingPublished(year=2023, level=types_pb2.ZONE_LEVEL_PROVINCIAL)
    award = events_pb2.AwardGranted(award_id="a", amount_yuan=10**12, year=2023)

    published = event_json("gaoxin.indicators.ranking_published.v1", ranking.SerializeToString())
    granted = event_json("gaoxin.rewards.award_granted.v1", award.SerializeToString())

    assert (published["replaced"], published["ranks"], published["dropped_zone_codes"]) == (False, [], [])
    assert published["meta"] is None and granted["clause"] is None
    assert granted["amount_yuan"] == 10**12 and isinstance(granted["amount_yuan"], int)


@pytest.mark.parametrize("value", types_pb2.ZoneLevel.values())
def test_zone_levels_are_the_words_the_rest_api_uses(value: types_pb2.ZoneLevel.ValueType) -> None:
    assert enum_word(types_pb2.ZoneLevel.DESCRIPTOR, value) == level_name(value)
    assert enum_word(types_pb2.ZoneLevel.DESCRIPTOR, value) in {*ZoneLevel, None}
