"""The whole platform, started the way `make run` starts it (subprocesses, embedded nats-server, SQLite)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from services.platform import Platform, isolated_settings


@pytest.fixture(scope="session")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    # Webhook tests deliver to a receiver on 127.0.0.1, which only this admin setting allows; fast retries, and few,
    # so that a delivery fails within a test.
    settings = isolated_settings(
        tmp_path_factory.mktemp("platform"),
        webhooks_allow_private_targets=True,
        webhook_retry_base_seconds=0.05,
        webhook_max_attempts=3,
    )
    with Platform(settings) as running:
        yield running


@pytest.fixture
def api(platform: Platform) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {platform.admin_key}"}
    with httpx.Client(base_url=platform.gateway_url, headers=headers, timeout=10) as client:
        yield client


def eventually(check: Callable[[], Any], timeout: float = 10.0, interval: float = 0.05) -> Any:
    """Poll until `check` returns something truthy; the last value otherwise (the assertion then shows it)."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)


def issue_key(platform: Platform, *scopes: str, rate_limit: int | None = None) -> str:
    """A new API key with exactly these scopes, created through the admin API."""
    body: dict[str, Any] = {"name": "test key", "scopes": list(scopes)}
    if rate_limit is not None:
        body["rate_limit_per_minute"] = rate_limit
    reply = httpx.post(
        f"{platform.gateway_url}/v1/keys", json=body, headers={"Authorization": f"Bearer {platform.admin_key}"}
    )
    assert reply.status_code == 201, reply.text
    key: str = reply.json()["key"]
    return key
