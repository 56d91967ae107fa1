"""Awards that follow from rankings and listings pushed at the gateway, with no call: the event path end to end.

gateway → indicators (+ outbox) → NATS → rewards consumer (rank histories read back over gRPC) → ledger
(+ outbox) → NATS (award events) and GET /v1/awards.
"""

from __future__ import annotations

import asyncio
import random
from typing import Any

import httpx
import nats
from gaoxin.events.v1 import events_pb2

from services.platform import Platform
from tests.e2e.conftest import eventually
from tests.e2e.helpers import HISTORY_RECOGNITION, awards_of, create_recognised_zone, history_years, policy_years
from tests.e2e.jetstream import published

_rng = random.Random()


def put_ranking(api: httpx.Client, year: int, level: str, ranks: dict[str, int]) -> httpx.Response:
    body = {"ranks": [{"zone_code": z, "rank": r} for z, r in ranks.items()]}
    reply = api.put(f"/v1/evaluations/{year}/rankings/{level}", json=body)
    assert reply.status_code in (200, 201), reply.text
    return reply


def granted(api: httpx.Client, code: str) -> list[tuple[str, int]]:
    return sorted((a["basis_key"], a["amount_yuan"]) for a in awards_of(api, code) if a["status"] == "granted")


def new_county(api: httpx.Client) -> str:
    code = f"8{_rng.randrange(10**5):05d}"
    assert api.put(f"/v1/counties/{code}", json={"name": "测试县"}).status_code in (200, 201)
    return code


def designate(api: httpx.Client, county: str, programme: str, level: str, on: str) -> httpx.Response:
    return api.post(
        f"/v1/counties/{county}/designations", json={"programme": programme, "level": level, "listed_on": on}
    )


def test_rank_advance_of_three_is_granted_of_two_is_not_and_a_first_year_has_no_history(api: httpx.Client) -> None:
    three, two, newcomer = (create_recognised_zone(api, p, "national", HISTORY_RECOGNITION) for p in ("R3", "R2", "RN"))
    [y1], [y2] = history_years(1), policy_years(1)

    put_ranking(api, y1, "national", {three: 10, two: 11})
    put_ranking(api, y2, "national", {three: 7, two: 9, newcomer: 1})

    awards = eventually(lambda: [a for a in awards_of(api, three) if a["rule"] == "rank_advance"])
    [award] = awards
    assert (award["year"], award["amount_yuan"], award["status"]) == (y2, 1_000_000, "granted")
    assert award["basis"] == {
        "zone_code": three,
        "year": y2,
        "level": "national",
        "rank": 7,
        "historical_best": 10,
        "advance": 3,
    }  # typed JSON: ranks and years are integers (API.md), not the text they travel as
    assert award["earmark"] == "service_capacity_building"
    assert award["clause"]["id"] == 25
    assert [p["name"] for p in award["parameters"]] == [
        "policy.effective_from",
        "rank_advance.min_places",
        "rank_advance_national.amount_yuan",
        "zone_reward.earmark",
    ]
    # The indicators service computes the same historical best and advance.
    ranking = api.get(f"/v1/evaluations/{y2}/rankings/national").json()
    entry = next(e for e in ranking["ranks"] if e["zone_code"] == three)
    assert (entry["historical_best"], entry["advance"]) == (10, 3)
    assert granted(api, two) == [] and granted(api, newcomer) == []


def test_corrected_ranking_revokes_with_the_reason_and_grants_a_later_year_it_changes(api: httpx.Client) -> None:
    zone = create_recognised_zone(api, "RC", "provincial", HISTORY_RECOGNITION)
    [y1], (y2, y3) = history_years(1), policy_years(2)
    put_ranking(api, y1, "provincial", {zone: 10})
    put_ranking(api, y2, "provincial", {zone: 7})  # advance 3: award
    put_ranking(api, y3, "provincial", {zone: 5})  # best 7: advance 2, none
    assert eventually(lambda: granted(api, zone)) == [(f"{y2}:provincial", 500_000)]

    put_ranking(api, y2, "provincial", {zone: 8})  # corrected: y2 advances 2, and y3 now advances 3 on 8

    assert eventually(lambda: granted(api, zone) == [(f"{y3}:provincial", 500_000)]), awards_of(api, zone)
    [revoked] = [a for a in awards_of(api, zone) if a["status"] == "revoked"]
    assert revoked["basis_key"] == f"{y2}:provincial"
    # Usually "ranking {y2} provincial republished: …"; if the {y3} event was still queued when the correction
    # came, its history read already sees rank 8, and it is the one that revokes (and names itself).
    reason = revoked["revocation_reason"]
    # (y3 is shared with other tests: its first push here may itself have replaced another test's ranking.)
    assert reason.startswith((f"ranking {y2} provincial republished: ", f"ranking {y3} provincial "))
    assert reason.endswith(
        f"rank 8 in {y2} against a historical best of 10 ({y1}): an advance of 2, fewer than 3 places"
    )


def test_zone_dropped_from_a_republished_ranking_loses_its_award(api: httpx.Client) -> None:
    zone, other = (create_recognised_zone(api, p, "national", HISTORY_RECOGNITION) for p in ("RD", "RO"))
    [y1], [y2] = history_years(1), policy_years(1)
    put_ranking(api, y1, "national", {zone: 9, other: 3})
    put_ranking(api, y2, "national", {zone: 1, other: 2})
    assert eventually(lambda: granted(api, zone)) == [(f"{y2}:national", 1_000_000)]

    reply = put_ranking(api, y2, "national", {other: 2})

    assert reply.json()["dropped_zone_codes"] == [zone]
    assert eventually(lambda: granted(api, zone) == []), awards_of(api, zone)


def test_replayed_ranking_event_grants_nothing_more(api: httpx.Client, platform: Platform) -> None:
    zone = create_recognised_zone(api, "RR", "national", HISTORY_RECOGNITION)
    [y1], [y2] = history_years(1), policy_years(1)
    put_ranking(api, y1, "national", {zone: 20})
    put_ranking(api, y2, "national", {zone: 2})
    assert eventually(lambda: granted(api, zone)) == [(f"{y2}:national", 1_000_000)]

    ours = [
        event
        for event in published(platform, "gaoxin.indicators.ranking_published.v1", events_pb2.RankingPublished)
        if any(e.zone_code == zone for e in event.ranks)
    ]
    assert len(ours) == 2

    async def replay() -> None:
        nc = await nats.connect(platform.settings.resolved_nats_url)
        js = nc.jetstream()
        for event in ours:
            # A new Nats-Msg-Id: past JetStream's duplicate window, only the inbox can stop it.
            await js.publish(
                "gaoxin.indicators.ranking_published.v1",
                event.SerializeToString(),
                headers={"Nats-Msg-Id": f"replay-{event.meta.event_id}"},
            )
        await nc.close()

    asyncio.run(replay())
    sentinel = create_recognised_zone(api, "RS", "national", HISTORY_RECOGNITION)
    [y3], [y4] = history_years(1), policy_years(1)
    put_ranking(api, y3, "national", {sentinel: 30})
    put_ranking(api, y4, "national", {sentinel: 1})
    eventually(lambda: granted(api, sentinel))  # consumed in order: the replays came first
    assert len(awards_of(api, zone)) == 1


def test_two_listings_of_a_county_in_one_year_earn_two_awards_and_a_repeat_nothing(api: httpx.Client) -> None:
    county = new_county(api)

    assert designate(api, county, "innovation_pilot", "national", "2023-03-01").status_code == 201
    assert designate(api, county, "ip_pilot", "national", "2023-05-01").status_code == 201
    repeat = designate(api, county, "ip_pilot", "national", "2023-05-01")
    assert (repeat.status_code, repeat.json()["created"]) == (201, False)
    assert designate(api, county, "ip_demonstration", "provincial", "2021-04-11").status_code == 201  # too early

    assert eventually(lambda: len(granted(api, county)) == 2)
    assert granted(api, county) == [("innovation_pilot:national", 500_000), ("ip_pilot:national", 500_000)]
    award = awards_of(api, county)[0]
    assert award["beneficiary"] == {"kind": "county", "code": county} and award["earmark"] is None


def test_award_events_are_published_for_grants_and_revocations(api: httpx.Client, platform: Platform) -> None:
    zone = create_recognised_zone(api, "EV", "provincial", HISTORY_RECOGNITION)
    [y1], [y2] = history_years(1), policy_years(1)
    put_ranking(api, y1, "provincial", {zone: 12})
    put_ranking(api, y2, "provincial", {zone: 4})
    [award] = eventually(lambda: [a for a in awards_of(api, zone) if a["rule"] == "rank_advance"])
    put_ranking(api, y2, "provincial", {zone: 11})
    eventually(lambda: granted(api, zone) == [])

    def events() -> tuple[list[Any], list[Any]]:
        grants = published(platform, "gaoxin.rewards.award_granted.v1", events_pb2.AwardGranted)
        revocations = published(platform, "gaoxin.rewards.award_revoked.v1", events_pb2.AwardRevoked)
        return [e for e in grants if e.award_id == award["award_id"]], [
            e for e in revocations if e.award_id == award["award_id"]
        ]

    grants, revocations = eventually(lambda: all(events()) and events())
    assert [(e.rule, e.beneficiary_code, e.amount_yuan, e.year, e.clause_number) for e in grants] == [
        ("rank_advance", zone, 500_000, y2, 25)
    ]
    assert [(e.rule, e.amount_yuan) for e in revocations] == [("rank_advance", 500_000)]
    assert revocations[0].reason.startswith(f"ranking {y2} provincial republished: rank 11")


def test_simulating_the_facts_pushed_for_real_gives_the_awards_they_earned(api: httpx.Client) -> None:
    zone = create_recognised_zone(api, "EQ", "provincial", on="2021-06-01")
    county = new_county(api)
    y1, y2, y3 = policy_years(3)  # the zone is recognised in 2021: ranked from 2021 on
    rankings = {y1: {zone: 30}, y2: {zone: 26}, y3: {zone: 27}}
    for year, ranks in rankings.items():
        put_ranking(api, year, "provincial", ranks)
    designate(api, county, "ip_demonstration", "provincial", "2022-08-08")
    designate(api, county, "innovation_pilot", "national", "2022-09-09")

    def real_awards() -> list[dict[str, Any]]:
        return awards_of(api, zone) + awards_of(api, county)

    real = eventually(lambda: len(real_awards()) == 4 and real_awards())

    facts = {
        "recognitions": [{"zone_code": zone, "level": "provincial", "recognized_on": "2021-06-01"}],
        "rankings": [
            {"year": y, "level": "provincial", "ranks": [{"zone_code": z, "rank": r} for z, r in ranks.items()]}
            for y, ranks in rankings.items()
        ],
        "designations": [
            {
                "county_code": county,
                "programme": "ip_demonstration",
                "level": "provincial",
                "listed_on": "2022-08-08",
            },
            {
                "county_code": county,
                "programme": "innovation_pilot",
                "level": "national",
                "listed_on": "2022-09-09",
            },
        ],
    }
    alone = api.post("/v1/awards:simulate", json={**facts, "recorded_facts": "ignore"})
    on_record = api.post("/v1/awards:simulate", json=facts)  # recorded_facts: include, the default

    keys = ("rule", "beneficiary", "basis_key", "year", "amount_yuan", "basis", "clause", "parameters")
    keys += ("earmark", "explanation")

    def comparable(awards: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return sorted(({k: a[k] for k in keys} for a in awards), key=str)

    # The facts alone: exactly the awards they earned, none of them marked as held.
    assert alone.status_code == 200, alone.text
    assert comparable(alone.json()["awards"]) == comparable(real)
    assert not any(a["already_granted"] or a["award_id"] for a in alone.json()["awards"])
    assert alone.json()["revocations"] == []
    assert sorted(a["rule"] for a in real) == ["new_provincial_zone", "pilot_county", "pilot_county", "rank_advance"]
    # On the recorded facts: the same awards, each the ledger's own, already granted; pushing again earns nothing.
    # (The rankings replace the shared years' recorded rankings: other tests' zones come back too, not ours.)
    assert on_record.status_code == 200, on_record.text
    ours = [a for a in on_record.json()["awards"] if a["beneficiary"]["code"] in (zone, county)]
    assert comparable(ours) == comparable(real)
    assert sorted((a["already_granted"], a["award_id"]) for a in ours) == sorted((True, a["award_id"]) for a in real)
    assert not any(r["beneficiary"]["code"] in (zone, county) for r in on_record.json()["revocations"])
