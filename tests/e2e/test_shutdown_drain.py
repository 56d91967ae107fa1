"""On SIGTERM the gateway first says it is not ready, keeps serving for the drain, then shuts down (API.md:
"/readyz … 503 otherwise and while shutting down"), so a load balancer stops sending before the listener closes."""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator

import httpx
import pytest

from services.platform import Platform, isolated_settings

DRAIN_SECONDS = 3.0


@pytest.fixture
def draining_platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    with Platform(isolated_settings(tmp_path_factory.mktemp("drain"), shutdown_drain_seconds=DRAIN_SECONDS)) as running:
        yield running


def test_readyz_is_503_after_sigterm_while_requests_are_still_served_then_the_gateway_exits(
    draining_platform: Platform,
) -> None:
    headers = {"Authorization": f"Bearer {draining_platform.admin_key}"}
    gateway = draining_platform.processes["gateway"]
    with httpx.Client(base_url=draining_platform.gateway_url, headers=headers, timeout=5) as api:
        assert api.get("/readyz").status_code == 200

        gateway.send_signal(signal.SIGTERM)
        signalled = time.monotonic()
        not_ready = api.get("/readyz")
        served = api.get("/v1/zones")
        assert gateway.poll() is None, "the gateway exited before draining"

        assert not_ready.status_code == 503, not_ready.text
        assert not_ready.headers["content-type"] == "application/problem+json"
        assert not_ready.json()["code"] == "shutting_down"
        assert not_ready.json()["detail"] == f"shutting down: SIGTERM received; draining for {DRAIN_SECONDS:g} s"
        assert served.status_code == 200, served.text

        gateway.wait(DRAIN_SECONDS + 10)
        exited_after = time.monotonic() - signalled
    # The drain, then uvicorn's graceful shutdown (at most 5 s) and the lifespan's end; generous on a busy machine.
    assert DRAIN_SECONDS <= exited_after < DRAIN_SECONDS + 10, exited_after
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{draining_platform.gateway_url}/readyz")
