"""Small builders for end-to-end tests: unique codes so tests sharing one platform never collide."""

from __future__ import annotations

import itertools
import secrets
from typing import Any

import httpx

_counter = itertools.count()


def unique_zone_code(prefix: str = "Z") -> str:
    return f"{prefix}-{secrets.token_hex(3)}-{next(_counter)}"


def create_zone(api: httpx.Client, zone_code: str, county_code: str = "320706") -> dict[str, Any]:
    county = api.put(f"/v1/counties/{county_code}", json={"name": "海州区"})
    assert county.status_code in (200, 201), county.text
    reply = api.put(f"/v1/zones/{zone_code}", json={"name": f"测试高新区 {zone_code}", "county_code": county_code})
    assert reply.status_code in (200, 201), reply.text
    body: dict[str, Any] = reply.json()
    return body


def recognize(api: httpx.Client, zone_code: str, level: str, on: str) -> httpx.Response:
    return api.post(f"/v1/zones/{zone_code}/recognitions", json={"level": level, "recognized_on": on})


def awards_of(api: httpx.Client, code: str) -> list[dict[str, Any]]:
    reply = api.get("/v1/awards", params={"beneficiary_code": code})
    assert reply.status_code == 200, reply.text
    items: list[dict[str, Any]] = reply.json()["items"]
    return items


# Rankings are per (year, level) across the one platform the session shares: each test takes years of its own.
_years = itertools.count(2040)


def unique_years(count: int) -> list[int]:
    return [next(_years) for _ in range(count)]


def create_recognised_zone(api: httpx.Client, prefix: str, level: str, on: str = "2020-01-01") -> str:
    zone = unique_zone_code(prefix)
    create_zone(api, zone)
    reply = recognize(api, zone, level, on)
    assert reply.status_code == 201, reply.text
    return zone


def push_csv(api: httpx.Client, *lines: str, headers: dict[str, str] | None = None) -> httpx.Response:
    body = "zone_code,indicator,year,value,source\n" + "".join(line + "\n" for line in lines)
    return api.post(
        "/v1/indicator-values:batch", content=body.encode(), headers={"Content-Type": "text/csv", **(headers or {})}
    )
