"""The walking skeleton: gateway → gRPC → indicators DB + outbox → NATS → rewards → ledger → gateway."""

from __future__ import annotations

import asyncio

import httpx
import nats
from gaoxin.events.v1 import events_pb2

from services.platform import Platform
from tests.e2e.conftest import eventually
from tests.e2e.helpers import awards_of, create_zone, recognize, unique_zone_code


def test_recognition_as_new_provincial_zone_grants_one_clause_25_award(api: httpx.Client) -> None:
    zone = unique_zone_code()
    create_zone(api, zone)

    reply = recognize(api, zone, "provincial", "2022-06-30")

    assert reply.status_code == 201, reply.text
    assert reply.json()["zone"]["level"] == "provincial"
    awards = eventually(lambda: awards_of(api, zone))
    assert len(awards) == 1
    award = awards[0]
    assert award["rule"] == "new_provincial_zone"
    assert award["beneficiary"] == {"kind": "zone", "code": zone}
    assert award["amount_yuan"] == 1_000_000
    assert isinstance(award["amount_yuan"], int)
    assert award["year"] == 2022
    assert award["status"] == "granted"
    assert award["basis"] == {"zone_code": zone, "level": "provincial", "recognized_on": "2022-06-30"}
    assert award["clause"]["id"] == 25
    assert "对新认定的省级高新区给予 100 万元奖励" in award["clause"]["text"]
    assert award["earmark"] == "service_capacity_building"
    used = {p["name"]: p for p in award["parameters"]}
    assert used["new_provincial_zone.amount_yuan"]["value"] == 1_000_000
    assert used["new_provincial_zone.amount_yuan"]["version"] == 1


def test_repushed_recognition_changes_nothing_and_grants_nothing_more(api: httpx.Client) -> None:
    zone = unique_zone_code()
    create_zone(api, zone)
    assert recognize(api, zone, "provincial", "2023-01-05").status_code == 201
    eventually(lambda: awards_of(api, zone))

    again = recognize(api, zone, "provincial", "2023-01-05")

    assert again.status_code == 201  # as API.md lists; `created` says nothing new was recorded
    assert again.json()["created"] is False
    sentinel = unique_zone_code("S")
    create_zone(api, sentinel)
    recognize(api, sentinel, "provincial", "2023-01-06")
    eventually(lambda: awards_of(api, sentinel))  # events are applied in order: ours came before
    assert len(awards_of(api, zone)) == 1


def test_recognition_before_policy_took_effect_grants_nothing_and_on_the_day_grants(api: httpx.Client) -> None:
    before, on_the_day = unique_zone_code("B"), unique_zone_code("D")
    for zone in (before, on_the_day):
        create_zone(api, zone)

    assert recognize(api, before, "provincial", "2021-04-11").status_code == 201
    assert recognize(api, on_the_day, "provincial", "2021-04-12").status_code == 201

    awards = eventually(lambda: awards_of(api, on_the_day))
    assert [a["amount_yuan"] for a in awards] == [1_000_000]
    assert awards_of(api, before) == []


def test_zone_first_recognised_national_gets_no_new_provincial_award(api: httpx.Client) -> None:
    zone, sentinel = unique_zone_code("N"), unique_zone_code("S")
    create_zone(api, zone)
    create_zone(api, sentinel)

    recognize(api, zone, "national", "2022-01-10")
    recognize(api, zone, "provincial", "2023-01-10")  # a downgrade is not a new provincial zone
    recognize(api, sentinel, "provincial", "2023-01-11")

    eventually(lambda: awards_of(api, sentinel))
    assert awards_of(api, zone) == []


def test_replayed_event_with_new_message_id_grants_nothing_more(api: httpx.Client, platform: Platform) -> None:
    zone = unique_zone_code("R")
    create_zone(api, zone)
    recognize(api, zone, "provincial", "2024-03-01")
    eventually(lambda: awards_of(api, zone))

    async def replay() -> None:
        nc = await nats.connect(platform.settings.resolved_nats_url)
        js = nc.jetstream()
        sub = await js.subscribe("gaoxin.indicators.zone_recognized.v1", ordered_consumer=True)
        found = None
        while found is None:
            msg = await sub.next_msg(timeout=5)
            if events_pb2.ZoneRecognized.FromString(msg.data).zone_code == zone:
                found = msg
        # Past JetStream's duplicate window a redelivery looks like a new message: only the inbox can stop it.
        ack = await js.publish(found.subject, found.data, headers={"Nats-Msg-Id": "replay-" + zone})
        assert not ack.duplicate
        await nc.close()

    asyncio.run(replay())
    sentinel = unique_zone_code("S")
    create_zone(api, sentinel)
    recognize(api, sentinel, "provincial", "2024-03-02")
    eventually(lambda: awards_of(api, sentinel))
    assert len(awards_of(api, zone)) == 1
