"""Reward parameters through REST, on a platform of this module's own: versions are global state."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from services.platform import Platform, isolated_settings
from tests.e2e.conftest import eventually
from tests.e2e.helpers import assert_z_timestamps, awards_of, create_zone, recognize


@pytest.fixture(scope="module")
def admin_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    with Platform(isolated_settings(tmp_path_factory.mktemp("parameters"))) as running:
        headers = {"Authorization": f"Bearer {running.admin_key}"}
        with httpx.Client(base_url=running.gateway_url, headers=headers, timeout=10) as client:
            yield client


def project(code: str, zone: str, investment: int, recruited_on: str) -> dict[str, Any]:
    return {
        "project_code": code,
        "name": "创业项目",
        "zone_code": zone,
        "talent_level": "provincial",
        "investment_yuan": investment,
        "recruited_on": recruited_on,
    }


def test_a_rate_takes_effect_from_its_date_and_earlier_awards_keep_their_version(admin_api: httpx.Client) -> None:
    api = admin_api
    create_zone(api, "RATE-Z")
    assert recognize(api, "RATE-Z", "provincial", "2021-06-01").status_code == 201
    for code, investment, on in (("P-2022", 1_000_000, "2022-05-01"), ("P-2023", 1_234_567, "2023-05-01")):
        assert api.post("/v1/talent-projects", json=project(code, "RATE-Z", investment, on)).status_code == 201

    headers = {"Idempotency-Key": "rate-2023"}
    body = {"name": "talent_project.rate", "value": "0.05", "effective_from": "2023-01-01"}
    added = api.post("/v1/reward-parameters", json=body, headers=headers)
    replayed = api.post("/v1/reward-parameters", json=body, headers=headers)

    assert added.status_code == 201, added.text
    created = added.json()
    assert (created["name"], created["value"], created["version"], created["effective_from"]) == (
        "talent_project.rate",
        "0.05",
        1,
        "2023-01-01",
    )
    assert created["source"] == "admin" and created["awards_granted"] == 1
    assert replayed.status_code == 201 and replayed.json() == created  # no second version
    assert awards_of(api, "P-2022") == []  # recruited before the rate took effect
    [award] = awards_of(api, "P-2023")
    assert award["amount_yuan"] == 61_728  # 1,234,567 × 0.05 = 61,728.35 → 61,728
    assert award["clause"]["id"] == 5
    assert {p["name"]: p["version"] for p in award["parameters"]}["talent_project.rate"] == 1

    raised = api.post(
        "/v1/reward-parameters", json={"name": "talent_project.rate", "value": 0.1, "effective_from": "2024-01-01"}
    )
    assert raised.status_code == 201 and raised.json()["version"] == 2 and raised.json()["value"] == "0.1"
    recorded = api.post("/v1/talent-projects", json=project("P-2024", "RATE-Z", 1_000_000, "2024-02-01"))
    assert recorded.status_code == 201

    [later] = awards_of(api, "P-2024")
    assert later["amount_yuan"] == 100_000
    assert {p["name"]: p["version"] for p in later["parameters"]}["talent_project.rate"] == 2
    [kept] = awards_of(api, "P-2023")
    assert (kept["award_id"], kept["amount_yuan"], kept["status"]) == (award["award_id"], 61_728, "granted")

    rules = {r["rule"]: r for r in api.get("/v1/reward-rules", params={"as_of": "2024-06-01"}).json()["items"]}
    talent = rules["talent_project"]
    assert talent["active"] is True and talent["inactive_reasons"] == []
    rate = next(p for p in talent["parameters"] if p["name"] == "talent_project.rate")
    assert [(v["version"], v["value"], v["effective_from"]) for v in rate["versions"]] == [
        (1, "0.05", "2023-01-01"),
        (2, "0.1", "2024-01-01"),
    ]
    assert rate["in_force"]["version"] == 2
    # Timestamps read the same in a write's answer as in the GETs: RFC 3339 with `Z`.
    for document in (created, recorded.json(), later, rate):
        assert_z_timestamps(document)
    assert rate["versions"][0]["recorded_at"] == created["recorded_at"]
    assert recorded.json()["awards"][0]["granted_at"] == later["granted_at"]


def test_a_later_amount_version_applies_to_facts_from_its_date_only(admin_api: httpx.Client) -> None:
    api = admin_api
    body = {"name": "new_provincial_zone.amount_yuan", "value": 1_200_000, "effective_from": "2025-01-01"}
    assert api.post("/v1/reward-parameters", json=body).status_code == 201
    for zone, on in (("AMT-OLD", "2024-12-31"), ("AMT-NEW", "2025-01-01")):
        create_zone(api, zone)
        assert recognize(api, zone, "provincial", on).status_code == 201

    old = eventually(lambda: awards_of(api, "AMT-OLD"))
    new = eventually(lambda: awards_of(api, "AMT-NEW"))
    assert [a["amount_yuan"] for a in old] == [1_000_000]
    assert [a["amount_yuan"] for a in new] == [1_200_000]


def test_the_policy_cannot_be_moved_after_a_version_that_claims_to_be_in_force_under_it(
    admin_api: httpx.Client,
) -> None:
    """POLICY.md: the policy takes effect on 2021-04-12. A `policy.effective_from` version effective from 2025-06-01
    saying the policy starts 2026-06-01 would refuse facts of 2025-07-01 as "before the policy took effect"."""
    api = admin_api
    later = {"name": "policy.effective_from", "value": "2026-06-01", "effective_from": "2025-06-01"}
    earlier = {"name": "policy.effective_from", "value": "2021-04-11", "effective_from": "2025-06-01"}
    for body in (later, earlier):
        reply = api.post("/v1/reward-parameters", json=body)
        assert reply.status_code == 422, reply.text
        assert [e["location"] for e in reply.json()["errors"]] == [["body", "value"]]
    simulated = api.post("/v1/awards:simulate", json={"parameters": [later]})
    assert simulated.status_code == 422, simulated.text
    assert [e["location"] for e in simulated.json()["errors"]] == [["body", "parameters", 0, "value"]]

    rules = {r["rule"]: r for r in api.get("/v1/reward-rules").json()["items"]}
    policy = next(p for p in rules["new_provincial_zone"]["parameters"] if p["name"] == "policy.effective_from")
    assert [(v["version"], v["value"]) for v in policy["versions"]] == [(1, "2021-04-12")]  # nothing was added

    create_zone(api, "POLICY-2025")
    assert recognize(api, "POLICY-2025", "provincial", "2025-07-01").status_code == 201
    [award] = eventually(lambda: awards_of(api, "POLICY-2025"))
    assert (award["rule"], award["status"]) == ("new_provincial_zone", "granted")
    assert {p["name"]: p["value"] for p in award["parameters"]}["policy.effective_from"] == "2021-04-12"
