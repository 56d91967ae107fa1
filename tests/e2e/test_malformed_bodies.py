"""Bodies that cannot be read are a 400 `malformed_body` naming why, on every route that takes one (API.md: "400
for unparseable bodies … Never a 500 for anything a client sent"); and a 415 names the media type that was sent."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from services.common.errors import JSON_TOO_DEEP

PROBLEM = "application/problem+json"
JSON = {"Content-Type": "application/json"}
# Path parameters of the write routes: any value reaches the body, which is read first.
FILLED = {
    "zone_code": "DEEP-Z",
    "county_code": "320706",
    "year": "2023",
    "level": "provincial",
    "webhook_id": "wh_deep",
    "key_id": "gx_deep",
}


def nested(depth: int) -> bytes:
    """`{"values": [[[…]]]}` with `depth` arrays: about 2 bytes a level (the review's 2 KB body is ~1,000)."""
    return b'{"values":' + b"[" * depth + b"]" * depth + b"}"


def json_body_operations(api: httpx.Client) -> list[tuple[str, str]]:
    """(METHOD, path) of every operation of /openapi.json that takes a JSON body, path parameters filled in."""
    found = []
    for template, operations in api.get("/openapi.json").json()["paths"].items():
        for method, operation in operations.items():
            if "application/json" in operation.get("requestBody", {}).get("content", {}):
                path = re.sub(r"\{(\w+)\}", lambda m: FILLED[m.group(1)], template)
                found.append((method.upper(), path))
    return found


def test_every_route_taking_json_answers_a_body_nested_too_deeply_with_400_malformed_body(api: httpx.Client) -> None:
    operations = json_body_operations(api)
    assert ("POST", "/v1/indicator-values:batch") in operations and len(operations) >= 14

    answers: dict[tuple[str, str], Any] = {}
    for method, path in operations:
        for headers in ({}, {"Idempotency-Key": f"deep-{method}-{path}"}):
            reply = api.request(method, path, content=nested(5000), headers={**JSON, **headers})
            answers[(method, path)] = (reply.status_code, reply.headers["content-type"], reply.json()["code"])
            assert reply.json()["detail"] == JSON_TOO_DEEP, (method, path, reply.text)

    assert set(answers.values()) == {(400, PROBLEM, "malformed_body")}, answers


def test_every_route_taking_json_answers_an_empty_or_blank_body_with_400_malformed_body(api: httpx.Client) -> None:
    """An empty body is no more JSON than a blank one: both unparseable (API.md: 400), not a 422 "Field required"."""
    answers: dict[tuple[str, str, bytes], Any] = {}
    for method, path in json_body_operations(api):
        for content in (b"", b"   "):
            reply = api.request(method, path, content=content, headers=JSON)
            answers[(method, path, content)] = (reply.status_code, reply.headers["content-type"], reply.json()["code"])

    assert len(answers) >= 28
    assert set(answers.values()) == {(400, PROBLEM, "malformed_body")}, answers


def test_every_route_taking_json_refuses_a_member_named_twice_in_one_object(api: httpx.Client) -> None:
    """RFC 8259: duplicate names make an object's meaning unpredictable; a decision must not rest on a guess."""
    answers: dict[tuple[str, str], Any] = {}
    for method, path in json_body_operations(api):
        reply = api.request(method, path, content=b'{"nationality": "DE", "nationality": "CN"}', headers=JSON)
        answers[(method, path)] = (reply.status_code, reply.json()["code"], reply.json()["detail"])

    assert set(answers.values()) == {
        (400, "malformed_body", "the request body names the member 'nationality' twice in one object")
    }, answers
    nested_twice = b'{"values": [{"zone_code": "A", "indicator": "gdp", "year": 2024, "value": 1, "year": 2025}]}'
    batch = api.post("/v1/indicator-values:batch", content=nested_twice, headers=JSON)
    assert (batch.status_code, batch.json()["detail"]) == (
        400,
        "the request body names the member 'year' twice in one object",
    )
    check = {"nationality": "DE", "permanent_residence_card": True}
    assert api.post("/v1/talent/rd-institution-representative:check", json=check).status_code == 200


@pytest.mark.parametrize("depth", [990, 1000, 2000, 100_000])
def test_no_depth_of_nesting_is_a_500_on_the_values_batch_or_a_schema_route(api: httpx.Client, depth: int) -> None:
    # Somewhere below 1,000 levels the parsers stop following; shallower, the body is read and refused as invalid.
    batch = api.post("/v1/indicator-values:batch", content=nested(depth), headers={"Content-Type": "application/json"})
    county = api.put("/v1/counties/320706", content=nested(depth), headers={"Content-Type": "application/json"})

    for reply in (batch, county):
        assert (reply.status_code, reply.json()["code"]) in {(400, "malformed_body"), (422, "validation_failed")}
    if depth >= 1000:
        assert [(r.status_code, r.json()["detail"]) for r in (batch, county)] == [(400, JSON_TOO_DEEP)] * 2


def test_a_json_body_that_is_not_utf8_is_400_malformed_body_naming_the_byte(api: httpx.Client) -> None:
    reply = api.put(
        "/v1/counties/320706", content=b'{"name": "\xff\xfe"}', headers={"Content-Type": "application/json"}
    )

    assert (reply.status_code, reply.headers["content-type"], reply.json()["code"]) == (400, PROBLEM, "malformed_body")
    assert reply.json()["detail"] == "the request body is not UTF-8 (invalid byte at offset 10)"
