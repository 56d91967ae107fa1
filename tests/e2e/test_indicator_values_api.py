"""Indicator values through the gateway: CSV and JSON batches, validation, revisions, targets, events."""

from __future__ import annotations

import json
from typing import Any

import httpx
from gaoxin.events.v1 import events_pb2

from services.indicators.events import INDICATOR_VALUES_ACCEPTED
from services.platform import Platform
from tests.e2e.conftest import eventually
from tests.e2e.helpers import create_recognised_zone, create_zone, push_csv, unique_zone_code
from tests.e2e.jetstream import published

PROBLEM = "application/problem+json"


def indicators(api: httpx.Client, zone: str, year: int) -> dict[str, Any]:
    reply = api.get(f"/v1/zones/{zone}/indicators", params={"year": year})
    assert reply.status_code == 200, reply.text
    body: dict[str, Any] = reply.json()
    return body


def raw_values(api: httpx.Client, zone: str, year: int) -> dict[str, str | None]:
    return {r["indicator"]: r["value"] for r in indicators(api, zone, year)["raw"]}


def derived(api: httpx.Client, zone: str, year: int) -> dict[str, dict[str, Any]]:
    return {d["indicator"]: d for d in indicators(api, zone, year)["derived"]}


def accepted_events(platform: Platform, batch_id: str) -> list[events_pb2.IndicatorValuesAccepted]:
    events = published(platform, INDICATOR_VALUES_ACCEPTED, events_pb2.IndicatorValuesAccepted)
    return [e for e in events if e.batch_id == batch_id]


def test_csv_batch_is_stored_and_judged_against_targets_at_their_boundaries(api: httpx.Client) -> None:
    zone = create_recognised_zone(api, "T", "national")
    body = "\ufeffzone_code,indicator,year,value,source\r\n" + "".join(
        f"{zone},{code},2024,{value},统计年报\r\n"
        for code, value in [
            ("rd_expenditure", "350000"),
            ("gdp", "5000000.00"),
            ("hitech_industry_output", "2880000"),
            ("above_scale_industrial_output", "3600000"),
            ("hitech_enterprises", "46"),
            ("above_scale_enterprises", "100"),
        ]
    )

    reply = api.post("/v1/indicator-values:batch", content=body.encode(), headers={"Content-Type": "text/csv"})

    assert reply.status_code == 200, reply.text
    assert {k: v for k, v in reply.json().items() if k != "batch_id"} == {
        "accepted": 6,
        "created": 6,
        "revised": 0,
        "unchanged": 0,
    }
    result = indicators(api, zone, 2024)
    assert result["level"] == "national"
    assert {r["indicator"]: (r["value"], r["unit"], r["source"]) for r in result["raw"]}["gdp"] == (
        "5000000",
        "万元",
        "统计年报",
    )
    statuses = {d["indicator"]: (d["value"], d["status"]) for d in result["derived"]}
    assert statuses == {
        "rd_intensity": ("0.07", "met"),  # 7% meets “7%以上”
        "hitech_output_share": ("0.8", "not_met"),  # 80% does not meet “超过 80%”
        "hitech_enterprise_share": ("0.46", "met"),
    }
    target = derived(api, zone, 2024)["rd_intensity"]["target"]
    assert (target["op"], target["threshold"], target["year"], target["clause"]["id"]) == (">=", "0.07", 2025, 3)
    assert "7%以上" in target["clause"]["text"]


def test_shown_value_never_contradicts_its_status_near_the_threshold(api: httpx.Client) -> None:
    # 0.069999999999 and 0.800000000001 round to the thresholds 0.07 and 0.8 at 10 places: shown longer.
    zone = create_recognised_zone(api, "T", "national")
    reply = push_csv(
        api,
        f"{zone},rd_expenditure,2024,69999.999999,",
        f"{zone},gdp,2024,1000000,",
        f"{zone},hitech_industry_output,2024,800000.000001,",
        f"{zone},above_scale_industrial_output,2024,1000000,",
    )
    assert reply.status_code == 200, reply.text

    result = derived(api, zone, 2024)

    rd, output = result["rd_intensity"], result["hitech_output_share"]
    assert (rd["value"], rd["status"]) == ("0.069999999999", "not_met")
    assert "= 0.069999999999 does not meet the 2025 target >= 0.07" in rd["explanation"]
    assert (output["value"], output["status"]) == ("0.800000000001", "met")
    assert "= 0.800000000001 meets the 2025 target > 0.80" in output["explanation"]


def test_targets_follow_the_zone_level_at_the_end_of_the_year(api: httpx.Client) -> None:
    zone = create_recognised_zone(api, "T", "provincial")
    upgrade = api.post(f"/v1/zones/{zone}/recognitions", json={"level": "national", "recognized_on": "2024-12-31"})
    assert upgrade.status_code == 201
    reply = push_csv(
        api,
        *[
            f"{zone},{code},{year},{value},"
            for year in (2023, 2024)
            for code, value in [("rd_expenditure", 6), ("gdp", 100)]
        ],
    )
    assert reply.status_code == 200

    provincial, national = derived(api, zone, 2023)["rd_intensity"], derived(api, zone, 2024)["rd_intensity"]

    assert indicators(api, zone, 2023)["level"] == "provincial" and indicators(api, zone, 2024)["level"] == "national"
    assert (provincial["target"]["threshold"], provincial["status"]) == ("0.05", "met")
    assert (national["target"]["threshold"], national["status"]) == ("0.07", "not_met")


def test_ratio_without_its_denominator_is_not_computable_not_an_error(api: httpx.Client) -> None:
    zone = create_recognised_zone(api, "T", "provincial")
    reply = push_csv(
        api,
        f"{zone},rd_expenditure,2024,10,",
        f"{zone},hitech_enterprises,2024,0,",
        f"{zone},above_scale_enterprises,2024,0,",
    )
    assert reply.status_code == 200

    result = derived(api, zone, 2024)

    assert {k: (v["value"], v["status"]) for k, v in result.items()} == {
        "rd_intensity": (None, "not_computable"),
        "hitech_output_share": (None, "not_computable"),
        "hitech_enterprise_share": (None, "not_computable"),
    }
    assert "above_scale_enterprises is 0" in result["hitech_enterprise_share"]["explanation"]


def test_ratio_of_a_zone_without_level_is_shown_but_not_judged(api: httpx.Client) -> None:
    zone = unique_zone_code("U")
    create_zone(api, zone)  # registered, never recognised: no level, so no target
    reply = push_csv(
        api,
        f"{zone},hitech_enterprises,2024,1,",
        f"{zone},above_scale_enterprises,2024,3,",
        f"{zone},hitech_industry_output,2024,5,",
    )
    assert reply.status_code == 200, reply.text

    body = api.get(f"/v1/zones/{zone}/indicators", params={"year": 2024}).json()

    assert body["level"] is None
    result = {d["indicator"]: d for d in body["derived"]}
    share = result["hitech_enterprise_share"]
    # API.md's statuses are met | not_met | not_computable: with no target, the status cannot be decided.
    assert (share["value"], share["target"], share["status"]) == ("0.3333333333", None, "not_computable")
    assert share["explanation"].endswith("no target: the zone has no level on 2024-12-31")
    assert (result["hitech_output_share"]["value"], result["hitech_output_share"]["status"]) == (
        None,
        "not_computable",
    )


def test_json_batch_with_bad_rows_is_422_naming_each_and_writes_nothing(api: httpx.Client) -> None:
    zone = create_recognised_zone(api, "J", "national")
    values = [
        {"zone_code": zone, "indicator": "gdp", "year": 2024, "value": 100},
        {"zone_code": "NOPE-ZONE", "indicator": "gdp", "year": 2024, "value": 100},
        {"zone_code": zone, "indicator": "gdp_total", "year": 2024, "value": 100},
        {"zone_code": zone, "indicator": "rd_expenditure", "year": 2024, "value": -1},
        {"zone_code": zone, "indicator": "above_scale_enterprises", "year": 2024, "value": "many"},
        {"zone_code": zone, "indicator": "gdp", "year": 2024, "value": 200},
        {"zone_code": zone, "indicator": "hitech_enterprises", "year": 1999, "value": 3},
    ]

    reply = api.post("/v1/indicator-values:batch", json={"values": values})

    assert reply.status_code == 422
    assert reply.headers["content-type"] == PROBLEM
    errors = [(e["location"], e["message"]) for e in reply.json()["errors"]]
    assert [location for location, _ in errors] == [
        ["body", "values", 1, "zone_code"],
        ["body", "values", 2, "indicator"],
        ["body", "values", 3, "value"],
        ["body", "values", 4, "value"],
        ["body", "values", 5],
        ["body", "values", 6, "year"],
    ]
    assert errors[2][1] == "must not be negative"
    assert errors[4][1] == "duplicate of values[0] (same zone_code, indicator and year)"
    assert raw_values(api, zone, 2024)["gdp"] is None


def test_json_value_above_its_stored_whole_is_422_naming_both_values_and_writes_nothing(api: httpx.Client) -> None:
    zone = create_recognised_zone(api, "W", "national")
    assert push_csv(api, f"{zone},above_scale_enterprises,2024,20,").status_code == 200
    values = [
        {"zone_code": zone, "indicator": "gdp", "year": 2024, "value": 100},
        {"zone_code": zone, "indicator": "hitech_enterprises", "year": 2024, "value": 50},
    ]

    reply = api.post("/v1/indicator-values:batch", json={"values": values})

    assert reply.status_code == 422, reply.text
    assert reply.headers["content-type"] == PROBLEM
    [(location, message)] = [(e["location"], e["message"]) for e in reply.json()["errors"]]
    assert location == ["body", "values", 1, "value"]
    assert message.startswith(
        f"hitech_enterprises 50 (this row) is more than above_scale_enterprises 20 (stored) for zone {zone} in 2024"
    )
    held = raw_values(api, zone, 2024)
    assert (held["gdp"], held["hitech_enterprises"], held["above_scale_enterprises"]) == (None, None, "20")


def test_csv_part_above_its_whole_names_both_lines_and_a_batch_correcting_both_is_accepted(
    api: httpx.Client,
) -> None:
    zone = create_recognised_zone(api, "W", "national")
    assert (
        push_csv(api, f"{zone},hitech_enterprises,2024,10,", f"{zone},above_scale_enterprises,2024,20,").status_code
        == 200
    )

    refused = push_csv(
        api,
        f"{zone},hitech_industry_output,2024,90,",
        f"{zone},above_scale_industrial_output,2024,80,",
        f"{zone},above_scale_enterprises,2024,9,",  # below the 10 high-tech enterprises stored
    )
    corrected = push_csv(api, f"{zone},hitech_enterprises,2024,50,", f"{zone},above_scale_enterprises,2024,60,")
    equal = push_csv(api, f"{zone},hitech_industry_output,2024,80,", f"{zone},above_scale_industrial_output,2024,80,")

    assert refused.status_code == 422, refused.text
    errors = [(e["location"], e["message"]) for e in refused.json()["errors"]]
    assert [location for location, _ in errors] == [
        ["body", "line", 2, "value"],
        ["body", "line", 3, "value"],
        ["body", "line", 4, "value"],
    ]
    assert "hitech_industry_output 90 (this row) is more than above_scale_industrial_output 80 (line 3)" in errors[0][1]
    assert "hitech_industry_output 90 (line 2) is more than above_scale_industrial_output 80 (this row)" in errors[1][1]
    assert "hitech_enterprises 10 (stored) is more than above_scale_enterprises 9 (this row)" in errors[2][1]
    assert (corrected.status_code, equal.status_code) == (200, 200)
    result = derived(api, zone, 2024)
    assert (result["hitech_enterprise_share"]["value"], result["hitech_enterprise_share"]["status"]) == (
        "0.8333333333",
        "met",
    )
    assert (result["hitech_output_share"]["value"], result["hitech_output_share"]["status"]) == ("1", "met")


def test_csv_batch_with_bad_rows_names_each_line_and_writes_nothing(api: httpx.Client) -> None:
    zone = create_recognised_zone(api, "C", "national")

    reply = push_csv(api, f"{zone},gdp,2024,100,", f"{zone},gdp,2024,1e,", f"{zone},gdp,20x4,1,", "GHOST,gdp,2024,1,")

    assert reply.status_code == 422
    assert [e["location"] for e in reply.json()["errors"]] == [
        ["body", "line", 3, "value"],
        ["body", "line", 4, "year"],
        ["body", "line", 5, "zone_code"],
    ]
    assert raw_values(api, zone, 2024)["gdp"] is None


def test_more_than_1000_bad_rows_lists_the_first_1000_and_counts_the_rest(api: httpx.Client) -> None:
    zone = create_recognised_zone(api, "M", "national")

    reply = push_csv(api, *[f"{zone},gdp,{2000 + i % 100},-{i}," for i in range(1, 1501)])

    assert reply.status_code == 422
    assert len(reply.json()["errors"]) == 1000
    assert "1,500 problems; the first 1,000 are listed and 500 more are not" in reply.json()["detail"]


def test_unreadable_bodies_are_400_and_other_media_types_415(api: httpx.Client) -> None:
    bad_json = api.post(
        "/v1/indicator-values:batch", content=b'{"values": [', headers={"Content-Type": "application/json"}
    )
    bad_utf8 = api.post("/v1/indicator-values:batch", content=b"zone_code\xff", headers={"Content-Type": "text/csv"})
    gbk = api.post("/v1/indicator-values:batch", content=b"x", headers={"Content-Type": "text/csv; charset=gbk"})
    xml = api.post("/v1/indicator-values:batch", content=b"<values/>", headers={"Content-Type": "application/xml"})

    assert [r.status_code for r in (bad_json, bad_utf8, gbk, xml)] == [400, 400, 415, 415]
    assert bad_json.json()["code"] == "malformed_body" and bad_json.headers["content-type"] == PROBLEM


def test_a_batch_under_another_media_type_is_415_naming_what_was_sent(api: httpx.Client) -> None:
    plain = api.post("/v1/indicator-values:batch", content=b"{}", headers={"Content-Type": "text/plain"})
    request = api.build_request("POST", "/v1/indicator-values:batch", content=b"{}")
    request.headers.pop("Content-Type", None)
    unnamed = api.send(request)

    assert [(r.status_code, r.json()["code"]) for r in (plain, unnamed)] == [(415, "unsupported_media_type")] * 2
    assert (
        plain.json()["detail"]
        == "send the values as application/json or text/csv (the request has Content-Type text/plain)"
    )
    assert (
        unnamed.json()["detail"] == "send the values as application/json or text/csv (the request has no Content-Type)"
    )


def test_changed_value_is_kept_as_a_revision_and_the_same_value_is_not(api: httpx.Client) -> None:
    zone = create_recognised_zone(api, "R", "national")
    first = push_csv(api, f"{zone},gdp,2024,100,first")
    second = push_csv(api, f"{zone},gdp,2024,101.5,second")
    third = push_csv(api, f"{zone},gdp,2024,101.50,third")

    assert (second.json()["revised"], third.json()["unchanged"], third.json()["revised"]) == (1, 1, 0)
    history = api.get(f"/v1/zones/{zone}/indicators/gdp/revisions", params={"year": 2024})
    assert history.status_code == 200
    versions = history.json()["versions"]
    assert [(v["version"], v["value"], v["source"], v["batch_id"]) for v in versions] == [
        (1, "100", "first", first.json()["batch_id"]),
        (2, "101.5", "second", second.json()["batch_id"]),
    ]
    assert versions[0]["superseded_at"] == versions[1]["recorded_at"] and versions[1]["superseded_at"] is None
    raw = {r["indicator"]: r for r in indicators(api, zone, 2024)["raw"]}["gdp"]
    assert (raw["value"], raw["revisions"], raw["source"]) == ("101.5", 1, "second")


def test_revisions_of_a_value_never_pushed_or_unknown_indicator_is_404_and_of_a_derived_indicator_422(
    api: httpx.Client,
) -> None:
    zone = create_recognised_zone(api, "R", "national")

    missing = api.get(f"/v1/zones/{zone}/indicators/gdp/revisions", params={"year": 2024})
    unknown = api.get(f"/v1/zones/{zone}/indicators/nope/revisions", params={"year": 2024})
    derived_one = api.get(f"/v1/zones/{zone}/indicators/rd_intensity/revisions", params={"year": 2024})

    assert (missing.status_code, unknown.status_code, derived_one.status_code) == (404, 404, 422)
    assert "unknown indicator 'nope'" in unknown.json()["detail"]
    assert derived_one.json()["errors"][0]["location"] == ["path", "indicator"]
    assert "has no revisions" in derived_one.json()["errors"][0]["message"]


def test_idempotent_retry_replays_the_answer_and_stores_nothing_more(api: httpx.Client, platform: Platform) -> None:
    zone = create_recognised_zone(api, "I", "national")
    key = {"Idempotency-Key": f"values-{zone}"}

    first = push_csv(api, f"{zone},gdp,2024,100,", headers=key)
    retry = push_csv(api, f"{zone},gdp,2024,100,", headers=key)
    other = push_csv(api, f"{zone},gdp,2024,999,", headers=key)

    assert first.status_code == retry.status_code == 200
    assert retry.headers["idempotent-replayed"] == "true" and retry.json() == first.json()
    assert other.status_code == 422 and other.json()["code"] == "idempotency_key_mismatch"
    versions = api.get(f"/v1/zones/{zone}/indicators/gdp/revisions", params={"year": 2024}).json()["versions"]
    assert [v["value"] for v in versions] == ["100"]
    assert len(eventually(lambda: accepted_events(platform, first.json()["batch_id"]))) == 1


def test_one_event_per_batch_and_none_for_a_batch_that_changes_nothing(api: httpx.Client, platform: Platform) -> None:
    zone = create_recognised_zone(api, "E", "national")
    lines = [f"{zone},gdp,2023,100,", f"{zone},gdp,2024,110,", f"{zone},rd_expenditure,2024,7,"]

    batch = push_csv(api, *lines).json()
    again = push_csv(api, *lines).json()
    sentinel = push_csv(api, f"{zone},gdp,2025,120,").json()

    assert eventually(lambda: accepted_events(platform, sentinel["batch_id"]))
    events = accepted_events(platform, batch["batch_id"])
    assert len(events) == 1
    assert (events[0].accepted, events[0].revised, list(events[0].zone_codes), list(events[0].years)) == (
        3,
        0,
        [zone],
        [2023, 2024],
    )
    assert again["unchanged"] == 3 and accepted_events(platform, again["batch_id"]) == []


def test_100000_values_are_accepted_in_one_csv_request(api: httpx.Client) -> None:
    zones = [unique_zone_code("B") for _ in range(166)]
    for zone in zones:
        create_zone(api, zone)
    codes = ["rd_expenditure", "gdp", "hitech_industry_output", "above_scale_industrial_output"]
    codes += ["hitech_enterprises", "above_scale_enterprises"]
    lines = [
        f"{z},{c},{y},{y}.5" if "enterprises" not in c else f"{z},{c},{y},{y}"
        for z in zones
        for y in range(2000, 2101)
        for c in codes
    ]
    body = "zone_code,indicator,year,value,source\n" + "".join(f"{line},bulk\n" for line in lines[:100_000])

    reply = api.post(
        "/v1/indicator-values:batch", content=body.encode(), headers={"Content-Type": "text/csv"}, timeout=120
    )

    assert reply.status_code == 200, reply.text[:500]
    assert (reply.json()["accepted"], reply.json()["created"]) == (100_000, 100_000)
    assert raw_values(api, zones[0], 2050)["gdp"] == "2050.5"


def test_catalogue_lists_raw_and_derived_indicators_with_targets(api: httpx.Client) -> None:
    reply = api.get("/v1/indicators")

    assert reply.status_code == 200
    items = {i["code"]: i for i in reply.json()["items"]}
    assert len(items) == 9
    assert (items["gdp"]["kind"], items["gdp"]["unit"], items["gdp"]["targets"]) == ("raw", "万元", [])
    share = items["hitech_output_share"]
    assert (share["kind"], share["formula"], share["unit"]) == (
        "derived",
        "hitech_industry_output / above_scale_industrial_output",
        "fraction",
    )
    assert share["name"] == {"zh": "高新技术产业产值占规上工业产值比重", "en": "high-tech output share"}
    assert {(t["level"], t["op"], t["threshold"]) for t in share["targets"]} == {
        ("national", ">", "0.80"),
        ("provincial", ">", "0.70"),
    }


def test_openapi_documents_the_batch_body_in_json_and_csv(api: httpx.Client) -> None:
    spec = api.get("/openapi.json").json()

    batch = spec["paths"]["/v1/indicator-values:batch"]["post"]
    assert set(batch["requestBody"]["content"]) == {"application/json", "text/csv"}
    assert {"200", "400", "415", "422"} <= set(batch["responses"])
    assert {
        "/v1/counties/{county_code}/designations",
        "/v1/enterprises:batch",
        "/v1/enterprises/{credit_code}",
        "/v1/indicators",
        "/v1/zones/{zone_code}/indicators",
        "/v1/evaluations/{year}/rankings/{level}",
        "/v1/evaluations/{year}/consequences/{level}",
    } <= set(spec["paths"])
    json.dumps(spec)  # serialisable as served


def test_ingested_values_are_counted_for_the_dashboard(api: httpx.Client, platform: Platform) -> None:
    zone = create_recognised_zone(api, "P", "national")
    assert push_csv(api, f"{zone},gdp,2024,1,", f"{zone},gdp,2023,2,").status_code == 200

    metrics = httpx.get(f"http://127.0.0.1:{platform.settings.indicators_metrics_port}/metrics").text

    created = next(line for line in metrics.splitlines() if line.startswith("gaoxin_indicator_values_ingested_total{"))
    assert 'outcome="created"' in created and float(created.split()[-1]) >= 2
