"""Small builders for end-to-end tests: unique codes so tests sharing one platform never collide."""

from __future__ import annotations

import itertools
import re
import secrets
from typing import Any

import httpx

from services.common.convert import today_in_china

_counter = itertools.count()

# A timestamp as the API writes every one: RFC 3339, UTC, `Z` (never `+00:00`).
RFC3339_Z = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z")
_DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T")


def timestamps(document: Any) -> list[str]:
    """Every date-time text anywhere in a JSON document."""
    if isinstance(document, dict):
        return [t for v in document.values() for t in timestamps(v)]
    if isinstance(document, list):
        return [t for v in document for t in timestamps(v)]
    return [document] if isinstance(document, str) and _DATE_TIME.match(document) else []


def assert_z_timestamps(document: Any) -> None:
    found = timestamps(document)
    assert found and all(RFC3339_Z.fullmatch(t) for t in found), found


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


# Rankings are per (year, level) across the one platform the session shares, and only a year that has ended in
# China may be ranked. Years before the policy are many: each test takes history years of its own (they earn
# nothing and have no clause 二十六 consequences; 2019 and 2020 are used by name). Years under the policy that have
# ended (2021 to last year) are few: tests share them, each test's ranking of a year replacing the one an earlier
# test pushed, so a test asserts only on its own zones and on a ranking it reads right after its own push.
HISTORY_RECOGNITION = "1999-12-31"  # recognised by then, a zone can be ranked in every history year
_history_years = itertools.count(2000)
_LAST_HISTORY_YEAR = 2018
_policy_turn = itertools.count()


def history_years(count: int) -> list[int]:
    """Ascending years before the policy that no other test ranks, at either level."""
    years = [next(_history_years) for _ in range(count)]
    assert years[-1] <= _LAST_HISTORY_YEAR, "history years used up: take fewer, or share them"
    return years


def policy_years(count: int) -> list[int]:
    """Ascending years under the policy that have ended in China (their rankings can pay); shared between tests,
    each call starting one year later than the last, so tests one after another rank different years."""
    span = list(range(2021, today_in_china().year))
    assert count <= len(span), f"only {len(span)} years under the policy have ended"
    start = next(_policy_turn) % (len(span) - count + 1)
    return span[start : start + count]


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
