"""A backend that is down answers 503, one that hangs 504 within the deadline: never a hang, never a 500."""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator

import httpx
import pytest

from services.platform import Platform, isolated_settings

PROBLEM = "application/problem+json"


@pytest.fixture
def fragile_platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    running = Platform(isolated_settings(tmp_path_factory.mktemp("fragile"), grpc_deadline_seconds=1.0))
    try:
        running.start()
        yield running
    finally:
        for process in running.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGCONT)
        running.stop()


def test_hung_backend_is_504_after_the_deadline_and_dead_backend_is_503(fragile_platform: Platform) -> None:
    headers = {"Authorization": f"Bearer {fragile_platform.admin_key}"}
    url = f"{fragile_platform.gateway_url}/v1/zones"
    indicators = fragile_platform.processes["indicators"]
    assert httpx.get(url, headers=headers).status_code == 200

    indicators.send_signal(signal.SIGSTOP)
    started = time.monotonic()
    hung = httpx.get(url, headers=headers, timeout=10)
    waited = time.monotonic() - started
    indicators.send_signal(signal.SIGCONT)
    indicators.kill()
    indicators.wait()
    dead = httpx.get(url, headers=headers, timeout=10)

    assert hung.status_code == 504 and hung.headers["content-type"] == PROBLEM
    assert 0.9 <= waited < 3.0
    assert dead.status_code == 503 and dead.headers["content-type"] == PROBLEM
    assert dead.headers["retry-after"] == "1"
    assert httpx.get(f"{fragile_platform.gateway_url}/readyz").status_code == 503
