"""Counties' designations and enterprises through the gateway."""

from __future__ import annotations

import random

import httpx
from gaoxin.events.v1 import events_pb2
from gaoxin.types.v1 import types_pb2

from services.indicators.domain.credit_code import random_credit_code
from services.indicators.events import COUNTY_DESIGNATED
from services.platform import Platform
from tests.e2e.conftest import eventually
from tests.e2e.helpers import create_recognised_zone
from tests.e2e.jetstream import published

_rng = random.Random()


def new_county(api: httpx.Client) -> str:
    """A county code no other test uses (designations accumulate on the shared platform)."""
    code = f"9{_rng.randrange(10**5):05d}"
    assert api.put(f"/v1/counties/{code}", json={"name": "测试县"}).status_code in (200, 201)
    return code


def designations_of(platform: Platform, county: str) -> list[events_pb2.CountyDesignated]:
    events = published(platform, COUNTY_DESIGNATED, events_pb2.CountyDesignated)
    return [e for e in events if e.county_code == county]


def test_designation_is_recorded_once_with_one_event(api: httpx.Client, platform: Platform) -> None:
    county = new_county(api)
    body = {"programme": "ip_pilot", "level": "national", "listed_on": "2022-11-18"}

    first = api.post(f"/v1/counties/{county}/designations", json=body)
    again = api.post(f"/v1/counties/{county}/designations", json=body)

    assert (first.status_code, again.status_code) == (201, 201)
    assert (first.json()["created"], again.json()["created"]) == (True, False)
    detail = api.get(f"/v1/counties/{county}")
    assert detail.status_code == 200
    assert detail.json() == {
        "county_code": county,
        "name": "测试县",
        "designations": [{"programme": "ip_pilot", "level": "national", "listed_on": "2022-11-18"}],
    }
    events = eventually(lambda: designations_of(platform, county))
    assert [(e.programme, e.level, e.listed_on.year) for e in events] == [
        ("ip_pilot", types_pb2.ZONE_LEVEL_NATIONAL, 2022)
    ]


def test_bad_designation_is_422_and_records_nothing(api: httpx.Client) -> None:
    county = new_county(api)

    programme = api.post(
        f"/v1/counties/{county}/designations",
        json={"programme": "pilot", "level": "national", "listed_on": "2022-11-18"},
    )
    future = api.post(
        f"/v1/counties/{county}/designations",
        json={"programme": "innovation_pilot", "level": "provincial", "listed_on": "2999-01-01"},
    )

    assert (programme.status_code, future.status_code) == (422, 422)
    assert programme.json()["errors"][0]["location"] == ["body", "programme"]
    assert future.json()["errors"][0]["location"] == ["body", "listed_on"]
    assert api.get(f"/v1/counties/{county}").json()["designations"] == []


def test_designation_of_unknown_county_is_404(api: httpx.Client) -> None:
    body = {"programme": "ip_pilot", "level": "national", "listed_on": "2022-11-18"}
    assert api.post("/v1/counties/899999/designations", json=body).status_code == 404
    assert api.get("/v1/counties/899999").status_code == 404


def enterprise(code: str, zone: str, **extra: object) -> dict[str, object]:
    return {
        "credit_code": code,
        "name": "连云港测试科技有限公司（虚构）",
        "zone_code": zone,
        "above_scale": True,
        **extra,
    }


def test_enterprises_batch_creates_then_updates_and_reads_back(api: httpx.Client) -> None:
    zone = create_recognised_zone(api, "EN", "national")
    code = random_credit_code(_rng, "320772")
    certificate = {"number": "GR202432000001", "issued_on": "2024-02-29"}

    created = api.post("/v1/enterprises:batch", json={"enterprises": [enterprise(code, zone)]})
    updated = api.post(
        "/v1/enterprises:batch", json={"enterprises": [enterprise(code, zone, hitech_certificate=certificate)]}
    )

    again = api.post(
        "/v1/enterprises:batch", json={"enterprises": [enterprise(code, zone, hitech_certificate=certificate)]}
    )
    renamed = api.post("/v1/enterprises:batch", json={"enterprises": [enterprise(code, zone, name="新名称企业")]})

    assert (created.status_code, created.json()) == (200, {"created": 1, "updated": 0, "unchanged": 0})
    assert (updated.status_code, updated.json()) == (200, {"created": 0, "updated": 1, "unchanged": 0})
    assert (again.status_code, again.json()) == (200, {"created": 0, "updated": 0, "unchanged": 1})
    assert renamed.json() == {"created": 0, "updated": 1, "unchanged": 0}
    reply = api.get(f"/v1/enterprises/{code}")
    assert reply.status_code == 200
    assert reply.json()["hitech_certificate"] == {
        "number": "GR202432000001",
        "issued_on": "2024-02-29",
        "valid_until": "2027-02-28",  # the third anniversary; no 29 February in 2027
    }
    assert (reply.json()["zone_code"], reply.json()["above_scale"], reply.json()["name"]) == (zone, True, "新名称企业")


def test_enterprises_batch_with_bad_rows_is_422_naming_each_and_writes_nothing(api: httpx.Client) -> None:
    zone = create_recognised_zone(api, "EN", "national")
    good = random_credit_code(_rng, "320772")
    wrong_check = good[:17] + ("A" if good[17] != "A" else "B")
    rows = [
        enterprise(good, zone),
        enterprise(wrong_check, zone),
        enterprise(good.lower(), zone),
        enterprise(random_credit_code(_rng, "320772"), "NO-SUCH-ZONE"),
        enterprise(good, zone),
        enterprise(random_credit_code(_rng), zone, hitech_certificate={"number": "GR1", "issued_on": "2999-01-01"}),
    ]

    reply = api.post("/v1/enterprises:batch", json={"enterprises": rows})

    assert reply.status_code == 422
    errors = {tuple(e["location"]): e["message"] for e in reply.json()["errors"]}
    assert errors[("body", "enterprises", 1, "credit_code")].startswith("check character (position 18, GB 32100-2015)")
    assert errors[("body", "enterprises", 2, "credit_code")] == f"letters must be upper case: did you mean '{good}'?"
    assert errors[("body", "enterprises", 3, "zone_code")] == "unknown zone 'NO-SUCH-ZONE'; PUT /v1/zones first"
    assert errors[("body", "enterprises", 4, "credit_code")] == "duplicate of enterprises[0]"
    assert ("body", "enterprises", 5, "hitech_certificate", "issued_on") in errors
    assert api.get(f"/v1/enterprises/{good}").status_code == 404


def test_enterprises_batch_lists_malformed_rows_and_the_registers_findings_in_one_answer(api: httpx.Client) -> None:
    """A row missing a field or of the wrong type does not hide what only the register finds in the other rows."""
    zone = create_recognised_zone(api, "EN", "national")
    good = random_credit_code(_rng, "320772")
    wrong_check = good[:17] + ("A" if good[17] != "A" else "B")
    rows: list[object] = [
        enterprise(good, zone),
        {"credit_code": random_credit_code(_rng), "zone_code": zone, "above_scale": True},  # no name
        enterprise(wrong_check, zone),
        "not an object",
        enterprise(random_credit_code(_rng, "320772"), "NO-SUCH-ZONE", above_scale="yes", name=""),  # 3 problems
        enterprise(random_credit_code(_rng, "320772"), "NO-SUCH-ZONE"),
        enterprise(good, zone),
    ]

    reply = api.post("/v1/enterprises:batch", json={"enterprises": rows})

    assert reply.status_code == 422
    assert reply.headers["content-type"] == "application/problem+json"
    locations = [tuple(e["location"]) for e in reply.json()["errors"]]
    assert locations == [
        ("body", "enterprises", 1, "name"),
        ("body", "enterprises", 2, "credit_code"),
        ("body", "enterprises", 3),
        ("body", "enterprises", 4, "name"),  # judged although the row is refused for its above_scale
        ("body", "enterprises", 4, "above_scale"),
        ("body", "enterprises", 5, "zone_code"),
        ("body", "enterprises", 6, "credit_code"),
    ]
    errors = dict(zip(locations, (e["message"] for e in reply.json()["errors"]), strict=True))
    assert errors[("body", "enterprises", 5, "zone_code")] == "unknown zone 'NO-SUCH-ZONE'; PUT /v1/zones first"
    assert errors[("body", "enterprises", 6, "credit_code")] == "duplicate of enterprises[0]"  # the caller's numbering
    assert errors[("body", "enterprises", 4, "name")] == "must be a non-blank name of at most 200 characters"
    assert reply.json()["detail"] == "7 invalid field(s)"
    county = api.put("/v1/counties/320799", json={"name": ""})  # as a blank name is worded, not pydantic's words
    assert [e["message"] for e in county.json()["errors"]] == ["must be a non-blank name of at most 200 characters"]
    assert api.get(f"/v1/enterprises/{good}").status_code == 404


def test_enterprises_batch_with_only_malformed_rows_is_one_422_and_writes_nothing(api: httpx.Client) -> None:
    reply = api.post("/v1/enterprises:batch", json={"enterprises": [{"credit_code": 1}, None]})

    assert reply.status_code == 422
    locations = [tuple(e["location"]) for e in reply.json()["errors"]]
    assert ("body", "enterprises", 0, "credit_code") in locations
    assert ("body", "enterprises", 0, "name") in locations
    assert ("body", "enterprises", 1) in locations
    assert all(location[:3] in {("body", "enterprises", 0), ("body", "enterprises", 1)} for location in locations)


def test_enterprise_lookup_with_a_malformed_code_is_422_and_an_unknown_one_404(api: httpx.Client) -> None:
    malformed = api.get("/v1/enterprises/91320772ABCDEFGH1X")
    unknown = api.get(f"/v1/enterprises/{random_credit_code(_rng)}")

    assert (malformed.status_code, unknown.status_code) == (422, 404)
    assert malformed.json()["errors"][0]["location"] == ["path", "credit_code"]
