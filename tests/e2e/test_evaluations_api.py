"""Official rankings, historical best, composite scores and clause 二十六 through the gateway."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from gaoxin.events.v1 import events_pb2
from gaoxin.types.v1 import types_pb2

from services.common.convert import today_in_china
from services.indicators.events import RANKING_PUBLISHED, ZONE_RECOGNIZED
from services.platform import Platform
from tests.e2e.conftest import eventually
from tests.e2e.helpers import (
    HISTORY_RECOGNITION,
    awards_of,
    create_recognised_zone,
    history_years,
    policy_years,
    push_csv,
    recognize,
)
from tests.e2e.jetstream import published


def put_ranking(api: httpx.Client, year: int, level: str, ranks: dict[str, int], **extra: Any) -> httpx.Response:
    body = {"ranks": [{"zone_code": z, "rank": r} for z, r in ranks.items()], **extra}
    return api.put(f"/v1/evaluations/{year}/rankings/{level}", json=body)


def rankings_published(platform: Platform, year: int) -> list[events_pb2.RankingPublished]:
    return [e for e in published(platform, RANKING_PUBLISHED, events_pb2.RankingPublished) if e.year == year]


def test_ranking_reads_back_with_historical_best_and_advance(api: httpx.Client) -> None:
    a, b = (create_recognised_zone(api, "K", "provincial", HISTORY_RECOGNITION) for _ in range(2))
    first, second, third = history_years(3)
    assert put_ranking(api, first, "provincial", {a: 9, b: 4}).status_code == 201
    # field_size 0, like null or absent, is the largest rank.
    assert put_ranking(api, second, "provincial", {a: 12}, field_size=0).json()["field_size"] == 12

    reply = put_ranking(api, third, "provincial", {a: 5, b: 6})

    assert reply.status_code == 201
    read = api.get(f"/v1/evaluations/{third}/rankings/provincial").json()
    for answer in (reply.json(), read):  # clause 二十五, cited as every decision cites its clause
        clause = answer["clause"]
        assert (clause["id"], clause["label"], clause["url"]) == (25, "（二十五）", "/v1/policy/clauses/25")
        assert "对年度考评排名较历史最好位次实现前进 3 位以上" in clause["text"]
        assert clause["text"] == api.get("/v1/policy/clauses/25").json()["text"]
    ranks = {r["zone_code"]: r for r in read["ranks"]}
    assert (ranks[a]["rank"], ranks[a]["historical_best"], ranks[a]["advance"]) == (5, 9, 4)
    assert (ranks[b]["rank"], ranks[b]["historical_best"], ranks[b]["advance"]) == (6, 4, -2)
    history = api.get(f"/v1/zones/{a}/ranks").json()
    assert [(h["year"], h["rank"]) for h in history["items"]] == [(first, 9), (second, 12), (third, 5)]
    assert history["next_page_token"] is None
    # Paged like every list: two, then the last one, then no token; a bad token or page_size 0 is a 422.
    one = api.get(f"/v1/zones/{a}/ranks", params={"page_size": 2}).json()
    two = api.get(f"/v1/zones/{a}/ranks", params={"page_size": 2, "page_token": one["next_page_token"]}).json()
    assert [h["year"] for h in one["items"]] == [first, second] and one["next_page_token"]
    assert (two["items"], two["next_page_token"]) == (history["items"][2:], None)
    for params in ({"page_size": 0}, {"page_token": "WzFd"}):
        assert api.get(f"/v1/zones/{a}/ranks", params=params).status_code == 422


def test_historical_best_compares_ranks_of_the_same_level_only(api: httpx.Client) -> None:
    zone = create_recognised_zone(api, "K", "provincial", "2015-01-01")
    assert api.post(f"/v1/zones/{zone}/recognitions", json={"level": "national", "recognized_on": "2020-06-01"})
    assert put_ranking(api, 2019, "provincial", {zone: 1}).status_code in (200, 201)
    [year] = policy_years(1)

    assert put_ranking(api, year, "national", {zone: 80}, field_size=178).status_code == 201

    entry = api.get(f"/v1/evaluations/{year}/rankings/national").json()["ranks"][0]
    assert (entry["historical_best"], entry["advance"]) == (None, None)


def test_identical_ranking_changes_nothing_and_replacement_lists_dropped_zones(
    api: httpx.Client, platform: Platform
) -> None:
    a, b, c = (create_recognised_zone(api, "K", "national", HISTORY_RECOGNITION) for _ in range(3))
    [year] = history_years(1)
    put_ranking(api, year, "national", {a: 1, b: 2})

    same = put_ranking(api, year, "national", {b: 2, a: 1})
    replaced = put_ranking(api, year, "national", {a: 2, c: 1})

    assert (same.status_code, same.json()["changed"], same.json()["replaced"]) == (200, False, False)
    assert (replaced.status_code, replaced.json()["replaced"], replaced.json()["dropped_zone_codes"]) == (
        200,
        True,
        [b],
    )
    events = eventually(lambda: [e for e in rankings_published(platform, year) if e.replaced])
    everything = rankings_published(platform, year)
    assert len(everything) == 2  # the identical re-push published nothing
    assert (list(events[0].dropped_zone_codes), sorted((r.zone_code, r.rank) for r in events[0].ranks)) == (
        [b],
        sorted([(a, 2), (c, 1)]),
    )


def zone_recognitions_published(platform: Platform, zone: str) -> list[events_pb2.ZoneRecognized]:
    return [e for e in published(platform, ZONE_RECOGNIZED, events_pb2.ZoneRecognized) if e.zone_code == zone]


def test_recognition_contradicting_a_stored_ranking_is_409_naming_it_and_records_nothing(
    api: httpx.Client, platform: Platform
) -> None:
    zone, other = (create_recognised_zone(api, "C", "provincial", "2020-01-01") for _ in range(2))
    [year] = policy_years(1)
    assert put_ranking(api, year, "provincial", {zone: 5, other: 6}).status_code in (200, 201)
    before = api.get(f"/v1/zones/{zone}").json()

    reply = recognize(api, zone, "national", f"{year}-06-01")

    assert reply.status_code == 409, reply.text
    assert reply.headers["content-type"] == "application/problem+json"
    problem = reply.json()
    named = f"the {year} provincial ranking (rank 5): zone {zone} is national on {year}-12-31, not provincial"
    assert named in problem["detail"]
    assert "correct the ranking first" in problem["detail"]
    assert [(e["location"], e["message"]) for e in problem["errors"]] == [(["body", "recognized_on"], named)]
    assert api.get(f"/v1/zones/{zone}").json() == before  # nothing recorded
    # The ranking still holds, so re-pushing it is no error.
    same = put_ranking(api, year, "provincial", {zone: 5, other: 6})
    assert (same.status_code, same.json()["changed"]) == (200, False)


def test_recognition_is_accepted_once_the_ranking_it_contradicted_is_corrected(
    api: httpx.Client, platform: Platform
) -> None:
    zone, other = (create_recognised_zone(api, "C", "provincial", "2020-01-01") for _ in range(2))
    [year] = policy_years(1)
    put_ranking(api, year, "provincial", {zone: 5, other: 6})
    assert recognize(api, zone, "national", f"{year}-06-01").status_code == 409
    # A recognition dated after the ranking's 31 December contradicts nothing.
    assert recognize(api, other, "national", f"{year + 1}-01-01").status_code == 201

    assert put_ranking(api, year, "provincial", {other: 6}).json()["dropped_zone_codes"] == [zone]
    accepted = recognize(api, zone, "national", f"{year}-06-01")
    national = put_ranking(api, year, "national", {zone: 40}, field_size=178)

    assert accepted.status_code == 201, accepted.text
    assert accepted.json()["zone"]["recognitions"][-1] == {"level": "national", "recognized_on": f"{year}-06-01"}
    assert national.status_code in (200, 201), national.text
    # The refused recognition published nothing: the zone's first recognition and the accepted one only.
    assert eventually(lambda: len(zone_recognitions_published(platform, zone)) == 2)
    assert [e.recognition.level for e in zone_recognitions_published(platform, zone)] == [
        types_pb2.ZONE_LEVEL_PROVINCIAL,
        types_pb2.ZONE_LEVEL_NATIONAL,
    ]


@pytest.fixture(scope="module")
def refused_year() -> int:
    """A history year the tests of refused rankings share: each asserts that nothing was stored in it, which holds
    for all of them together (history years are few: helpers.history_years)."""
    [year] = history_years(1)
    return year


def test_bad_ranking_is_422_naming_each_row_and_writes_nothing(api: httpx.Client, refused_year: int) -> None:
    national = create_recognised_zone(api, "K", "national", HISTORY_RECOGNITION)
    provincial = create_recognised_zone(api, "K", "provincial", HISTORY_RECOGNITION)
    year = refused_year

    reply = put_ranking(api, year, "national", {national: 0, provincial: 2, "GHOST-Z": 3})
    duplicate = api.put(
        f"/v1/evaluations/{year}/rankings/national",
        json={"ranks": [{"zone_code": national, "rank": 1}, {"zone_code": national, "rank": 1}]},
    )
    bad_level = api.put(f"/v1/evaluations/{year}/rankings/city", json={"ranks": []})
    bad_year = put_ranking(api, 1999, "national", {national: 1})

    assert reply.status_code == 422
    assert [(e["location"], e["message"]) for e in reply.json()["errors"]] == [
        (["body", "ranks", 0, "rank"], "must be a positive integer"),
        (["body", "ranks", 1, "zone_code"], f"zone {provincial} is provincial on {year}-12-31, not national"),
        (["body", "ranks", 2, "zone_code"], "unknown zone 'GHOST-Z'"),
    ]
    assert duplicate.status_code == 422
    assert {tuple(e["location"]) for e in duplicate.json()["errors"]} == {
        ("body", "ranks", 1, "rank"),
        ("body", "ranks", 1, "zone_code"),
    }
    assert (bad_level.status_code, bad_level.json()["errors"][0]["location"]) == (422, ["path", "level"])
    assert (bad_year.status_code, bad_year.json()["errors"][0]["location"]) == (422, ["path", "year"])
    assert api.get(f"/v1/evaluations/{year}/rankings/national").status_code == 404


def test_bad_ranking_lists_malformed_rows_and_the_registers_findings_in_one_answer(
    api: httpx.Client, refused_year: int
) -> None:
    national = create_recognised_zone(api, "K", "national", HISTORY_RECOGNITION)
    year = refused_year
    ranks: list[object] = [
        {"zone_code": national, "rank": "x"},
        {"zone_code": national, "rank": 0},
        {"zone_code": "GHOST-Z", "rank": 3},
        {"zone": national},
        {"zone_code": national, "rank": 3},
    ]

    reply = api.put(f"/v1/evaluations/{year}/rankings/national", json={"ranks": ranks, "field_size": -1})

    assert reply.status_code == 422
    assert [(e["location"], e["message"]) for e in reply.json()["errors"]] == [
        (["body", "field_size"], "must not be negative (0 or absent: the largest rank)"),
        (["body", "ranks", 0, "rank"], "Input should be a valid integer"),
        (["body", "ranks", 1, "rank"], "must be a positive integer"),
        (["body", "ranks", 2, "zone_code"], "unknown zone 'GHOST-Z'"),
        (["body", "ranks", 3, "zone_code"], "Field required"),
        (["body", "ranks", 3, "rank"], "Field required"),
        (["body", "ranks", 3, "zone"], "Extra inputs are not permitted"),
        (["body", "ranks", 4, "rank"], "rank 3 is already given to ranks[2]"),  # the caller's numbering
        (["body", "ranks", 4, "zone_code"], "zone already ranked at ranks[1]"),
    ]
    assert api.get(f"/v1/evaluations/{year}/rankings/national").status_code == 404


def test_a_wrong_envelope_does_not_hide_the_rows_problems(api: httpx.Client, refused_year: int) -> None:
    national = create_recognised_zone(api, "K", "national", HISTORY_RECOGNITION)
    year = refused_year
    body = {
        "bogus": 1,
        "field_size": "x",
        "ranks": [{"zone_code": national, "rank": 1}, {"zone_code": "GHOST-Z", "rank": 2}, "no"],
    }

    reply = api.put(f"/v1/evaluations/{year}/rankings/national", json=body)

    assert reply.status_code == 422
    assert [(e["location"], e["message"]) for e in reply.json()["errors"]] == [
        (["body", "field_size"], "Input should be a valid integer"),
        (["body", "bogus"], "Extra inputs are not permitted"),
        (["body", "ranks", 1, "zone_code"], "unknown zone 'GHOST-Z'"),
        (["body", "ranks", 2], "must be an object"),
    ]
    assert api.get(f"/v1/evaluations/{year}/rankings/national").status_code == 404


def test_ranking_of_a_year_not_ended_in_china_is_422_stores_nothing_and_pays_nothing(
    api: httpx.Client, platform: Platform
) -> None:
    # A ranking is dated by the last day of its year: this year's is in the future until 31 December.
    zone = create_recognised_zone(api, "F", "national", HISTORY_RECOGNITION)
    [past] = history_years(1)
    assert put_ranking(api, past, "national", {zone: 20}).status_code == 201
    today = today_in_china()
    this_year = today.year + (1 if today.month == 12 and today.day == 31 else 0)

    for year in (this_year, 2030):
        reply = put_ranking(api, year, "national", {zone: 1})

        assert reply.status_code == 422, reply.text
        assert reply.headers["content-type"] == "application/problem+json"
        [error] = reply.json()["errors"]
        assert error["location"] == ["path", "year"]
        assert (
            f"dated {year}-12-31, which must not be in the future (today is {today.isoformat()} in China)"
            in (error["message"])
        )
        assert api.get(f"/v1/evaluations/{year}/rankings/national").status_code == 404
    assert [(h["year"], h["rank"]) for h in api.get(f"/v1/zones/{zone}/ranks").json()["items"]] == [(past, 20)]
    assert eventually(lambda: rankings_published(platform, past))
    assert rankings_published(platform, this_year) == rankings_published(platform, 2030) == []
    assert awards_of(api, zone) == []


def test_composite_score_ranks_zones_on_weighted_normalised_ratios(api: httpx.Client) -> None:
    best, worst, missing = (create_recognised_zone(api, "S", "provincial", HISTORY_RECOGNITION) for _ in range(3))
    [year] = history_years(1)
    lines = []
    for zone, (rd, gdp, out, total, ent, firms) in {
        best: (8, 100, 90, 100, 50, 100),
        worst: (4, 100, 50, 100, 40, 100),
        missing: (9, 100, 95, 100, 0, 0),  # no enterprises: the share is not computable
    }.items():
        lines += [
            f"{zone},rd_expenditure,{year},{rd},",
            f"{zone},gdp,{year},{gdp},",
            f"{zone},hitech_industry_output,{year},{out},",
            f"{zone},above_scale_industrial_output,{year},{total},",
            f"{zone},hitech_enterprises,{year},{ent},",
            f"{zone},above_scale_enterprises,{year},{firms},",
        ]
    assert push_csv(api, *lines).status_code == 200

    reply = put_ranking(api, year, "provincial", {best: 1, worst: 2, missing: 3})

    scores = {r["zone_code"]: r["composite_score"] for r in reply.json()["ranks"]}
    assert scores == {best: "100.00", worst: "0.00", missing: None}
    composite = reply.json()["composite"]
    assert composite["weight_set_version"] == "composite.weights@v1"
    assert composite["weights"] == {
        "hitech_enterprise_share": "0.35",
        "hitech_output_share": "0.25",
        "rd_intensity": "0.40",
    }


def test_consequences_support_the_top_and_restrict_the_bottom_tenth(api: httpx.Client) -> None:
    zones = [create_recognised_zone(api, "Q", "national") for _ in range(4)]
    [year] = policy_years(1)
    put_ranking(api, year, "national", dict(zip(zones, (1, 18, 19, 178), strict=True)), field_size=178)

    reply = api.get(f"/v1/evaluations/{year}/consequences/national")

    assert reply.status_code == 200
    body = reply.json()
    assert (body["field_size"], body["support_count"], body["restrict_count"]) == (178, 18, 18)
    assert [(z["rank"], z["outcome"]) for z in body["zones"]] == [
        (1, "support"),
        (18, "support"),
        (19, "none"),
        (178, "restrict"),
    ]
    assert body["zones"][-1]["measures"] == ["land_quota_restricted", "notice_and_interview", "rectification"]
    assert (body["clause"]["id"], body["parameter_version"]) == (26, "consequences@v1")
    assert "限制新增土地指标，通报约谈，限期整改" in body["clause"]["text"]


def test_ranking_of_one_zone_has_no_consequence(api: httpx.Client) -> None:
    zone = create_recognised_zone(api, "Q", "provincial")
    [year] = policy_years(1)
    put_ranking(api, year, "provincial", {zone: 1})

    body = api.get(f"/v1/evaluations/{year}/consequences/provincial").json()

    assert [(z["outcome"], z["measures"]) for z in body["zones"]] == [("none", [])]
    assert (body["support_count"], body["restrict_count"]) == (0, 0)


def test_ranking_before_the_policy_has_no_consequence(api: httpx.Client) -> None:
    zones = [create_recognised_zone(api, "Q", "national", "2015-01-01") for _ in range(3)]
    put_ranking(api, 2020, "national", dict(zip(zones, (1, 2, 3), strict=True)))

    body = api.get("/v1/evaluations/2020/consequences/national").json()

    assert {z["outcome"] for z in body["zones"]} == {"none"} and body["parameter_version"] is None
    assert "2021-04-12" in body["explanation"]


def test_consequences_and_ranking_without_a_ranking_are_404(api: httpx.Client) -> None:
    [year] = history_years(1)
    assert api.get(f"/v1/evaluations/{year}/consequences/national").status_code == 404
    assert api.get(f"/v1/evaluations/{year}/rankings/provincial").status_code == 404


def test_numbers_beyond_the_grpc_contract_are_422_not_500(api: httpx.Client) -> None:
    huge_year = api.get("/v1/evaluations/2709863944439/consequences/provincial")
    huge_rank = put_ranking(api, 2024, "national", {"ANY": 2**40})
    huge_query = api.get("/v1/zones/ANY/indicators/gdp/revisions", params={"year": -3372002087})

    assert (huge_year.status_code, huge_year.json()["errors"][0]["location"]) == (422, ["path", "year"])
    assert (huge_rank.status_code, huge_rank.json()["errors"][0]["location"]) == (422, ["body", "ranks", 0, "rank"])
    assert (huge_query.status_code, huge_query.json()["errors"][0]["location"]) == (422, ["query", "year"])


def test_years_outside_2000_to_2100_are_422_at_the_year_as_the_document_declares(api: httpx.Client) -> None:
    zone = create_recognised_zone(api, "K", "national", HISTORY_RECOGNITION)
    spec = api.get("/openapi.json").json()
    reads = {
        "/v1/evaluations/{year}/rankings/{level}": ("path", "/v1/evaluations/{year}/rankings/national"),
        "/v1/evaluations/{year}/consequences/{level}": ("path", "/v1/evaluations/{year}/consequences/national"),
        "/v1/zones/{zone_code}/indicators": ("query", f"/v1/zones/{zone}/indicators"),
        "/v1/zones/{zone_code}/indicators/{indicator}/revisions": (
            "query",
            f"/v1/zones/{zone}/indicators/gdp/revisions",
        ),
    }
    for template, (where, path) in reads.items():
        [declared] = [p["schema"] for p in spec["paths"][template]["get"]["parameters"] if p["name"] == "year"]
        assert (declared["minimum"], declared["maximum"]) == (2000, 2100), template
        for year in (1999, 2101):
            url = path.replace("{year}", str(year)) if where == "path" else path
            reply = api.get(url, params={"year": year} if where == "query" else None)
            assert (reply.status_code, reply.headers["content-type"]) == (422, "application/problem+json"), url
            assert [e["location"] for e in reply.json()["errors"]] == [[where, "year"]], url
        inside = api.get(path.replace("{year}", "2000"), params={"year": 2000} if where == "query" else None)
        assert inside.status_code in (200, 404), (template, inside.text)  # in range: answered on the facts
    assert put_ranking(api, 1999, "national", {zone: 1}).json()["errors"][0]["location"] == ["path", "year"]


def test_the_document_declares_the_ranking_bounds_the_service_keeps(api: httpx.Client) -> None:
    schemas = api.get("/openapi.json").json()["components"]["schemas"]
    zone = create_recognised_zone(api, "K", "national", HISTORY_RECOGNITION)

    rank = schemas["RankIn"]["properties"]["rank"]
    assert (rank["minimum"], rank["maximum"]) == (1, 2**31 - 1)
    assert schemas["SimulatedRankIn"]["properties"]["rank"]["maximum"] == 2**31 - 1  # as a push takes
    assert schemas["RankingIn"]["properties"]["ranks"]["minItems"] == 1
    assert [s.get("minimum") for s in schemas["RankingIn"]["properties"]["field_size"]["anyOf"]] == [0, None]
    # Refused, so nothing is stored in this year (2019 is shared by name).
    empty = put_ranking(api, 2019, "national", {})
    negative = put_ranking(api, 2019, "national", {zone: 1}, field_size=-1)
    assert [e["location"] for e in empty.json()["errors"]] == [["body", "ranks"]]
    assert [e["location"] for e in negative.json()["errors"]] == [["body", "field_size"]]
