"""Rewards through the REST gateway: simulation, rules, talent projects, summary (no parameter changes here:
those are global, see test_reward_parameters.py, which runs its own platform)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx

from services.common.convert import today_in_china
from services.platform import Platform
from tests.e2e.conftest import eventually, issue_key
from tests.e2e.helpers import awards_of, create_zone, recognize, unique_zone_code


def project_body(code: str, zone: str, **overrides: Any) -> dict[str, Any]:
    body = {
        "project_code": code,
        "name": "高性能纳米材料创业项目",
        "zone_code": zone,
        "talent_level": "national",
        "investment_yuan": 2_000_000,
        "recruited_on": "2023-03-01",
    }
    return {**body, **overrides}


def locations(reply: httpx.Response) -> list[list[Any]]:
    return [e["location"] for e in reply.json().get("errors", [])]


# ------------------------------------------------------------------------------------------------ simulation


def test_simulate_returns_explained_awards_and_refusals_and_stores_nothing(api: httpx.Client) -> None:
    zone, early = unique_zone_code("SIM"), unique_zone_code("SIMB")
    body = {
        "recognitions": [
            {"zone_code": zone, "level": "provincial", "recognized_on": "2022-06-30"},
            {"zone_code": early, "level": "provincial", "recognized_on": "2021-04-11"},
        ],
        "rankings": [
            {"year": 2021, "level": "provincial", "ranks": [{"zone_code": zone, "rank": 9}]},
            {"year": 2022, "level": "provincial", "ranks": [{"zone_code": zone, "rank": 6}]},
        ],
        "designations": [
            {"county_code": "320724", "programme": "ip_pilot", "level": "provincial", "listed_on": "2023-05-01"}
        ],
        "talent_projects": [project_body("SIM-TP", zone)],
        "parameters": [{"name": "talent_project.rate", "value": 0.05, "effective_from": "2021-04-12"}],
    }

    reply = api.post("/v1/awards:simulate", json=body)

    assert reply.status_code == 200, reply.text
    # The rankings replace the recorded ones of 2021 and 2022 (shared with other tests): those tests' zones are
    # concerned too (dropped). This test's own beneficiaries have nothing recorded: every award is new.
    ours = {zone, early, "320724", "SIM-TP"}
    awards = {
        (a["rule"], a["beneficiary"]["code"]): a for a in reply.json()["awards"] if a["beneficiary"]["code"] in ours
    }
    assert {k: a["amount_yuan"] for k, a in awards.items()} == {
        ("new_provincial_zone", zone): 1_000_000,
        ("rank_advance", zone): 500_000,
        ("pilot_county", "320724"): 200_000,
        ("talent_project", "SIM-TP"): 100_000,
    }
    advance = awards[("rank_advance", zone)]
    assert advance["basis"]["advance"] == 3 and advance["earmark"] == "service_capacity_building"
    assert advance["clause"]["id"] == 25 and "前进 3 位以上" in advance["clause"]["text"]
    rate = next(p for p in awards[("talent_project", "SIM-TP")]["parameters"] if p["name"] == "talent_project.rate")
    assert rate["value"] == "0.05"  # exact decimal text, never a float
    refusals = {(r["rule"], r["beneficiary"]["code"]): r["reason"] for r in reply.json()["refusals"]}
    assert refusals[("new_provincial_zone", early)] == "recognised on 2021-04-11, before the policy took effect"
    assert "no official provincial rank before 2021" in refusals[("rank_advance", zone)]
    assert not any(a["already_granted"] or a["award_id"] for a in awards.values())
    assert not any(r["beneficiary"]["code"] in ours for r in reply.json()["revocations"])
    assert awards_of(api, zone) == [] and awards_of(api, "SIM-TP") == []


def test_simulate_refuses_invalid_facts_naming_each_location(api: httpx.Client) -> None:
    body = {
        "rankings": [
            {"year": 2022, "level": "national", "ranks": [{"zone_code": "A", "rank": 1}, {"zone_code": "B", "rank": 1}]}
        ],
        "parameters": [{"name": "talent_project.rate", "value": "1.5", "effective_from": "2022-01-01"}],
    }
    shape = api.post(
        "/v1/awards:simulate",
        json={"rankings": [{"year": 2022, "level": "national", "ranks": [{"zone_code": "A", "rank": 0}]}]},
    )
    facts = api.post("/v1/awards:simulate", json=body)

    assert shape.status_code == 422
    assert locations(shape) == [["body", "rankings", 0, "ranks", 0, "rank"]]
    assert facts.status_code == 422
    assert sorted(locations(facts)) == [["body", "parameters", 0, "value"], ["body", "rankings", 0, "ranks", 1, "rank"]]


# ---------------------------------------------------------------------------------------------------- rules


def test_reward_rules_list_every_rule_parameter_and_open_point_and_why_one_is_inactive(api: httpx.Client) -> None:
    reply = api.get("/v1/reward-rules", params={"as_of": "2024-01-01"})

    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["as_of"] == "2024-01-01"
    rules = {r["rule"]: r for r in body["items"]}
    assert list(rules) == ["new_provincial_zone", "rank_advance", "pilot_county", "talent_project"]
    assert rules["talent_project"]["active"] is False
    assert rules["talent_project"]["clause"]["id"] == 5
    assert rules["talent_project"]["inactive_reasons"][0].startswith(
        "talent_project.rate has no value in force on 2024-01-01"
    )
    params = {p["name"]: p for r in body["items"] for p in r["parameters"]}
    assert params["rank_advance_provincial.amount_yuan"]["in_force"]["value"] == 500_000
    assert params["rank_advance_provincial.amount_yuan"]["versions"][0] == {
        "name": "rank_advance_provincial.amount_yuan",
        "value": 500_000,
        "version": 1,
        "effective_from": "2021-04-12",
        "source": "policy",
        "recorded_at": None,
    }
    assert params["talent_project.rate"]["in_force"] is None and params["talent_project.rate"]["versions"] == []
    open_points = {name for name, p in params.items() if p["open_point"]}
    assert {"rank_advance.without_history", "pilot_county.one_award_per_listing", "zone_reward.earmark"} <= open_points


def test_adding_a_parameter_needs_the_admin_scope_and_a_valid_value(api: httpx.Client, platform: Platform) -> None:
    body = {"name": "talent_project.rate", "value": "0.05", "effective_from": "2023-01-01"}
    for scopes in (("read",), ("data:write", "read")):
        key = issue_key(platform, *scopes)
        refused = httpx.post(
            f"{platform.gateway_url}/v1/reward-parameters", json=body, headers={"Authorization": f"Bearer {key}"}
        )
        assert refused.status_code == 403, refused.text

    bad = [
        ({**body, "value": "5%"}, ["body", "value"]),
        ({**body, "value": 1.5}, ["body", "value"]),
        ({**body, "value": None}, ["body", "value"]),  # one error, not one per type the value may have
        ({**body, "value": [0.05]}, ["body", "value"]),
        ({**body, "name": "no.such"}, ["body", "name"]),
        ({**body, "effective_from": "2021-04-11"}, ["body", "effective_from"]),
        (
            {"name": "new_provincial_zone.amount_yuan", "value": "1000000.5", "effective_from": "2023-01-01"},
            ["body", "value"],
        ),
    ]
    for payload, where in bad:
        reply = api.post("/v1/reward-parameters", json=payload)
        assert reply.status_code == 422, reply.text
        assert locations(reply) == [where]
    rules = api.get("/v1/reward-rules").json()["items"]
    assert next(r for r in rules if r["rule"] == "talent_project")["active"] is False  # nothing was added


def test_basis_and_parameter_values_are_typed_json(api: httpx.Client) -> None:
    """API.md: money integer yuan. The basis travels as text inside the platform; the JSON types it: integers for
    yuan and ranks, text for codes (a county code is digits, still a code) and dates; flags are booleans."""
    zone = unique_zone_code("TYPED")
    body = {
        "recognitions": [{"zone_code": zone, "level": "provincial", "recognized_on": "2022-06-30"}],
        "rankings": [
            {"year": 2021, "level": "provincial", "ranks": [{"zone_code": zone, "rank": 12}]},
            {"year": 2022, "level": "provincial", "ranks": [{"zone_code": zone, "rank": 8}]},
        ],
        "designations": [
            {"county_code": "320724", "programme": "ip_pilot", "level": "national", "listed_on": "2023-05-01"}
        ],
        "talent_projects": [project_body("TYPED-TP", zone, investment_yuan=12_345_678)],
        "parameters": [{"name": "talent_project.rate", "value": "0.05", "effective_from": "2021-04-12"}],
    }

    reply = api.post("/v1/awards:simulate", json=body)

    assert reply.status_code == 200, reply.text
    ours = {zone, "320724", "TYPED-TP"}  # the rankings of shared years concern other tests' zones too
    awards = {a["rule"]: a for a in reply.json()["awards"] if a["beneficiary"]["code"] in ours}
    project = awards["talent_project"]
    assert project["basis"] == {
        "project_code": "TYPED-TP",
        "zone_code": zone,
        "talent_level": "national",
        "investment_yuan": 12_345_678,
        "recruited_on": "2023-03-01",
    }
    assert type(project["basis"]["investment_yuan"]) is int
    assert awards["rank_advance"]["basis"] == {
        "zone_code": zone,
        "year": 2022,
        "level": "provincial",
        "rank": 8,
        "historical_best": 12,
        "advance": 4,
    }
    assert awards["pilot_county"]["basis"]["county_code"] == "320724"
    used = {p["name"]: p["value"] for p in project["parameters"]}
    assert used["talent_project.zone_must_be_recognised"] is True
    assert used["talent_project.rate"] == "0.05" and used["policy.effective_from"] == "2021-04-12"
    amounts = {p["name"]: p["value"] for p in awards["rank_advance"]["parameters"]}
    assert amounts["rank_advance_provincial.amount_yuan"] == 500_000 and amounts["rank_advance.min_places"] == 3

    listed = api.get("/v1/reward-rules", params={"as_of": "2024-01-01"}).json()["items"]
    params = {p["name"]: p for r in listed for p in r["parameters"]}
    flag = params["pilot_county.one_award_per_listing"]
    assert flag["kind"] == "flag" and flag["in_force"]["value"] is True and flag["versions"][0]["value"] is True
    assert params["talent_project.zone_must_be_recognised"]["in_force"]["value"] is True
    assert params["new_provincial_zone.amount_yuan"]["in_force"]["value"] == 1_000_000
    assert params["zone_reward.earmark"]["in_force"]["value"] == "service_capacity_building"


# ------------------------------------------------------------------------------------------ talent projects


def test_talent_project_is_recorded_explains_why_it_has_no_award_and_a_repeat_changes_nothing(
    api: httpx.Client,
) -> None:
    zone = unique_zone_code("TP")
    create_zone(api, zone)
    assert recognize(api, zone, "provincial", "2022-06-30").status_code == 201
    code = f"TP-{zone}"

    first = api.post("/v1/talent-projects", json=project_body(code, zone))
    again = api.post("/v1/talent-projects", json=project_body(code, zone))
    fetched = api.get(f"/v1/talent-projects/{code}")

    assert first.status_code == 201, first.text
    body = first.json()
    assert (body["created"], body["changed"], body["investment_yuan"], body["awards"]) == (True, True, 2_000_000, [])
    [refusal] = body["refusals"]
    assert refusal["rule"] == "talent_project" and refusal["clause"]["id"] == 5
    assert refusal["reason"].startswith("talent_project.rate has no value in force on 2023-03-01")
    assert again.status_code == 200 and (again.json()["created"], again.json()["changed"]) == (False, False)
    assert fetched.status_code == 200 and fetched.json()["project_code"] == code
    assert api.get("/v1/talent-projects/NO-SUCH-PROJECT").status_code == 404


def test_talent_project_refusals_name_the_field(api: httpx.Client) -> None:
    zone = unique_zone_code("TPX")
    create_zone(api, zone)
    tomorrow = (today_in_china() + timedelta(days=1)).isoformat()
    cases = [
        (project_body("TPX-1", "NO-SUCH-ZONE"), ["body", "zone_code"]),
        (project_body("TPX-2", zone, recruited_on=tomorrow), ["body", "recruited_on"]),
        (project_body("TPX-3", zone, investment_yuan=0), ["body", "investment_yuan"]),
        (project_body("TPX-4", zone, investment_yuan=1.5), ["body", "investment_yuan"]),
        (project_body("TPX-5", zone, investment_yuan="100"), ["body", "investment_yuan"]),
        (project_body("TPX-6", zone, talent_level="city"), ["body", "talent_level"]),
    ]
    for body, where in cases:
        reply = api.post("/v1/talent-projects", json=body)
        assert reply.status_code == 422, (body, reply.text)
        assert reply.headers["content-type"].startswith("application/problem+json")
        assert locations(reply) == [where], reply.text
    assert api.get("/v1/talent-projects/TPX-1").status_code == 404


# ---------------------------------------------------------------------------------------- summary, filters


def test_summary_totals_the_awards_of_a_year_in_integer_yuan(api: httpx.Client) -> None:
    zone = unique_zone_code("SUM")
    create_zone(api, zone)

    def new_provincial_zone_granted() -> int:
        # This rule's total only: other tests' rankings of 2022 (shared years) may still be moving rank_advance's.
        items = api.get("/v1/awards/summary", params={"year": 2022}).json()["items"]
        rules = items[0]["rules"] if items else []
        return next((r["granted"]["amount_yuan"] for r in rules if r["rule"] == "new_provincial_zone"), 0)

    granted_before = new_provincial_zone_granted()

    recognize(api, zone, "provincial", "2022-09-09")
    eventually(lambda: awards_of(api, zone))
    reply = api.get("/v1/awards/summary", params={"year": 2022})

    assert reply.status_code == 200, reply.text
    [year] = reply.json()["items"]
    assert year["year"] == 2022
    assert sum(r["granted"]["amount_yuan"] for r in year["rules"]) == year["granted"]["amount_yuan"]
    assert new_provincial_zone_granted() == granted_before + 1_000_000
    rule = next(r for r in year["rules"] if r["rule"] == "new_provincial_zone")
    earmark = next(e for e in year["earmarks"] if e["earmark"] == "service_capacity_building")
    assert rule["granted"]["amount_yuan"] >= 1_000_000 and earmark["granted"]["amount_yuan"] >= 1_000_000
    every_year = api.get("/v1/awards/summary").json()["items"]
    assert [y["year"] for y in every_year] == sorted(y["year"] for y in every_year)


def test_awards_filter_by_status(api: httpx.Client) -> None:
    zone = unique_zone_code("ST")
    create_zone(api, zone)
    recognize(api, zone, "provincial", "2023-06-30")
    eventually(lambda: awards_of(api, zone))
    recognize(api, zone, "national", "2020-01-01")  # earlier and national: not a new provincial zone after all

    revoked = eventually(
        lambda: api.get("/v1/awards", params={"beneficiary_code": zone, "status": "revoked"}).json()["items"]
    )
    granted = api.get("/v1/awards", params={"beneficiary_code": zone, "status": "granted"}).json()["items"]

    assert granted == []
    [award] = revoked
    assert award["status"] == "revoked" and award["revoked_at"] is not None
    assert award["revocation_reason"].endswith("the zone was first recognised national, not provincial")
    assert award["basis_key"] == "first_recognition"


def test_awards_filter_by_an_unknown_rule_is_422_listing_the_rules(api: httpx.Client) -> None:
    refused = api.get("/v1/awards", params={"rule": "nonsense"})
    known = api.get("/v1/awards", params={"rule": "new_provincial_zone", "page_size": 1})

    assert refused.status_code == 422
    [error] = refused.json()["errors"]
    assert error["location"] == ["query", "rule"]
    assert "new_provincial_zone" in error["message"] and "talent_project" in error["message"]
    assert known.status_code == 200


def test_one_award_by_its_id_as_listed_granted_then_revoked(api: httpx.Client) -> None:
    zone = unique_zone_code("ID")
    create_zone(api, zone)
    recognize(api, zone, "provincial", "2023-06-30")
    [listed] = eventually(lambda: awards_of(api, zone))

    granted = api.get(f"/v1/awards/{listed['award_id']}")
    recognize(api, zone, "national", "2020-01-01")  # not a new provincial zone after all: revoked
    eventually(lambda: api.get("/v1/awards", params={"beneficiary_code": zone, "status": "revoked"}).json()["items"])
    revoked = api.get(f"/v1/awards/{listed['award_id']}")
    unknown = api.get("/v1/awards/00000000-0000-0000-0000-000000000000")
    summary = api.get("/v1/awards/summary")

    assert granted.status_code == 200 and granted.json() == listed
    assert (revoked.json()["status"], revoked.json()["award_id"]) == ("revoked", listed["award_id"])
    assert revoked.json()["revocation_reason"]
    assert (unknown.status_code, unknown.json()["code"]) == (404, "not_found")
    assert unknown.headers["content-type"].startswith("application/problem+json")
    assert summary.status_code == 200 and "items" in summary.json()  # not taken for an award id
