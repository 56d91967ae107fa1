"""Idempotency-Key claims through the REST API: a claim left behind by a gateway that died lapses with its lease,
and a refused request stores nothing, so it can be fixed and retried under the same key (README, "Idempotency")."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import Engine

from services.common.db import make_engine, transaction
from services.gateway import store
from services.gateway.idempotency import fingerprint, in_progress_lease
from services.platform import Platform
from tests.e2e.helpers import create_zone, unique_zone_code

PROBLEM = "application/problem+json"


@pytest.fixture
def gateway_db(platform: Platform) -> Iterator[Engine]:
    """The running gateway's own database, written here as a gateway process that died mid-request left it."""
    engine = make_engine(platform.settings.database_url("gateway"))
    yield engine
    engine.dispose()


@dataclass
class Writer:
    client: httpx.Client
    key_id: str
    key: str


@pytest.fixture
def writer(api: httpx.Client, platform: Platform) -> Iterator[Writer]:
    """A client with a key of its own, whose id the claims below are stored under."""
    created = api.post("/v1/keys", json={"name": "idempotency claims", "scopes": ["data:write", "read"]})
    assert created.status_code == 201, created.text
    key, key_id = created.json()["key"], created.json()["key_id"]
    with httpx.Client(base_url=platform.gateway_url, headers={"Authorization": f"Bearer {key}"}, timeout=10) as client:
        yield Writer(client, key_id, key)


def leave_claim(engine: Engine, writer: Writer, key: str, path: str, body: bytes, age: timedelta) -> None:
    """What `idempotent()` writes before it runs a request, as a process that then died would have left it."""
    request_hash = fingerprint(writer.key, "PUT", path, "", body, "application/json")
    with transaction(engine) as conn:
        claimed = store.claim_idempotency_key(
            conn,
            writer.key_id,
            key,
            request_hash,
            claim_id="crashed-process",
            lease=timedelta(minutes=3),
            now=datetime.now(UTC) - age,
        )
    assert claimed is None


def county_put(county: str) -> tuple[str, bytes]:
    return f"/v1/counties/{county}", json.dumps({"name": "崩溃测试区"}, ensure_ascii=False).encode()


def test_the_lease_of_an_in_progress_claim_is_three_minutes_by_default(platform: Platform) -> None:
    assert in_progress_lease(platform.settings) == timedelta(minutes=3)


def test_a_claim_left_by_a_crashed_gateway_is_taken_over_after_its_lease_and_the_request_runs(
    gateway_db: Engine, writer: Writer
) -> None:
    county = f"39{secrets.randbelow(10_000):04d}"
    path, body = county_put(county)
    leave_claim(gateway_db, writer, "crash-1", path, body, timedelta(minutes=10))
    headers = {"Idempotency-Key": "crash-1", "Content-Type": "application/json"}

    # Only the request the claim was made for takes it over: another under the key is still a mismatch.
    other = writer.client.put(path, json={"name": "另一个请求"}, headers={"Idempotency-Key": "crash-1"})
    retry = writer.client.put(path, content=body, headers=headers)
    again = writer.client.put(path, content=body, headers=headers)

    assert (other.status_code, other.json()["code"]) == (422, "idempotency_key_mismatch")
    assert retry.status_code == 201 and "idempotent-replayed" not in retry.headers
    assert writer.client.get(path).json()["name"] == "崩溃测试区"
    assert again.status_code == 201 and again.headers["idempotent-replayed"] == "true"
    assert again.json() == retry.json()


@pytest.mark.parametrize(("age", "wait"), [(20, 20), (170, 10)])
def test_while_a_claim_s_lease_runs_a_retry_is_409_with_retry_after_and_runs_nothing(
    gateway_db: Engine, writer: Writer, age: int, wait: int
) -> None:
    # Retry-After: as long as the claim has already run, but never past the end of its lease.
    county = f"38{secrets.randbelow(10_000):04d}"
    path, body = county_put(county)
    leave_claim(gateway_db, writer, f"running-{county}", path, body, timedelta(seconds=age))

    busy = writer.client.put(
        path, content=body, headers={"Idempotency-Key": f"running-{county}", "Content-Type": "application/json"}
    )

    assert (busy.status_code, busy.headers["content-type"], busy.json()["code"]) == (
        409,
        PROBLEM,
        "idempotency_key_in_use",
    )
    assert wait <= int(busy.headers["retry-after"]) <= wait + 2
    assert (
        busy.json()["detail"]
        == f"a request with this Idempotency-Key is still in progress; retry in {busy.headers['retry-after']} s"
    )
    assert writer.client.get(path).status_code == 404


def test_a_request_refused_404_stores_nothing_and_runs_again_once_its_cause_is_fixed(api: httpx.Client) -> None:
    zone = unique_zone_code("N")
    body = {"level": "provincial", "recognized_on": "2023-05-01"}
    key = f"rz-{zone}"

    refused = api.post(
        f"/v1/zones/{zone}/recognitions", json=body, headers={"Idempotency-Key": key, "X-Request-ID": f"first-{zone}"}
    )
    refused_again = api.post(
        f"/v1/zones/{zone}/recognitions", json=body, headers={"Idempotency-Key": key, "X-Request-ID": f"again-{zone}"}
    )
    create_zone(api, zone)
    fixed = api.post(f"/v1/zones/{zone}/recognitions", json=body, headers={"Idempotency-Key": key})
    replayed = api.post(
        f"/v1/zones/{zone}/recognitions", json=body, headers={"Idempotency-Key": key, "X-Request-ID": f"last-{zone}"}
    )

    assert (refused.status_code, refused_again.status_code) == (404, 404)
    assert "idempotent-replayed" not in refused_again.headers
    # Each answer is the request's own: the body's request_id is the X-Request-ID it was sent with.
    assert [(r.json()["request_id"], r.headers["x-request-id"]) for r in (refused, refused_again)] == [
        (f"first-{zone}", f"first-{zone}"),
        (f"again-{zone}", f"again-{zone}"),
    ]
    assert fixed.status_code == 201 and "idempotent-replayed" not in fixed.headers
    assert [r["recognized_on"] for r in api.get(f"/v1/zones/{zone}").json()["recognitions"]] == ["2023-05-01"]
    assert replayed.status_code == 201 and replayed.headers["idempotent-replayed"] == "true"
    assert replayed.headers["x-request-id"] == f"last-{zone}" and replayed.json() == fixed.json()


def test_a_request_refused_409_stores_nothing(api: httpx.Client) -> None:
    zone = unique_zone_code("C")
    create_zone(api, zone)
    assert (
        api.post(
            f"/v1/zones/{zone}/recognitions", json={"level": "provincial", "recognized_on": "2022-01-01"}
        ).status_code
        == 201
    )
    key = {"Idempotency-Key": f"conflict-{zone}"}
    conflicting = {"level": "national", "recognized_on": "2022-01-01"}  # another level on the same day

    first = api.post(f"/v1/zones/{zone}/recognitions", json=conflicting, headers=key)
    second = api.post(f"/v1/zones/{zone}/recognitions", json=conflicting, headers=key)

    assert (first.status_code, second.status_code) == (409, 409)
    assert "idempotent-replayed" not in second.headers and second.json()["request_id"] == second.headers["x-request-id"]
