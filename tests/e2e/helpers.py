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
