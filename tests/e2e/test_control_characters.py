"""Control characters in names and sources are refused, named, on every way in: a NUL cannot even be stored in
PostgreSQL text, so accepting it on SQLite would make the same request a 500 in production."""

from __future__ import annotations

import random
from typing import Any

import httpx

from services.indicators.domain.credit_code import random_credit_code
from tests.e2e.helpers import create_recognised_zone, push_csv, unique_zone_code


def problem(reply: httpx.Response) -> list[tuple[list[Any], str]]:
    assert reply.status_code == 422, reply.text
    assert reply.headers["content-type"].startswith("application/problem+json")
    return [(e["location"], e["message"]) for e in reply.json()["errors"]]


def test_a_nul_in_a_county_or_zone_name_or_a_park_is_422_and_nothing_is_stored(api: httpx.Client) -> None:
    county = problem(api.put("/v1/counties/320799", json={"name": "a\x00b"}))
    zone_code = unique_zone_code("CTL")
    zone = problem(
        api.put(f"/v1/zones/{zone_code}", json={"name": "园区", "county_code": "320706", "parks": ["A", "B\nC"]})
    )

    assert county == [(["body", "name"], "must not contain control characters (U+0000 at position 2)")]
    assert zone == [(["body", "parks", 1], "must not contain control characters (U+000A at position 2)")]
    assert api.get("/v1/counties/320799").status_code == 404
    assert api.get(f"/v1/zones/{zone_code}").status_code == 404


def test_a_nul_in_an_enterprise_row_a_value_source_or_a_project_name_is_422_naming_the_row(api: httpx.Client) -> None:
    zone = create_recognised_zone(api, "CTL", "national")
    rng = random.Random()
    good, bad, certified = random_credit_code(rng), random_credit_code(rng), random_credit_code(rng)
    enterprises = problem(
        api.post(
            "/v1/enterprises:batch",
            json={
                "enterprises": [
                    {"credit_code": good, "name": "良好企业", "zone_code": zone, "above_scale": True},
                    {"credit_code": bad, "name": "坏\x00企业", "zone_code": zone, "above_scale": True},
                    {
                        "credit_code": certified,
                        "name": "证书企业",
                        "zone_code": zone,
                        "above_scale": True,
                        "hitech_certificate": {"number": "GR2023\x0032000001", "issued_on": "2023-11-01"},
                    },
                ]
            },
        )
    )
    csv = problem(push_csv(api, f"{zone},gdp,2024,100,ok", f"{zone},gdp,2023,100,bad\x00source"))
    json_values = problem(
        api.post(
            "/v1/indicator-values:batch",
            json={
                "values": [{"zone_code": zone, "indicator": "gdp", "year": 2022, "value": "1", "source": "x\x1b[31m"}]
            },
        )
    )
    project = problem(
        api.post(
            "/v1/talent-projects",
            json={
                "project_code": "CTL-1",
                "name": "项目\x00",
                "zone_code": zone,
                "talent_level": "national",
                "investment_yuan": 1000,
                "recruited_on": "2023-03-01",
            },
        )
    )

    assert [location for location, _ in enterprises] == [
        ["body", "enterprises", 1, "name"],
        ["body", "enterprises", 2, "hitech_certificate", "number"],
    ]
    assert [location for location, _ in csv] == [["body", "line", 3, "source"]]
    assert json_values == [
        (["body", "values", 0, "source"], "must not contain control characters (U+001B at position 2)")
    ]
    assert [location for location, _ in project] == [["body", "name"]]
    assert all("U+0000" in message for _, message in enterprises + csv + project)
    assert api.get(f"/v1/enterprises/{good}").status_code == 404  # the batch is all-or-nothing
    raw = api.get(f"/v1/zones/{zone}/indicators", params={"year": 2024}).json()["raw"]
    assert [r["value"] for r in raw if r["indicator"] == "gdp"] == [None]
