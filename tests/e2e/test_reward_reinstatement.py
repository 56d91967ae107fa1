"""An award is granted once per (rule, beneficiary, basis) whatever happens to the events behind it (POLICY.md).

A revoked award whose basis holds again is reinstated — the same award_id, amount and parameter versions — and
never granted a second time: through the REST gateway, on the bus, in the simulation. A platform of this module's
own: the scenarios use the review's codes and years (a ranking of 2021, rate versions) and need them to themselves.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import httpx
import pytest
from gaoxin.events.v1 import events_pb2

from services.platform import Platform, isolated_settings
from tests.e2e.conftest import eventually
from tests.e2e.helpers import HISTORY_RECOGNITION, RFC3339_Z, assert_z_timestamps, awards_of, create_zone, recognize
from tests.e2e.jetstream import published
from tests.e2e.test_page_tokens import refusal


@pytest.fixture(scope="module")
def own_platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    with Platform(isolated_settings(tmp_path_factory.mktemp("reinstatement"))) as running:
        yield running


@pytest.fixture
def api(own_platform: Platform) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {own_platform.admin_key}"}
    with httpx.Client(base_url=own_platform.gateway_url, headers=headers, timeout=10) as client:
        yield client


def zone(api: httpx.Client, code: str, level: str, on: str) -> str:
    create_zone(api, code)
    assert recognize(api, code, level, on).status_code == 201
    return code


def put_ranking(api: httpx.Client, year: int, ranks: dict[str, int]) -> None:
    body = {"ranks": [{"zone_code": z, "rank": r} for z, r in ranks.items()]}
    reply = api.put(f"/v1/evaluations/{year}/rankings/national", json=body)
    assert reply.status_code in (200, 201), reply.text


def ranking(year: int, ranks: dict[str, int]) -> dict[str, Any]:
    return {"year": year, "level": "national", "ranks": [{"zone_code": z, "rank": r} for z, r in ranks.items()]}


def simulate(api: httpx.Client, **body: Any) -> dict[str, Any]:
    reply = api.post("/v1/awards:simulate", json=body)
    assert reply.status_code == 200, reply.text
    answer: dict[str, Any] = reply.json()
    return answer


def statuses(award: dict[str, Any]) -> list[tuple[str, str | None]]:
    return [(h["status"], h["reason"]) for h in award["history"]]


def rate(api: httpx.Client, value: str, effective_from: str) -> int:
    body = {"name": "talent_project.rate", "value": value, "effective_from": effective_from}
    reply = api.post("/v1/reward-parameters", json=body)
    assert reply.status_code == 201, reply.text
    version: int = reply.json()["version"]
    return version


def record_project(api: httpx.Client, investment: int) -> dict[str, Any]:
    body = {
        "project_code": "RW-P2",
        "name": "创业项目",
        "zone_code": "RW-Z",
        "talent_level": "provincial",
        "investment_yuan": investment,
        "recruited_on": "2023-01-01",
    }
    reply = api.post("/v1/talent-projects", json=body)
    assert reply.status_code in (200, 201), reply.text
    answer: dict[str, Any] = reply.json()
    return answer


def rate_version(award: dict[str, Any]) -> tuple[str, int]:
    [used] = [(p["value"], p["version"]) for p in award["parameters"] if p["name"] == "talent_project.rate"]
    return used


def test_a_ranking_pushed_again_reinstates_the_award_it_had_the_same_award_id(
    api: httpx.Client, own_platform: Platform
) -> None:
    """The review's case: RW-C23 ranked 47 in 2021 against a best of 50; withdrawn; the first ranking again."""
    c23 = zone(api, "RW-C23", "national", HISTORY_RECOGNITION)
    other = zone(api, "RW-C24", "national", HISTORY_RECOGNITION)
    put_ranking(api, 2020, {c23: 50, other: 1})
    put_ranking(api, 2021, {c23: 47, other: 2})
    [first] = eventually(lambda: awards_of(api, c23))
    assert (first["status"], first["basis_key"], first["amount_yuan"]) == ("granted", "2021:national", 1_000_000)
    assert (first["basis"]["rank"], first["basis"]["historical_best"], first["basis"]["advance"]) == (47, 50, 3)
    assert statuses(first) == [("granted", None)] and first["history"][0]["at"] == first["granted_at"]

    put_ranking(api, 2021, {other: 2})  # without the zone
    [withdrawn] = eventually(lambda: [a for a in awards_of(api, c23) if a["status"] == "revoked"])
    # Pushing the first ranking again, simulated: the revoked award comes back as it was, nothing new.
    predicted = simulate(api, rankings=[ranking(2021, {c23: 47, other: 2})])
    [back] = [a for a in predicted["awards"] if a["beneficiary"]["code"] == c23]
    assert (back["award_id"], back["reinstated"], back["already_granted"]) == (first["award_id"], True, False)
    assert {k: back[k] for k in ("amount_yuan", "basis", "parameters", "explanation")} == {
        k: first[k] for k in ("amount_yuan", "basis", "parameters", "explanation")
    }
    assert [r for r in predicted["revocations"] if r["beneficiary"]["code"] == c23] == []
    assert [r["beneficiary"]["code"] for r in predicted["refusals"] if r["basis_key"] == "2021:national"] == [other]
    assert awards_of(api, c23) == [withdrawn]  # the simulation stored nothing

    put_ranking(api, 2021, {c23: 47, other: 2})

    [award] = eventually(lambda: [a for a in awards_of(api, c23) if a["status"] == "granted"])
    assert len(awards_of(api, c23)) == 1  # one award row for the zone: the same one
    assert award["award_id"] == first["award_id"]
    assert {k: award[k] for k in ("amount_yuan", "basis", "parameters", "explanation", "granted_at")} == {
        k: first[k] for k in ("amount_yuan", "basis", "parameters", "explanation", "granted_at")
    }
    assert (award["revoked_at"], award["revocation_reason"]) == (None, None)
    assert statuses(award) == [
        ("granted", None),
        ("revoked", "ranking 2021 national republished: the facts no longer include its basis (2021:national)"),
        ("granted", "ranking 2021 national republished: its basis holds again"),
    ]
    assert all(RFC3339_Z.fullmatch(h["at"]) for h in award["history"])
    assert [h["at"] for h in award["history"]] == sorted(h["at"] for h in award["history"])
    assert award["history"][1]["at"] == withdrawn["revoked_at"]
    one = api.get(f"/v1/awards/{award['award_id']}")
    assert one.status_code == 200 and one.json() == award
    assert_z_timestamps(one.json())

    def events() -> list[tuple[datetime, str, bool | None]]:
        """The award's events on the bus, in the order they occurred: (when, which, reinstated)."""
        ours = award["award_id"]
        grants = published(own_platform, "gaoxin.rewards.award_granted.v1", events_pb2.AwardGranted)
        revocations = published(own_platform, "gaoxin.rewards.award_revoked.v1", events_pb2.AwardRevoked)
        found: list[tuple[datetime, str, bool | None]] = [
            (e.meta.occurred_at.ToDatetime(), "award_granted", e.reinstated) for e in grants if e.award_id == ours
        ]
        found += [(e.meta.occurred_at.ToDatetime(), "award_revoked", None) for e in revocations if e.award_id == ours]
        return sorted(found)

    on_the_bus = eventually(lambda: len(events()) == 3 and events())
    assert [(name, flag) for _, name, flag in on_the_bus] == [
        ("award_granted", False),
        ("award_revoked", None),
        ("award_granted", True),
    ]
    [reinstated] = [
        e for e in published(own_platform, "gaoxin.rewards.award_granted.v1", events_pb2.AwardGranted) if e.reinstated
    ]
    assert (reinstated.award_id, reinstated.amount_yuan, reinstated.year, reinstated.clause_number) == (
        award["award_id"],
        1_000_000,
        2021,
        25,
    )
    # The yearly totals: one award granted, nothing revoked (the revocation was undone).
    [year] = api.get("/v1/awards/summary", params={"year": 2021}).json()["items"]
    assert (year["granted"], year["revoked"]) == (
        {"count": 1, "amount_yuan": 1_000_000},
        {"count": 0, "amount_yuan": 0},
    )
    # Pushing the same again changes nothing, and simulating it says so.
    [held] = [a for a in simulate(api, rankings=[ranking(2021, {c23: 47, other: 2})])["awards"] if a["award_id"]]
    assert (held["award_id"], held["already_granted"], held["reinstated"]) == (award["award_id"], True, False)


def test_a_corrected_talent_project_corrected_back_gets_its_original_award_and_rate_version(
    api: httpx.Client, own_platform: Platform
) -> None:
    """The review's case: RW-P2 (¥12,345,678, recruited 2023-01-01) paid ¥617,284 at rate v1 (0.05); v3 = 0.2 from
    the same day added; corrected to ¥20,000,000 and back: the original award, not 0.2 of the same fact."""
    zone(api, "RW-Z", "provincial", "2021-06-01")
    assert rate(api, "0.05", "2023-01-01") == 1
    [original] = record_project(api, 12_345_678)["awards"]
    assert (original["amount_yuan"], rate_version(original)) == (617_284, ("0.05", 1))
    assert (rate(api, "0.1", "2024-01-01"), rate(api, "0.2", "2023-01-01")) == (2, 3)
    assert awards_of(api, "RW-P2") == [original]  # earlier decisions keep the version they used

    corrected = record_project(api, 20_000_000)
    assert corrected["changed"] is True
    assert [(a["award_id"] == original["award_id"], a["status"], a["amount_yuan"]) for a in corrected["awards"]] == [
        (True, "revoked", 617_284),
        (False, "granted", 4_000_000),
    ]
    raised = corrected["awards"][1]
    assert rate_version(raised) == ("0.2", 3)
    # Simulated first: the original award back as it was, the ¥4,000,000 one revoked.
    predicted = simulate(
        api,
        talent_projects=[
            {
                "project_code": "RW-P2",
                "name": "创业项目",
                "zone_code": "RW-Z",
                "talent_level": "provincial",
                "investment_yuan": 12_345_678,
                "recruited_on": "2023-01-01",
            }
        ],
    )
    [back] = predicted["awards"]
    assert (back["award_id"], back["reinstated"], back["already_granted"]) == (original["award_id"], True, False)
    assert (back["amount_yuan"], rate_version(back)) == (617_284, ("0.05", 1))
    assert [(r["award_id"], r["reason"]) for r in predicted["revocations"]] == [
        (
            raised["award_id"],
            "talent project RW-P2 corrected: the basis changed (investment_yuan 20000000 → 12345678)",
        )
    ]

    again = record_project(api, 12_345_678)

    assert [(a["award_id"], a["status"], a["amount_yuan"]) for a in again["awards"]] == [
        (original["award_id"], "granted", 617_284),
        (raised["award_id"], "revoked", 4_000_000),
    ]
    reinstated = again["awards"][0]
    assert rate_version(reinstated) == ("0.05", 1)
    assert {k: reinstated[k] for k in ("basis", "parameters", "explanation", "granted_at")} == {
        k: original[k] for k in ("basis", "parameters", "explanation", "granted_at")
    }
    assert statuses(reinstated) == [
        ("granted", None),
        ("revoked", "talent project RW-P2 corrected: the basis changed (investment_yuan 12345678 → 20000000)"),
        ("granted", "talent project RW-P2 corrected: its basis holds again"),
    ]
    assert statuses(again["awards"][1]) == [
        ("granted", None),
        ("revoked", "talent project RW-P2 corrected: the basis changed (investment_yuan 20000000 → 12345678)"),
    ]
    assert awards_of(api, "RW-P2") == again["awards"]
    grants = eventually(
        lambda: [
            (e.amount_yuan, e.reinstated)
            for e in published(own_platform, "gaoxin.rewards.award_granted.v1", events_pb2.AwardGranted)
            if e.beneficiary_code == "RW-P2"
        ]
    )
    assert grants == [(617_284, False), (4_000_000, False), (617_284, True)]


def test_awards_filter_by_beneficiary_kind_and_a_page_token_keeps_its_kind(api: httpx.Client) -> None:
    provincial = [zone(api, f"RW-K{n}", "provincial", "2022-06-30") for n in (1, 2)]  # a new provincial zone each
    county = "320799"
    assert api.put(f"/v1/counties/{county}", json={"name": "测试县"}).status_code in (200, 201)
    listing = {"programme": "ip_pilot", "level": "national", "listed_on": "2023-05-01"}
    assert api.post(f"/v1/counties/{county}/designations", json=listing).status_code == 201
    eventually(lambda: all(awards_of(api, code) for code in (*provincial, county)))

    def kinds(kind: str) -> list[tuple[str, str]]:
        reply = api.get("/v1/awards", params={"beneficiary_kind": kind, "page_size": 1000})
        assert reply.status_code == 200, reply.text
        return [(a["beneficiary"]["kind"], a["beneficiary"]["code"]) for a in reply.json()["items"]]

    zones, counties = kinds("zone"), kinds("county")
    assert {kind for kind, _ in zones} == {"zone"} and {("zone", code) for code in provincial} <= set(zones)
    assert counties == [("county", county)]
    assert {kind for kind, _ in kinds("project")} <= {"project"}
    everything = api.get("/v1/awards", params={"page_size": 1000}).json()["items"]
    assert len(everything) == len(zones) + len(counties) + len(kinds("project"))

    unknown = api.get("/v1/awards", params={"beneficiary_kind": "enterprise"})
    assert unknown.status_code == 422 and unknown.headers["content-type"] == "application/problem+json"
    assert [e["location"] for e in unknown.json()["errors"]] == [["query", "beneficiary_kind"]]

    first = api.get("/v1/awards", params={"beneficiary_kind": "zone", "page_size": 1})
    token = first.json()["next_page_token"]
    assert token
    second = api.get("/v1/awards", params={"beneficiary_kind": "zone", "page_size": 1, "page_token": token})
    other_kind = api.get("/v1/awards", params={"beneficiary_kind": "county", "page_token": token})
    no_kind = api.get("/v1/awards", params={"page_token": token})

    assert second.status_code == 200 and [a["beneficiary"]["kind"] for a in second.json()["items"]] == ["zone"]
    assert second.json()["items"][0]["award_id"] != first.json()["items"][0]["award_id"]
    assert refusal(other_kind) == (
        422,
        "application/problem+json",
        [["query", "page_token"]],
        "this page token was issued with beneficiary_kind=zone, not beneficiary_kind=county: "
        "request every page of a list with the same filters",
    )
    assert refusal(no_kind)[3].startswith("this page token was issued with beneficiary_kind=zone, not no filters")
