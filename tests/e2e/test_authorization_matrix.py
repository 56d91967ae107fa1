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
    "decision_id": "00000000-0000-0000-0000-000000000000",
    "project_code": "TP-AUTHZ-1",
}


def operations(platform: Platform) -> list[tuple[str, str, list[str]]]:
    spec = httpx.get(f"{platform.gateway_url}/openapi.json").json()
    found = []
    for path, methods in spec["paths"].items():
        for method, operation in methods.items():
            for requirement in operation.get("security", []):
                for scopes in requirement.values():
                    found.append((method.upper(), path, scopes))
    return found


def concrete(path: str) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: PATH_VALUES[m.group(1)], path)


def test_every_data_route_declares_exactly_one_scope(platform: Platform) -> None:
    ops = operations(platform)
    assert len(ops) >= 10
    assert all(len(scopes) == 1 and scopes[0] in {s.value for s in ALL_SCOPES} for _, _, scopes in ops)
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
    for method, path, (scope,) in operations(platform):
        url = platform.gateway_url + concrete(path)
        body: dict[str, Any] | None = {} if method in ("POST", "PUT", "PATCH") else None
        other = next(s for s in keys_by_scope if s != scope)
        outcomes = {
            "none": httpx.request(method, url, json=body).status_code,
            "wrong": httpx.request(method, url, json=body, headers=_bearer(keys_by_scope[other])).status_code,
            "right": httpx.request(method, url, json=body, headers=_bearer(keys_by_scope[scope])).status_code,
        }
        if outcomes["none"] != 401 or outcomes["wrong"] != 403 or outcomes["right"] in (401, 403, 500):
            failures.append(f"{method} {path} [{scope}]: {outcomes}")
    assert failures == []


def _bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}
