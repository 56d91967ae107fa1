"""Every operation of the OpenAPI document × {no key, a key without its scope, a key with it}."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from services.gateway.domain.keys import ALL_SCOPES
from services.platform import Platform
from tests.e2e.conftest import issue_key

# A value for every path parameter the API has, valid in shape (the resource need not exist).
PATH_VALUES = {
    "zone_code": "AUTHZ-1",
    "county_code": "320706",
    "credit_code": "91320700MA1XXXXXX0",
    "year": "2024",
    "level": "national",
    "indicator": "gdp",
    "number": "25",
    "key_id": "0123456789ab",
    "webhook_id": "wh_" + "0" * 24,
    "delivery_id": "dlv_" + "0" * 32,
    "decision_id": "00000000-0000-0000-0000-000000000000",
    "project_code": "TP-AUTHZ-1",
    "award_id": "00000000-0000-0000-0000-000000000000",
}


def operations(platform: Platform, with_body: bool = False) -> list[tuple[str, str, list[str]]]:
    """(method, path, the scopes any one of which admits a key) of every secured operation (taking a body)."""
    spec = httpx.get(f"{platform.gateway_url}/openapi.json").json()
    found = []
    for path, methods in spec["paths"].items():
        for method, operation in methods.items():
            if (requirements := operation.get("security")) and (not with_body or "requestBody" in operation):
                alternatives = [
                    scope for requirement in requirements for scopes in requirement.values() for scope in scopes
                ]
                found.append((method.upper(), path, alternatives))
    return found


def concrete(path: str) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: PATH_VALUES[m.group(1)], path)


def test_every_data_route_declares_its_scopes(platform: Platform) -> None:
    ops = operations(platform)
    assert len(ops) >= 10
    assert all(scopes and set(scopes) <= {s.value for s in ALL_SCOPES} for _, _, scopes in ops)
    either = {(method, path): scopes for method, path, scopes in ops if len(scopes) > 1}
    assert either == {
        ("GET", "/v1/talent/rules"): ["read", "talent:check"],
        ("GET", "/v1/talent/decisions/{decision_id}"): ["read", "talent:check"],
    }
    spec = httpx.get(f"{platform.gateway_url}/openapi.json").json()
    unsecured = [
        p for p, ms in spec["paths"].items() for m, o in ms.items() if p.startswith("/v1") and "security" not in o
    ]
    assert unsecured == []


@pytest.fixture(scope="module")
def keys_by_scope(platform: Platform) -> dict[str, str]:
    return {scope.value: issue_key(platform, scope.value) for scope in ALL_SCOPES}


def test_authorization_matrix(platform: Platform, keys_by_scope: dict[str, str]) -> None:
    failures: list[str] = []
    for method, path, scopes in operations(platform):
        url = platform.gateway_url + concrete(path)
        body: dict[str, Any] | None = {} if method in ("POST", "PUT", "PATCH") else None
        other = next(s for s in keys_by_scope if s not in scopes)
        outcomes = {
            "none": httpx.request(method, url, json=body).status_code,
            "wrong": httpx.request(method, url, json=body, headers=_bearer(keys_by_scope[other])).status_code,
        } | {
            scope: httpx.request(method, url, json=body, headers=_bearer(keys_by_scope[scope])).status_code
            for scope in scopes
        }
        admitted = [outcomes[scope] not in (401, 403, 500) for scope in scopes]
        if outcomes["none"] != 401 or outcomes["wrong"] != 403 or not all(admitted):
            failures.append(f"{method} {path} {scopes}: {outcomes}")
    assert failures == []


# Bodies that are wrong for every operation, each with the answer a caller entitled to any answer gets.
BAD_BODIES = {
    "malformed": ({"Content-Type": "application/json"}, b'{"name":', 400),
    "invalid": ({"Content-Type": "application/json"}, b"[]", 422),
    "wrong media type": ({"Content-Type": "text/plain"}, b"{}", 415),
}


@pytest.fixture(scope="module")
def spent_keys_by_scope(platform: Platform) -> dict[str, str]:
    """A key per scope with a quota of one request a minute (`spend` uses it up before each use)."""
    return {scope.value: issue_key(platform, scope.value, rate_limit=1) for scope in ALL_SCOPES}


def spend(platform: Platform, key: str) -> None:
    # Any keyed request counts, an unknown path's 404 too.
    reply = httpx.get(f"{platform.gateway_url}/v1/quota-burner", headers=_bearer(key))
    assert reply.status_code in (404, 429) and "ratelimit" in reply.headers, reply.text


def test_authorization_comes_before_any_answer_about_the_body(
    platform: Platform, keys_by_scope: dict[str, str], spent_keys_by_scope: dict[str, str]
) -> None:
    """401, then 403, then 429, then what is wrong with the body: a malformed, an invalid or a non-JSON body is
    answered only to a key that may call the operation and has quota left; every keyed answer has the quota
    headers (counted once per request), a 429 its Retry-After."""
    ops = operations(platform, with_body=True)
    assert len(ops) >= 14
    failures: list[str] = []
    for method, path, scopes in ops:
        url = platform.gateway_url + concrete(path)
        other = next(s for s in keys_by_scope if s not in scopes)
        for kind, (headers, content, status) in BAD_BODIES.items():
            spend(platform, spent_keys_by_scope[other])
            spend(platform, spent_keys_by_scope[scopes[0]])
            callers = {
                "none": None,
                "wrong": keys_by_scope[other],
                "wrong, no quota left": spent_keys_by_scope[other],
                "right, no quota left": spent_keys_by_scope[scopes[0]],
                "right": keys_by_scope[scopes[0]],
            }
            replies = {
                caller: httpx.request(method, url, content=content, headers={**headers, **_bearer(key)})
                for caller, key in callers.items()
            }
            expected = {
                "none": 401,
                "wrong": 403,
                "wrong, no quota left": 403,
                "right, no quota left": 429,
                "right": status,
            }
            outcomes = {caller: reply.status_code for caller, reply in replies.items()}
            unlimited = [
                caller for caller, reply in replies.items() if caller != "none" and "ratelimit" not in reply.headers
            ]
            no_retry = "retry-after" not in replies["right, no quota left"].headers
            not_problems = [
                c for c, r in replies.items() if r.headers.get("content-type") != "application/problem+json"
            ]
            if outcomes != expected or unlimited or no_retry or not_problems:
                failures.append(f"{method} {path} {kind} body: {outcomes}; no quota headers: {unlimited}")
    assert failures == []


def _bearer(key: str | None) -> dict[str, str]:
    if key is None:
        return {}
    return {"Authorization": f"Bearer {key}"}
