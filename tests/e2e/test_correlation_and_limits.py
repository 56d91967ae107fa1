"""Request ids travel gateway → gRPC → logs → NATS → audit; body size and concurrent idempotent retries."""

from __future__ import annotations

import asyncio
import json
import socket

import httpx
import nats

from services.platform import Platform
from tests.e2e.conftest import eventually
from tests.e2e.helpers import create_zone, unique_zone_code


def test_request_id_reaches_service_logs_nats_headers_and_audit(api: httpx.Client, platform: Platform) -> None:
    zone = unique_zone_code("X")
    create_zone(api, zone)
    request_id = f"portal-trace-{zone}"

    reply = api.post(
        f"/v1/zones/{zone}/recognitions",
        json={"level": "provincial", "recognized_on": "2022-05-05"},
        headers={"X-Request-ID": request_id},
    )

    assert reply.status_code == 201 and reply.headers["x-request-id"] == request_id

    def logged_by(service: str) -> bool:
        lines = (platform.log_dir / f"{service}.log").read_text().splitlines()
        return any(json.loads(line).get("request_id") == request_id for line in lines if line.startswith("{"))

    assert eventually(lambda: logged_by("indicators") and logged_by("rewards"))

    async def header_on_stream() -> str:
        nc = await nats.connect(platform.settings.resolved_nats_url)
        sub = await nc.jetstream().subscribe("gaoxin.indicators.zone_recognized.v1", ordered_consumer=True)
        while True:
            msg = await sub.next_msg(timeout=5)
            if (msg.headers or {}).get("X-Request-ID") == request_id:
                await nc.close()
                return request_id

    assert asyncio.run(header_on_stream()) == request_id
    audit = api.get("/v1/audit-log", params={"page_size": 1000}).json()["items"]
    assert [e["resource"] for e in audit if e["request_id"] == request_id] == [f"/v1/zones/{zone}/recognitions"]


def test_body_over_the_limit_is_413_problem_before_it_is_read(platform: Platform) -> None:
    # Only the headers are sent: the gateway must refuse on the declared length, not after reading it all.
    request = (
        "PUT /v1/zones/BIG-1 HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Authorization: Bearer {platform.admin_key}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {platform.settings.max_body_bytes + 1}\r\nConnection: close\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", platform.settings.gateway_port), timeout=10) as conn:
        conn.sendall(request.encode())
        head = conn.recv(65536).decode("latin-1")

    assert head.startswith("HTTP/1.1 413 ")
    assert "content-type: application/problem+json" in head.lower()


def test_concurrent_retries_with_one_idempotency_key_write_once(api: httpx.Client, platform: Platform) -> None:
    zone = unique_zone_code("K")
    create_zone(api, zone)
    headers = {"Authorization": f"Bearer {platform.admin_key}", "Idempotency-Key": f"burst-{zone}"}
    body = {"level": "national", "recognized_on": "2019-09-09"}

    async def burst() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=platform.gateway_url, headers=headers) as client:
            return await asyncio.gather(*(client.post(f"/v1/zones/{zone}/recognitions", json=body) for _ in range(6)))

    replies = asyncio.run(burst())

    firsts = [r for r in replies if r.status_code == 201 and "idempotent-replayed" not in r.headers]
    others = [r for r in replies if r not in firsts]
    assert len(firsts) == 1
    assert all(r.status_code == 409 or r.headers.get("idempotent-replayed") == "true" for r in others)
    assert all(r.json() == firsts[0].json() for r in others if r.status_code == 201)
    assert len(api.get(f"/v1/zones/{zone}").json()["recognitions"]) == 1
